"""SFT over a set from the store: `trl.SFTTrainer` on chat messages with the loss on assistant turns only.

Used for cold start, the second SFT stage and distillation alike; the run row links to the set
(config.set = NAME@vN, plus set_name/set_version in the run config) so lineage goes model -> run -> set.
"""

from __future__ import annotations

from pathlib import Path

from r1harness.console import use_training_bar
from r1harness.store.runs import recorded_run
from r1harness.train.checkpoints import AtomicCheckpointMixin, save_final
from r1harness.train.config import SFTRunConfig, to_dict, trl_args
from r1harness.train.data import load_set


def run_sft(store, config: SFTRunConfig, *, callbacks=()) -> dict:
    """Train on the set; returns a summary with the first/last logged training loss."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig

    from datasets import Dataset

    if config.threads:
        torch.set_num_threads(config.threads)
    name, version, conversations = load_set(store, config.set, limit=config.max_samples)
    options = {"logging_steps": 1, "save_strategy": "no", "max_length": 1024, **config.trl}
    if config.completion_only:
        options.setdefault("assistant_only_loss", True)
    args = trl_args(SFTConfig, options, output_dir=config.output_dir, seed=config.seed, where="sft trl")
    run_config = {
        **to_dict(config),
        "set_name": name,
        "set_version": version,
        "n_samples": len(conversations),
        "resolved_trl": args.to_dict(),
    }
    losses = _LossLog()
    with recorded_run(store, "sft", name=config.run_name, config=run_config) as run:
        run_id = run.run_id
        tokenizer = AutoTokenizer.from_pretrained(config.model)
        model = AutoModelForCausalLM.from_pretrained(config.model)
        from r1harness.train.grpo import metrics_callback

        trainer = make_sft_trainer_class()(
            model=model,
            args=args,
            processing_class=tokenizer,
            train_dataset=Dataset.from_dict({"messages": conversations}),
            callbacks=[metrics_callback(store, run_id), losses.callback(), *callbacks],
        )
        use_training_bar(trainer, config.run_name or "sft")
        trainer.train()
        save_final(trainer.save_model, tokenizer, Path(config.output_dir))
        run.summary = summary = {
            "run_id": run_id,
            "set": f"{name}@v{version}",
            "n_samples": len(conversations),
            "steps": trainer.state.global_step,
            "first_loss": losses.first,
            "last_loss": losses.last,
            "output_dir": str(config.output_dir),
        }
    return summary


def make_sft_trainer_class():
    """SFTTrainer whose checkpoints (if a config asks for them) are written atomically (imports trl)."""
    from trl import SFTTrainer

    class AtomicSFTTrainer(AtomicCheckpointMixin, SFTTrainer):
        pass

    return AtomicSFTTrainer


class _LossLog:
    first: float | None = None
    last: float | None = None

    def callback(self):
        from transformers import TrainerCallback

        outer = self

        class LossCallback(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kwargs):
                if logs and "loss" in logs:
                    outer.first = logs["loss"] if outer.first is None else outer.first
                    outer.last = logs["loss"]

        return LossCallback()
