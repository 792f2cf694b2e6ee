"""Training around TRL: tiny-model kit, GRPO and SFT over the store, the R1-Zero miniature.

    from r1harness.train.tiny_model import init_tiny_model
    from r1harness.train.grpo import run_grpo          # GRPORunConfig in r1harness.train.config
    from r1harness.train.sft import run_sft            # SFTRunConfig in r1harness.train.config

Nothing here imports torch at package import; the trainers import it when they run.
"""
