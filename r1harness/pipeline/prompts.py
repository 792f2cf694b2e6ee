"""The prompts stage: synthetic task prompts (train + held-out) and the real benchmarks whose data is here.

Held-out problems never appear among train prompts (their texts are removed from the train split and from
the pretraining corpus), so every evaluation in the pipeline is on problems no model trained on.
Everything goes through the ingest API (`ingest_records`, `ingest_manifest`): rows get content-hash ids,
so a rerun of the stage adds nothing.
"""

from __future__ import annotations

import json
import logging

from r1harness.pipeline.config import TaskSpec

log = logging.getLogger(__name__)
HELDOUT_SEED_OFFSET = 1_000_003

# Verifier per task, as its dataset manifest names it (datasets/<task>.yaml).
TASK_VERIFIERS = {"arithmetic": "math", "countdown": "countdown"}


def task_verifier(task: str) -> str:
    return TASK_VERIFIERS.get(task, "math")


def _records(rows: list[dict]) -> list[dict]:
    """Generator rows -> ingest records (metadata flattened into source columns, as manifests do)."""
    out = []
    for r in rows:
        rec = {"problem": r["problem"], "answer": r["answer"]}
        rec.update(
            {
                k: json.dumps(v) if isinstance(v, (list, dict)) else v
                for k, v in r["metadata"].items()
                if k not in rec
            }
        )
        out.append(rec)
    return out


def task_rows(spec: TaskSpec) -> tuple[list[dict], list[dict]]:
    """(train rows, held-out rows) of a task; no held-out problem text occurs among the train rows."""
    from r1harness.tasks import get_task

    gen = get_task(spec.task)
    heldout = gen(spec.heldout, spec.seed + HELDOUT_SEED_OFFSET, **spec.params)
    held = {r["problem"] for r in heldout}
    train = [r for r in gen(spec.train + len(held), spec.seed, **spec.params) if r["problem"] not in held]
    seen, unique = set(), []
    for r in train:  # the generator may repeat a problem; the store would merge them anyway
        if r["problem"] not in seen:
            seen.add(r["problem"])
            unique.append(r)
    return unique[: spec.train], heldout


def heldout_problems(tasks) -> set[str]:
    return {r["problem"] for spec in tasks for r in task_rows(spec)[1]}


def ingest_prompts(ctx) -> dict:
    from r1harness.ingest import ingest_records

    summary: dict = {"datasets": {}, "benchmarks_skipped": {}, "runs": []}
    for spec in ctx.config.prompts.tasks:
        train, heldout = task_rows(spec)
        for dataset, split, rows in (
            (spec.train_dataset, "train", train),
            (spec.heldout_dataset, "test", heldout),
        ):
            source = f"pipeline:{ctx.run_name}:{spec.task}:{split}(seed={spec.seed}, params={spec.params})"
            res = ingest_records(
                ctx.store,
                _records(rows),
                [f"{source} row {i}" for i in range(len(rows))],
                dataset=dataset,
                source=source,
                split=split,
                domain="math",
                verifier=task_verifier(spec.task),
            )
            summary["datasets"][dataset] = len(rows)
            summary["runs"].append(res.run_id)
    for name in ctx.config.prompts.benchmarks:
        _ingest_benchmark(ctx, name, summary)
    return summary


def _ingest_benchmark(ctx, name: str, summary: dict) -> None:
    """Ingest a benchmark manifest when its data is available locally; otherwise say why it was skipped."""
    from r1harness.ingest import ingest_manifest, load_manifest

    manifest = load_manifest(name)
    local = manifest.local_path
    if local is not None and not local.exists() and "generator" not in manifest.source:
        summary["benchmarks_skipped"][name] = f"data not found at {local} (set R1H_DATA_DIR)"
        log.warning("prompts: skipping benchmark %s: %s missing", name, local)
        return
    res = ingest_manifest(ctx.store, manifest)
    summary["datasets"][name] = res.rows_read
    summary["runs"].append(res.run_id)
