"""Brief "pretraining" of a tiny base model on the plain-text corpus (`trl.SFTTrainer`, loss on every token).

This makes the R1-Zero miniature honest: the base model has seen the tasks in prose and only rarely in the
`<think>/<answer>` layout (see `r1harness/tasks/corpus.py`), so GRPO has a format to discover.
"""

from __future__ import annotations

from pathlib import Path

from r1harness.console import use_training_bar
from r1harness.train.config import trl_args


def pretrain(
    model_dir: str | Path,
    corpus: list[str],
    out_dir: str | Path,
    *,
    seed: int = 0,
    threads: int | None = None,
    **trl_options,
) -> Path:
    """Train `model_dir` on `corpus` (one document per string) and save the result in `out_dir`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from datasets import Dataset

    if threads:
        torch.set_num_threads(threads)
    options = {
        "max_steps": 300,
        "per_device_train_batch_size": 32,
        "learning_rate": 3e-3,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 20,
        "logging_steps": 50,
        "save_strategy": "no",
        "max_length": 256,
        "packing": False,
        "dataset_text_field": "text",
        **trl_options,
    }
    args = trl_args(SFTConfig, options, output_dir=str(out_dir), seed=seed, where="pretrain")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_dict({"text": corpus}), processing_class=tokenizer
    )
    use_training_bar(trainer, "pretrain")
    trainer.train()
    trainer.save_model(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    return Path(out_dir)
