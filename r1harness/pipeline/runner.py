"""`run_pipeline`: the stages in order over one store, each a `runs` row, resumable after a kill.

Runs: the pipeline is a `runs` row of kind "pipeline" whose id is derived from the config (same config ->
same run), and every stage a row of kind "pipeline.<stage>" with that parent; the runs a stage starts
(ingest, grpo, sft, curate, generate, verify, eval) are filed under the stage's row, so
`WITH RECURSIVE` over `parent_run_id` finds everything a pipeline did (the report does exactly that).

Resume: rerunning the same config reopens the same pipeline run, skips every stage whose row is
'finished' (its summary, e.g. the model folder, is read back) and runs from the first unfinished stage
on. A stage killed mid-way is simply run again: its writers are idempotent (content-hash ids) and GRPO
stages continue from their newest checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from r1harness.pipeline.config import PipelineConfig
from r1harness.pipeline.context import Context, PipelineError
from r1harness.store.ids import content_id
from r1harness.store.runs import recorded_run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineResult:
    run_id: str
    outputs: dict[str, dict]
    ran: tuple[str, ...]
    skipped: tuple[str, ...]
    complete: bool

    @property
    def report(self) -> str | None:
        return self.outputs.get("report", {}).get("report")


def pipeline_run_id(config: PipelineConfig) -> str:
    """Same config -> same run id (what makes a rerun a resume)."""
    return f"pipeline-{config.name}-{content_id('pipeline', config.to_dict())[:12]}"


def stage_runs(store, run_id: str) -> dict[str, dict]:
    """The stage rows of a pipeline run: name -> {run_id, status, summary, seconds}."""
    df = store.sql(
        "SELECT name, run_id, status, summary, started_at, finished_at FROM runs "
        "WHERE parent_run_id = ? AND kind LIKE 'pipeline.%' ORDER BY started_at",
        [run_id],
    )
    out = {}
    for row in df.iter_rows(named=True):
        summary = json.loads(row["summary"]) if row["summary"] else {}
        out[row["name"]] = {"run_id": row["run_id"], "status": row["status"], "summary": summary}
    return out


def adopt_runs(store, parent: str, run_ids: list[str]) -> None:
    """File the runs a stage started under the stage's row (only runs without another parent)."""
    ids = [r for r in dict.fromkeys(run_ids) if r and r != parent]
    if not ids:
        return
    marks = ", ".join("?" for _ in ids)
    with store.catalog() as con:
        con.execute(
            f"UPDATE runs SET parent_run_id = ? WHERE run_id IN ({marks}) "
            "AND (parent_run_id IS NULL OR parent_run_id = ?)",
            [parent, *ids, parent],
        )


def _say(text: str, progress: bool) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


def _short(summary: dict) -> str:
    keys = ("model", "set", "n_samples", "steps", "report")
    return ", ".join(f"{k}={summary[k]}" for k in keys if summary.get(k) not in (None, ""))


def _figures(summary: dict) -> str:
    """A finished stage's key figures for its console line: `_short` plus rollouts, loss and pass@1."""
    parts = [_short(summary)] if _short(summary) else []
    if summary.get("rollouts_written") is not None:
        parts.append(f"rollouts={summary['rollouts_written']}")
    first, last = summary.get("first_loss"), summary.get("last_loss")
    if isinstance(first, (int, float)) and isinstance(last, (int, float)):
        parts.append(f"loss {first:.3g} -> {last:.3g}")
    results = summary.get("results")
    if isinstance(results, dict):  # the eval stage: {stage: {benchmark: {metric: value}}}
        cells: dict[str, list[str]] = {}
        for stage, benchmarks in results.items():
            for benchmark, metrics in benchmarks.items():
                if isinstance(metrics.get("pass@1"), (int, float)):
                    cells.setdefault(benchmark, []).append(f"{stage}={metrics['pass@1']:.3f}")
        parts += [f"pass@1 {benchmark}: {' '.join(c)}" for benchmark, c in cells.items()]
    return ", ".join(parts)


def run_pipeline(
    store,
    config: PipelineConfig,
    *,
    fresh: bool = False,
    run_id: str | None = None,
    stop_after: str | None = None,
    progress: bool = True,
    stages: dict[str, Callable[[Context], dict]] | None = None,
    report_dir: str | Path | None = None,
) -> PipelineResult:
    """Run (or resume) the pipeline; returns what each stage produced. The whole config is validated first
    (`r1harness.pipeline.validate`, what `r1h validate` runs): a bad config writes no run row and no file.
    `report_dir` puts the report elsewhere than the config's `report_dir` without changing the run id."""
    from r1harness.pipeline.stages import STAGES
    from r1harness.pipeline.validate import check_pipeline_config
    from r1harness.threads import passive_thread_waits

    passive_thread_waits()
    stages = stages if stages is not None else {name: STAGES[name] for name in config.stages}
    if stop_after is not None and stop_after not in stages:
        raise PipelineError(f"--stop-after {stop_after!r}: stages are {list(stages)}")
    check_pipeline_config(config)
    run_id = run_id or (pipeline_run_id(config) + (f"-{uuid.uuid4().hex[:6]}" if fresh else ""))
    previous = stage_runs(store, run_id)
    with recorded_run(store, "pipeline", name=config.name, config=config.to_dict(), run_id=run_id) as run:
        _record_config(store, run_id, config)
        # where the report goes is not part of what the run is (nor of its id): only the report stage sees it
        staged = dataclasses.replace(config, report_dir=str(report_dir)) if report_dir else config
        ctx = Context(store, staged, run_id, config.work_path.resolve() / run_id, progress=progress)
        ran, skipped, rerun_rest = [], [], False
        _say(f"pipeline {config.name}: run {run_id} ({len(stages)} stages, work dir {ctx.work})", progress)
        for i, (name, fn) in enumerate(stages.items(), start=1):
            prev = previous.get(name)
            if prev and prev["status"] == "finished" and not rerun_rest and _outputs_load(prev["summary"]):
                ctx.outputs[name] = prev["summary"]
                skipped.append(name)
                _say(f"[{i}/{len(stages)}] {name}: finished earlier, skipped", progress)
                if name == stop_after:
                    break
                continue
            rerun_rest = True  # everything after the first stage that runs depends on it: run it again too
            run.context = f"stage {name}"  # a stage's failure fails the pipeline run, with its text
            ctx.outputs[name] = _run_stage(ctx, name, fn, f"[{i}/{len(stages)}]")
            ran.append(name)
            if name == stop_after:
                break
        complete = len(ran) + len(skipped) == len(stages)
        run.status = "finished" if complete else "interrupted"
        run.summary = {
            "stages": {n: _short(s) for n, s in ctx.outputs.items()},
            "ran": ran,
            "skipped": skipped,
            "report": ctx.outputs.get("report", {}).get("report"),
        }
    return PipelineResult(run_id, ctx.outputs, tuple(ran), tuple(skipped), complete)


def _record_config(store, run_id: str, config: PipelineConfig) -> None:
    """A run continued with a changed config (`--run ID`) keeps every config it ran under, newest first."""
    row = store.sql("SELECT config FROM runs WHERE run_id = ?", [run_id])["config"][0]
    current = json.loads(row) if row else {}
    new = json.loads(json.dumps(config.to_dict(), default=str))
    previous = {k: v for k, v in current.items() if k != "earlier_configs"}
    if current.get("name") is not None and previous != new:
        earlier = current.pop("earlier_configs", [])
        new["earlier_configs"] = [current, *earlier]
        with store.catalog() as con:
            con.execute("UPDATE runs SET config = ? WHERE run_id = ?", [json.dumps(new, default=str), run_id])


def _outputs_load(summary: dict | None) -> bool:
    """A stage counts as finished only if a model folder it handed on is whole (anything that is not a
    local folder, such as a hub id, is taken as is)."""
    from r1harness.train.checkpoints import model_dir_complete

    model = (summary or {}).get("model")
    return not (isinstance(model, str) and Path(model).is_dir()) or model_dir_complete(model)


def _run_stage(ctx: Context, name: str, fn: Callable[[Context], dict], counter: str) -> dict:
    run_id, config = f"{ctx.run_id}.{name}", {"stage": name}
    with recorded_run(
        ctx.store, f"pipeline.{name}", name=name, parent_run_id=ctx.run_id, run_id=run_id, config=config
    ) as run:
        run.context = f"stage {name}"
        ctx.stage_run_id = run.run_id
        _say(f"{counter} {name}: running", ctx.progress)
        try:
            summary = dict(fn(ctx) or {})
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            _say(
                f"{counter} {name}: {status} after {run.seconds():.1f} s; rerun the same "
                "command to resume from this stage",
                ctx.progress,
            )
            raise
        if not _outputs_load(summary):
            raise PipelineError(f"stage {name} finished but its model {summary['model']} does not load")
        summary["seconds"], summary["cpu_seconds"] = run.seconds(), run.cpu_seconds()
        adopt_runs(ctx.store, run.run_id, summary.get("runs", []))
        run.summary = summary
    _say(
        f"{counter} {name}: finished in {summary['seconds']} s ({summary['cpu_seconds']} CPU s)  "
        f"{_figures(summary)}",
        ctx.progress,
    )
    return summary
