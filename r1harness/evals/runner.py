"""`run_eval`: generate, verify, aggregate and record one benchmark for one model. Resumable.

Each step skips what the store already holds: rollouts by content-hash id (generate_rollouts), verdicts by
(rollout, verifier, version) through r1harness.scoring (timeouts and errors are retried) — so re-running
after a kill, or with a larger n, does only the missing work. Results
go to `eval_results`, one row per metric (and breakdown), stamped with the benchmark version and protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from r1harness.errors import ConfigError, R1HarnessError
from r1harness.evals.aggregate import MetricValue, compute_results, load_samples
from r1harness.evals.codeforces import rating_results
from r1harness.evals.spec import EvalSpec, load_spec
from r1harness.executors.ray_executor import ExecutorConfig
from r1harness.generate.backend import Backend, backend_identity, check_backend_options
from r1harness.generate.runner import generate_rollouts
from r1harness.scoring.pending import Selection
from r1harness.scoring.score import score_rollouts
from r1harness.scoring.scorer import Scorer
from r1harness.store import ids
from r1harness.store.runs import recorded_run

log = logging.getLogger(__name__)
VERIFY_CHUNK = 256


class EvalError(R1HarnessError):
    """An evaluation cannot produce trustworthy numbers (e.g. too many verifier infrastructure failures)."""


@dataclass(frozen=True)
class EvalOutcome:
    spec: EvalSpec
    run_id: str
    model: str
    results: list[MetricValue]
    generated: int
    verified: int

    def value(self, metric: str, breakdown: str | None = None) -> float:
        for r in self.results:
            if r.metric == metric and r.breakdown == breakdown:
                return r.value
        raise KeyError(f"{self.spec.name} has no metric {metric!r} (breakdown {breakdown!r})")


def run_eval(
    store,
    backend: Backend,
    spec: EvalSpec | str,
    *,
    limit: int | None = None,
    n: int | None = None,
    max_tokens: int | None = None,
    batch_size: int = 32,
    standings: str | None = None,
    verifier_fn: Callable | None = None,
    cluster: Callable | None = None,
    progress: bool = True,
    n_boot: int = 1000,
    executor: ExecutorConfig | None = None,
) -> EvalOutcome:
    """Evaluate `backend`'s model on one benchmark; returns the metrics written to `eval_results`.

    With a Ray `executor` (`ExecutorConfig("ray", ...)`), `backend` is a spec {name, model, options} that
    each Ray worker builds (the model never loads in this process): generation and verification run there,
    aggregation here."""
    spec = spec if isinstance(spec, EvalSpec) else load_spec(spec)
    spec = spec.with_overrides(n=n, max_tokens=max_tokens)
    if executor is not None and executor.kind == "ray":
        return _run_eval_on_ray(
            store, backend, spec, executor, limit=limit, batch_size=batch_size, standings=standings,
            verifier_fn=verifier_fn, cluster=cluster, progress=progress, n_boot=n_boot,
        )  # fmt: skip
    prompts = benchmark_prompts(store, spec, limit)
    config = {
        "protocol": spec.protocol(),
        "model": backend.model,
        "backend": backend.name,
        "backend_identity": backend_identity(backend),
        "backend_version": str(backend.version),
        "limit": limit,
    }
    with recorded_run(store, "eval", name=f"{spec.name}:{backend.model}", config=config) as run:
        run_id = run.run_id
        gen = generate_rollouts(
            store,
            backend,
            prompts,
            template=spec.template,
            sampling=spec.sampling,
            n=spec.n,
            seed=spec.seed,
            stage="eval",
            run_id=run_id,
            batch_size=batch_size,
            progress=progress,
        )
        verified = verify_rollouts(
            store, gen.rollout_ids, spec, run_id=run_id, verifier_fn=verifier_fn, progress=progress
        )
        results = _aggregate(
            store, spec, backend.model, run_id, gen.rollout_ids, prompts, verifier_fn=verifier_fn,
            cluster=cluster, n_boot=n_boot, standings=standings, limit=limit,
        )  # fmt: skip
        run.summary = {
            "generated": gen.generated,
            "verified": verified,
            **{r.metric: r.value for r in results if r.breakdown is None},
        }
    return EvalOutcome(spec, run_id, backend.model, results, gen.generated, verified)


def _aggregate(
    store, spec, model, run_id, rollout_ids, prompts, *, verifier_fn, cluster, n_boot, standings, limit
) -> list[MetricValue]:
    """The samples' verdicts -> metrics (pass@k, cons@k, CIs, breakdowns), written to `eval_results`."""
    samples = load_samples(store, rollout_ids, eval_scorer(spec, verifier_fn).label)
    _check_infra(samples, spec)
    results = compute_results(
        samples,
        k_values=spec.k,
        cons_values=spec.cons,
        breakdowns=spec.breakdowns,
        cluster=cluster,
        n_boot=n_boot,
        seed=spec.seed,
    )
    if standings:
        results += rating_results(samples, prompts, standings, spec)
    versions = sorted({v for v in samples["verifier_version"].drop_nulls().to_list()})
    write_results(store, spec, model, run_id, results, prompts.height, versions, limit)
    return results


def _run_eval_on_ray(
    store, backend: dict, spec: EvalSpec, executor, *, limit, batch_size, standings, verifier_fn, cluster,
    progress, n_boot,
) -> EvalOutcome:  # fmt: skip
    """run_eval with generation and verification on Ray workers (r1harness.executors)."""
    from r1harness.executors import generate_on_ray, verify_on_ray

    if not isinstance(backend, dict) or not {"name", "model"} <= set(backend):
        raise ConfigError(
            "with the ray executor, pass the backend as a spec {name, model, options} (each Ray worker "
            f"builds it), not {type(backend).__name__}"
        )
    if verifier_fn is not None:
        raise ConfigError("verifier_fn runs in this process only: register the verifier, or drop executor")
    check_backend_options(backend["name"], backend.get("options", {}))
    eval_scorer(spec)  # a bad verifier fails before the cluster is touched
    prompts = benchmark_prompts(store, spec, limit)
    config = {
        "protocol": spec.protocol(),
        "model": backend["model"],
        "backend": backend["name"],
        "backend_options": backend.get("options", {}),
        "limit": limit,
        "executor": "ray",
    }
    with recorded_run(store, "eval", name=f"{spec.name}:{backend['model']}", config=config) as run:
        gen = generate_on_ray(
            store, backend, executor, prompts_where="list_contains(?, p.prompt_id)",
            params=[prompts["prompt_id"].to_list()], template=spec.template, sampling=spec.sampling.to_dict(),
            n=spec.n, seed=spec.seed, stage="eval", run_id=run.run_id, batch_size=batch_size,
            progress=progress, return_ids=True,
        )  # fmt: skip
        checked = verify_on_ray(
            store, [spec.verifier], executor, run_id=run.run_id, rollout_ids=gen["rollout_ids"],
            options={spec.verifier: dict(spec.verifier_options or {})}, progress=progress,
        )  # fmt: skip
        results = _aggregate(
            store, spec, backend["model"], run.run_id, gen["rollout_ids"], prompts, verifier_fn=None,
            cluster=cluster, n_boot=n_boot, standings=standings, limit=limit,
        )  # fmt: skip
        run.summary = {
            "generated": gen["generated"],
            "verified": checked.get("written", 0),
            "backend_identity": gen.get("backend_identity"),
            **{r.metric: r.value for r in results if r.breakdown is None},
        }
    return EvalOutcome(
        spec, run.run_id, backend["model"], results, gen["generated"], checked.get("written", 0)
    )


def benchmark_prompts(store, spec: EvalSpec, limit: int | None):
    """The benchmark's prompts in source order (ingesting its manifest first when the store lacks it)."""
    query = (
        "SELECT prompt_id, problem, answer, tests, metadata, domain, verifier FROM prompts "
        "WHERE dataset = ? ORDER BY source_index NULLS LAST, prompt_id"
    )
    prompts = store.sql(query, [spec.dataset])
    if prompts.is_empty():
        from r1harness.ingest import ingest_manifest

        log.info("store has no %s prompts; ingesting manifest %s", spec.dataset, spec.dataset)
        ingest_manifest(store, spec.dataset)
        prompts = store.sql(query, [spec.dataset])
    if prompts.is_empty():
        raise EvalError(f"dataset {spec.dataset!r} has no prompts even after ingesting its manifest")
    return prompts.head(limit) if limit else prompts


def verify_rollouts(
    store,
    rollout_ids,
    spec: EvalSpec,
    *,
    run_id: str | None = None,
    verifier_fn: Callable | None = None,
    progress: bool = True,
) -> int:
    """Score every rollout in `rollout_ids` that has no verdict from `spec.verifier` at its current version
    (or whose latest one was an infrastructure failure); returns the rewards rows written."""
    summary = score_rollouts(
        store,
        [eval_scorer(spec, verifier_fn)],
        Selection(rollout_ids=tuple(rollout_ids)),
        run_id=run_id,
        batch_size=VERIFY_CHUNK,
        progress=progress,
        desc=f"verify {spec.name}",
    )
    return summary.written


def eval_scorer(spec: EvalSpec, verifier_fn: Callable | None = None) -> Scorer:
    """The benchmark's verifier (or `verifier_fn`, stored under the spec's verifier name)."""
    return Scorer.resolve(spec.verifier, spec.verifier_options, fn=verifier_fn)


def write_results(
    store,
    spec: EvalSpec,
    model: str,
    run_id: str,
    results: list[MetricValue],
    n_problems: int,
    verifier_versions: list[str],
    limit: int | None,
) -> None:
    protocol = {**spec.protocol(), "verifier_versions": verifier_versions, "limit": limit}
    rows = [
        {
            "result_id": ids.content_id("eval_result", run_id, r.metric, r.breakdown),
            "run_id": run_id,
            "model": model,
            "benchmark": spec.name,
            "benchmark_version": spec.benchmark_version,
            "protocol": ids.canonical_json({**protocol, **(r.protocol_extra or {})}),
            "metric": r.metric,
            "value": _finite(r.value),
            "ci_low": _finite(r.ci_low),
            "ci_high": _finite(r.ci_high),
            "n_problems": r.n_problems if r.n_problems is not None else n_problems,
            "n_samples": r.n_samples,
            "breakdown": r.breakdown,
        }
        for r in results
    ]
    store.catalog_insert("eval_results", rows, on_conflict="replace")


def _check_infra(samples, spec: EvalSpec) -> None:
    import polars as pl

    total = samples.height
    infra = samples.filter(pl.col("status").is_in(["timeout", "error"])).height
    if total and infra / total > spec.max_infra_failure_rate:
        raise EvalError(
            f"{spec.name}: {infra} of {total} samples ({infra / total:.1%}) could not be verified "
            f"(timeout/error), above max_infra_failure_rate={spec.max_infra_failure_rate}; fix the "
            "verifier/sandbox and re-run the same command: generation is not repeated"
        )


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


__all__ = ["run_eval", "EvalOutcome", "EvalError", "benchmark_prompts", "verify_rollouts", "write_results"]
