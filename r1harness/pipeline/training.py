"""Training stages through the trainer's API: GRPO (`r1harness.train.grpo.run_grpo`) and SFT
(`r1harness.train.sft.run_sft`), with the pipeline's defaults under the config's per-stage overrides.

The pipeline fills in model, prompts, output folder and run name; a stage's YAML dict overrides anything
(deep-merged, so `trl: {max_steps: 50}` keeps the other TRL defaults). Each GRPO stage resumes from its
newest checkpoint when rerun after a kill (the trainer's `resume`), so a killed stage loses at most the
steps since its last checkpoint and writes no duplicate rollouts.
"""

from __future__ import annotations

import copy
from pathlib import Path

# Reward components per GRPO stage when the config names none (the paper's choice for each stage).
DEFAULT_REWARDS = {
    "r1zero": ("accuracy", ("format", "format", 0.1)),
    "reasoning_rl": ("accuracy", ("language", "language", 0.1)),
    "final_rl": ("accuracy", ("language", "language", 0.1)),
    "distill_rl": ("accuracy", ("format", "format", 0.1)),
}
SFT_ONLY_KEYS = {"recipe", "recipe_overrides", "samples"}  # cold_start keys that are not SFTRunConfig's


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (over or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _rewards(stage: str, accuracy_verifier: str) -> list[dict]:
    out = []
    for item in DEFAULT_REWARDS[stage]:
        if item == "accuracy":
            out.append({"name": "accuracy", "verifier": accuracy_verifier, "weight": 1.0})
        else:
            name, verifier, weight = item
            out.append({"name": name, "verifier": verifier, "weight": weight})
    return out


def grpo_config(ctx, stage: str, model: str, defaults: dict | None = None):
    """The GRPORunConfig of a pipeline GRPO stage (raises ConfigError naming the stage on a bad key)."""
    from r1harness.train.config import GRPORunConfig, from_dict

    cfg = ctx.config
    heldout = ctx.heldout_datasets
    base = {
        "model": model,
        **ctx.train_selection(),
        "template": cfg.template,
        "rewards": _rewards(stage, ctx.task_verifier()),
        "eval": {"dataset": heldout[0]} if heldout else {"dataset": None},
        "output_dir": str(ctx.work / stage),
        "run_name": f"{cfg.name}/{stage}",
        "seed": cfg.seed,
        "threads": cfg.threads,
    }
    merged = deep_merge(deep_merge(base, defaults or {}), getattr(cfg, stage))
    return from_dict(GRPORunConfig, merged, where=f"{cfg.origin or cfg.name}: {stage}")


def run_grpo_stage(ctx, stage: str, model: str, defaults: dict | None = None) -> dict:
    from r1harness.train.grpo import RUN_FILE, run_grpo

    config = grpo_config(ctx, stage, model, defaults)
    resume = (Path(config.output_dir) / RUN_FILE).exists()
    summary = run_grpo(ctx.store, config, resume=resume)
    return {
        "model": str(Path(config.output_dir) / "final"),
        "runs": [summary["run_id"]],
        "grpo_run_id": summary["run_id"],
        "steps": summary["steps"],
        "rollouts_written": summary["rollouts_written"],
        "infra_failures": summary["infra_failures"],
        "resumed_from": summary.get("resumed_from"),
    }


def sft_config(ctx, stage: str, model: str, set_ref: str):
    from r1harness.train.config import SFTRunConfig, from_dict

    cfg = ctx.config
    overrides = {k: v for k, v in getattr(cfg, stage).items() if k not in SFT_ONLY_KEYS}
    base = {
        "model": model,
        "set": set_ref,
        "output_dir": str(ctx.work / stage),
        "run_name": f"{cfg.name}/{stage}",
        "seed": cfg.seed,
        "threads": cfg.threads,
    }
    return from_dict(SFTRunConfig, deep_merge(base, overrides), where=f"{cfg.origin or cfg.name}: {stage}")


def run_sft_stage(ctx, stage: str, model: str, set_ref: str) -> dict:
    from r1harness.train.sft import run_sft

    config = sft_config(ctx, stage, model, set_ref)
    summary = run_sft(ctx.store, config)
    return {
        "model": summary["output_dir"],  # run_sft saves the model there
        "runs": [summary["run_id"]],
        "sft_run_id": summary["run_id"],
        "set": set_ref,
        **{k: summary[k] for k in ("steps", "first_loss", "last_loss", "n_samples")},
    }
