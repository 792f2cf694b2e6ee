"""`r1h validate` for training configs (datasets/training/*.yaml): a GRPORunConfig, or an SFTRunConfig when
the file names a `set`; unknown keys are rejected by the config classes and `trl:` options are checked
against TRL's own GRPOConfig / SFTConfig."""

from __future__ import annotations

from pathlib import Path

from r1harness.errors import ConfigError


def validate_training_file(path: Path) -> list[str]:
    """Problems in a training config file (empty when valid); each names the file and the key."""
    from r1harness.train.config import GRPORunConfig, SFTRunConfig, from_dict, read_yaml, trl_args

    data = read_yaml(path)
    sft = "set" in data
    config = from_dict(SFTRunConfig if sft else GRPORunConfig, data, where=str(path))
    import trl

    try:
        trl_args(
            trl.SFTConfig if sft else trl.GRPOConfig,
            dict(config.trl),
            output_dir="/tmp/r1h-validate",
            seed=0,
            where=f"{path}: trl",
        )
    except ConfigError as exc:
        return [str(exc)]
    return []


__all__ = ["validate_training_file"]
