"""`r1h validate` for pipeline configs: everything that can be checked without a GPU, a model or a store.

Registered in `r1harness.validate.VALIDATORS["pipeline"]`. Checks: the YAML and every key; each GRPO
and SFT stage builds its trainer config (unknown keys rejected) and its `trl:` options are fields of TRL's
GRPOConfig / SFTConfig; reward verifiers are registered; the template, curation recipes, eval protocol,
benchmark manifests and specs exist; the backend is known, and its vLLM engine options and the executor
(`executor: {kind: ray}`) fit together (neither vllm nor ray is imported). `r1h pipeline run` runs
the same checks (`check_pipeline_config`) before any stage starts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from r1harness.configs import suggestions
from r1harness.errors import ConfigError, R1HarnessError

GRPO_STAGES = ("r1zero", "reasoning_rl", "final_rl", "distill_rl")
SFT_STAGES = ("cold_start", "sft2", "distill_sft")


def _ctx(config):
    from r1harness.pipeline.context import Context

    return Context(store=None, config=config, run_id="validate", work=Path("/nonexistent"), progress=False)


def _trl_fields(name: str) -> set[str]:
    import trl

    return {f.name for f in dataclasses.fields(getattr(trl, name))}


def _check(problems: list[str], where: str, fn) -> None:
    try:
        fn()
    except (R1HarnessError, KeyError, ValueError, TypeError) as exc:
        problems.append(f"{where}: {exc}")


def _grpo(ctx, stage: str, problems: list[str]) -> None:
    from r1harness.pipeline.training import grpo_config
    from r1harness.train.rewards import resolve_verifier
    from r1harness.verify.registry import VERIFIERS

    config = grpo_config(ctx, stage, "model-placeholder")
    unknown = sorted(set(config.trl) - _trl_fields("GRPOConfig"))
    if unknown:
        guess = suggestions(unknown, _trl_fields("GRPOConfig"))
        problems.append(f"{stage}.trl: unknown GRPOConfig option(s) {unknown}{guess}")
    for r in config.rewards:
        if ":" in r.verifier:  # a task-specific probe named "module:attr" (train/rewards.py)
            _check(problems, f"{stage}.rewards.{r.name}", lambda v=r.verifier: resolve_verifier(v))
        elif r.verifier not in VERIFIERS:
            problems.append(
                f"{stage}.rewards.{r.name}: verifier {r.verifier!r} is not registered "
                f"(known: {sorted(VERIFIERS)})"
            )


def _sft(ctx, stage: str, problems: list[str]) -> None:
    from r1harness.pipeline.training import sft_config

    config = sft_config(ctx, stage, "model-placeholder", "set@v1")
    unknown = sorted(set(config.trl) - _trl_fields("SFTConfig"))
    if unknown:
        guess = suggestions(unknown, _trl_fields("SFTConfig"))
        problems.append(f"{stage}.trl: unknown SFTConfig option(s) {unknown}{guess}")


def _data(ctx, problems: list[str]) -> None:
    from r1harness.curate import load_recipe
    from r1harness.evals.spec import load_spec
    from r1harness.ingest import load_manifest
    from r1harness.pipeline.curation import pipeline_recipe, recipe_path
    from r1harness.pipeline.evaluation import heldout_specs

    cfg = ctx.config
    _check(
        problems,
        "cold_start.recipe",
        lambda: load_recipe(recipe_path(ctx, cfg.cold_start.get("recipe", "tiny"))),
    )
    _check(
        problems,
        "rejection.recipe",
        lambda: pipeline_recipe(
            ctx,
            cfg.rejection.recipe,
            set_name="validate",
            source="SELECT rollout_id FROM rollouts",
            overrides=cfg.rejection.recipe_overrides,
        ),
    )
    _check(problems, "eval", lambda: heldout_specs(ctx))
    for name in cfg.prompts.benchmarks:
        _check(problems, f"prompts.benchmarks.{name}", lambda n=name: load_manifest(n))
    for name in cfg.prompts.eval_benchmarks:
        _check(problems, f"prompts.eval_benchmarks.{name}", lambda n=name: load_spec(n))


def _executor(config) -> list[str]:
    """Rejection sampling and evaluation on the configured executor with the configured backend (vLLM
    engine options and Ray placement are checked as settings: nothing GPU is imported)."""
    from r1harness.executors.checks import executor_problems

    longest = max(config.rejection.max_tokens, config.eval.max_tokens)
    return executor_problems(config.executor, config.backend, dict(config.backend_options), longest)


def config_problems(config) -> list[str]:
    """Problems found in a loaded pipeline config (empty when valid). The config's own dataclasses already
    checked its keys, values and template when it was loaded; this checks what each stage will build."""
    ctx = _ctx(config)
    problems: list[str] = []
    for stage in GRPO_STAGES:
        _check(problems, stage, lambda s=stage: _grpo(ctx, s, problems))
    for stage in SFT_STAGES:
        _check(problems, stage, lambda s=stage: _sft(ctx, s, problems))
    _data(ctx, problems)
    problems += _executor(config)
    where = config.origin or f"pipeline {config.name}"
    return [p if p.startswith(where) else f"{where}: {p}" for p in problems]


def check_pipeline_config(config) -> None:
    """Raise a ConfigError listing every problem: `run_pipeline` calls this before any stage starts, so a
    typo fails in seconds instead of after the base model has been pretrained."""
    problems = config_problems(config)
    if problems:
        raise ConfigError(
            f"{config.origin or config.name}: {len(problems)} problem(s); nothing was run "
            "(`r1h validate FILE` checks a config the same way):\n  " + "\n  ".join(problems)
        )


def validate_pipeline_file(path: Path) -> list[str]:
    """`r1h validate` for a pipeline config file: its problems, each naming the file and the key."""
    from r1harness.pipeline.config import load_pipeline_config

    return config_problems(load_pipeline_config(path))  # a ConfigError here names the file and key


__all__ = ["check_pipeline_config", "config_problems", "validate_pipeline_file"]
