"""`run_eval`: generate, verify, aggregate and record one benchmark for one model. Resumable.

Each step skips what the store already holds: rollouts by content-hash id (generate_rollouts), rewards by
(rollout, verifier) — so re-running after a kill, or with a larger n, does only the missing work. Results
go to `eval_results`, one row per metric (and breakdown), stamped with the benchmark version and protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from r1harness.errors import R1HarnessError
from r1harness.evals.aggregate import MetricValue, compute_results, load_samples
from r1harness.evals.spec import EvalSpec, load_spec
from r1harness.generate.backend import Backend
from r1harness.generate.runner import generate_rollouts
from r1harness.store import ids
from r1harness.store.runs import finish_run, start_run

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
) -> EvalOutcome:
    """Evaluate `backend`'s model on one benchmark; returns the metrics written to `eval_results`."""
    spec = spec if isinstance(spec, EvalSpec) else load_spec(spec)
    spec = spec.with_overrides(n=n, max_tokens=max_tokens)
    prompts = benchmark_prompts(store, spec, limit)
    config = {
        "protocol": spec.protocol(),
        "model": backend.model,
        "backend": backend.name,
        "backend_version": str(backend.version),
        "limit": limit,
    }
    run_id = start_run(store, "eval", name=f"{spec.name}:{backend.model}", config=config)
    try:
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
        samples = load_samples(store, gen.rollout_ids, spec.verifier)
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
            from r1harness.evals.codeforces import rating_results

            results += rating_results(samples, prompts, standings, spec)
        versions = sorted({v for v in samples["verifier_version"].drop_nulls().to_list()})
        write_results(store, spec, backend.model, run_id, results, prompts.height, versions, limit)
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        finish_run(store, run_id, status=status, error=f"{type(exc).__name__}: {exc}")
        raise
    summary = {
        "generated": gen.generated,
        "verified": verified,
        **{r.metric: r.value for r in results if r.breakdown is None},
    }
    finish_run(store, run_id, summary=summary)
    return EvalOutcome(spec, run_id, backend.model, results, gen.generated, verified)


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
    """Score every rollout in `rollout_ids` that has no reward from `spec.verifier` (at the verifier's
    current version, when it declares one) or whose latest one was an infrastructure failure."""
    fn = verifier_fn or _get_verifier(spec.verifier)
    version = getattr(fn, "version", None) or (None if verifier_fn else _verifier_version(spec.verifier))
    todo = store.sql(
        """
        WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS rollout_id),
        prior AS (
            SELECT rollout_id, count(*) AS attempts,
                   arg_max(status, created_at) IN ('timeout', 'error') AS retry
            FROM rewards WHERE verifier = ? AND rollout_id IN (SELECT rollout_id FROM wanted)
                AND (CAST(? AS VARCHAR) IS NULL OR verifier_version = ?)
            GROUP BY rollout_id)
        SELECT r.rollout_id, r.completion, coalesce(q.attempts, 0) AS attempts,
               p.prompt_id, p.answer, p.tests, p.metadata, p.problem, p.domain
        FROM rollouts r JOIN wanted USING (rollout_id) JOIN prompts p USING (prompt_id)
        LEFT JOIN prior q USING (rollout_id)
        WHERE q.rollout_id IS NULL OR q.retry
        ORDER BY r.prompt_id, r.sample_index""",
        [list(rollout_ids), spec.verifier, version, version],
    )
    bar = _progress(todo.height, progress, f"verify {spec.name}")
    written = 0
    try:
        for start in range(0, todo.height, VERIFY_CHUNK):
            chunk = todo.slice(start, VERIFY_CHUNK).to_dicts()
            verdicts = fn([r["completion"] for r in chunk], chunk, **spec.verifier_options)
            # Stored under the spec's verifier name, so lookups by name find it whatever the fn calls itself.
            rows = [
                {
                    **v.to_row(),
                    "rollout_id": r["rollout_id"],
                    "run_id": run_id,
                    "verifier": spec.verifier,
                    "reward_id": _reward_id(r["rollout_id"], spec.verifier, v.version, r["attempts"]),
                }
                for r, v in zip(chunk, verdicts)
            ]
            written += store.append("rewards", rows).written
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    return written


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


def _reward_id(rollout_id: str, verifier: str, version: str, attempts: int) -> str:
    """The usual content-hash id; a retry after an infrastructure failure gets its own id, so the new
    verdict is kept next to the failed one (the latest counts) instead of being skipped as existing."""
    if not attempts:
        return ids.reward_id(rollout_id, verifier, version)
    return ids.content_id("reward", rollout_id, verifier, version, "attempt", attempts)


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


def _get_verifier(name: str) -> Callable:
    try:
        from r1harness.verify.registry import get_verifier
    except ImportError:  # registry not in this tree yet: the math verifier's own batch entry point
        if name == "math":
            from r1harness.verify.math import verify_math_batch

            return verify_math_batch
        raise
    return get_verifier(name)


def _verifier_version(name: str) -> str | None:
    try:
        from r1harness.verify.registry import verifier_version
    except ImportError:
        return None
    return verifier_version(name)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def _progress(total: int, enabled: bool, desc: str):
    if not enabled or not total:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample")


__all__ = ["run_eval", "EvalOutcome", "EvalError", "benchmark_prompts", "verify_rollouts", "write_results"]
