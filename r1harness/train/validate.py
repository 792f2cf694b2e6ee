"""`r1h validate` for the files in datasets/recipes/: curation recipes, GRPO configs and R1-Zero miniature
recipes live side by side there, so the kind of each file is told by its keys."""

from __future__ import annotations

from pathlib import Path

from r1harness.errors import ConfigError


def recipe_kind(data: dict) -> str:
    if "quotas" in data or "filters" in data:
        return "curation"
    if "task" in data and ("corpus" in data or "grpo" in data):
        return "miniature"
    return "grpo"


def validate_recipe_file(path: Path) -> list[str]:
    """Parse the file with the loader its kind uses; TRL options are checked against TRL's own config."""
    from r1harness.train.config import GRPORunConfig, from_dict, read_yaml, trl_args

    data = read_yaml(path)
    kind = recipe_kind(data)
    if kind == "curation":
        from r1harness.curate.recipe import load_recipe

        load_recipe(path)
        return []
    if kind == "miniature":
        from r1harness.train.miniature import load_recipe

        recipe = load_recipe(path)
        trl, where = recipe.grpo.get("trl", {}), f"{path}: grpo.trl"
    else:
        config = from_dict(GRPORunConfig, data, where=str(path))
        trl, where = config.trl, f"{path}: trl"
    from trl import GRPOConfig

    try:
        trl_args(GRPOConfig, dict(trl), output_dir="/tmp/r1h-validate", seed=0, where=where)
    except ConfigError as exc:
        return [str(exc)]
    return []
