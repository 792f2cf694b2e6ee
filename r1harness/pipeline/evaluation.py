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
            "template": ctx.config.eval_template,
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
    results, runs = {}, []
    models = [(s, ctx.outputs[s]["model"]) for s in MODEL_STAGES if ctx.outputs.get(s, {}).get("model")]
    for stage, model in models:
        backend = get_backend(cfg.backend, model, **backend_options(cfg))
        for spec in specs:
            limit = cfg.eval.limit if spec.dataset in ctx.heldout_datasets else None
            outcome = run_eval(
                ctx.store, backend, spec, limit=limit, batch_size=cfg.eval.batch_size, progress=ctx.progress
            )
            runs.append(outcome.run_id)
            results.setdefault(stage, {})[spec.name] = {
                r.metric: r.value
                for r in outcome.results
                if r.breakdown is None and r.metric.startswith(("pass@", "cons@"))
            }
            log.info("eval %s on %s: %s", stage, spec.name, results[stage][spec.name])
        del backend
    return {"results": results, "runs": runs}
