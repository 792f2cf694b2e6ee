"""The evaluation stage: every model the run produced, on held-out task problems (and the configured
benchmarks), with the R1 protocol through `r1harness.evals.runner.run_eval`: n samples per problem,
pass@1 = mean correctness over them, unbiased pass@k, cons@k, bootstrap CIs, all in `eval_results`.

Resumable for free: rollout ids are content hashes, so a rerun after a kill generates only what is missing.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# Stages whose model is evaluated, in the order they appear in reports.
MODEL_STAGES = (
    "base",
    "r1zero",
    "cold_start",
    "reasoning_rl",
    "sft2",
    "final_rl",
    "student",
    "distill_sft",
    "distill_rl",
)


def heldout_specs(ctx) -> list:
    """One benchmark spec per task's held-out split, with the config's protocol."""
    from r1harness.evals.spec import spec_from_dict
    from r1harness.pipeline.prompts import task_verifier

    ev = ctx.config.eval
    specs = []
    for task in ctx.config.prompts.tasks:
        raw = {
            "name": task.heldout_dataset,
            "version": 1,
            "dataset": task.heldout_dataset,
            "template": ctx.config.template,
            "verifier": task_verifier(task.task),
            "n": ev.n,
            "k": list(ev.k),
            "cons": list(ev.cons),
            "sampling": {"temperature": ev.temperature, "top_p": ev.top_p, "max_tokens": ev.max_tokens},
            "seed": ctx.config.seed,
            "description": f"held-out {task.task} problems of pipeline {ctx.run_name}",
        }
        specs.append(spec_from_dict(raw, origin=f"pipeline {ctx.run_name}: eval"))
    return specs


def benchmark_specs(ctx) -> list:
    from r1harness.evals.spec import load_spec

    ev = ctx.config.eval
    return [
        load_spec(name).with_overrides(max_tokens=ev.max_tokens)
        for name in ctx.config.prompts.eval_benchmarks
    ]


def backend_options(cfg) -> dict:
    """The config's backend options; the transformers backend also gets the eval batch size."""
    opts = dict(cfg.backend_options)
    if cfg.backend == "transformers":
        opts.setdefault("batch_size", cfg.eval.batch_size)
    return opts


def evaluate_models(ctx) -> dict:
    from r1harness.evals.runner import run_eval
    from r1harness.generate import get_backend

    cfg = ctx.config
    specs = heldout_specs(ctx) + benchmark_specs(ctx)
    runs = []
    models = [(s, ctx.outputs[s]["model"]) for s in MODEL_STAGES if ctx.outputs.get(s, {}).get("model")]
    on_ray = cfg.executor.kind == "ray"  # then Ray workers build the backend from its spec
    for stage, model in models:
        if on_ray:
            backend = {"name": cfg.backend, "model": model, "options": backend_options(cfg)}
        else:
            backend = get_backend(cfg.backend, model, **backend_options(cfg))
        for spec in specs:
            limit = cfg.eval.limit if spec.dataset in ctx.heldout_datasets else None
            outcome = run_eval(
                ctx.store, backend, spec, limit=limit, batch_size=cfg.eval.batch_size, progress=ctx.progress,
                executor=cfg.executor,
            )  # fmt: skip
            runs.append(outcome.run_id)
            overall = {r.metric: r.value for r in outcome.results if r.breakdown is None}
            log.info("eval %s on %s: %s", stage, spec.name, overall)
        del backend
    return {"results": leaderboard_summary(ctx.store, models, runs), "runs": runs}


def leaderboard_summary(store, models: list[tuple[str, str]], runs: list[str]) -> dict:
    """{stage: {benchmark: {metric: value}}} for pass@k and cons@k, read from the store's one leaderboard
    (the rows these eval runs produced), so the stage's summary, the report and `r1h leaderboard` agree."""
    import polars as pl

    from r1harness.evals.leaderboard import read

    board = read(store, metrics=(), runs=runs).filter(pl.col("metric").str.contains("^(pass|cons)@"))
    results: dict = {}
    for stage, model in models:  # two stages may share a model (e.g. the student is the base model)
        for r in board.filter(pl.col("model") == model).iter_rows(named=True):
            results.setdefault(stage, {}).setdefault(r["benchmark"], {})[r["metric"]] = r["value"]
    return results
