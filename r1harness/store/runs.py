"""`runs` rows: every stage that writes to the store records its config, git sha and library versions.

`recorded_run` is the one run lifecycle (start, run, finish as finished / failed / interrupted); writers use
it rather than pairing `start_run` and `finish_run` by hand."""

from __future__ import annotations

import datetime as dt
import json
import resource
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

TRACKED_PACKAGES = (
    "r1harness",
    "torch",
    "transformers",
    "trl",
    "datasets",
    "accelerate",
    "vllm",
    "polars",
    "duckdb",
    "pyarrow",
    "math-verify",
    "lm_eval",
)


def library_versions() -> dict[str, str]:
    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_sha(cwd: Path | None = None) -> str | None:
    here = cwd or Path(__file__).resolve().parent
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def new_run_id(kind: str) -> str:
    return f"{kind}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def start_run(
    store,
    kind: str,
    *,
    name: str | None = None,
    config: dict | None = None,
    parent_run_id: str | None = None,
    run_id: str | None = None,
) -> str:
    """Insert (or, for an existing run_id, reopen) a run row with status 'running'; returns its id."""
    run_id = run_id or new_run_id(kind)
    now = dt.datetime.now(dt.UTC)
    with store.catalog() as con:
        exists = con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchall()[0][0]
        if exists:
            con.execute("UPDATE runs SET status = 'running', error = NULL WHERE run_id = ?", [run_id])
        else:
            con.execute(
                "INSERT INTO runs (run_id, kind, name, status, config, git_sha, versions, parent_run_id,"
                " started_at) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                [
                    run_id,
                    kind,
                    name,
                    json.dumps(config or {}, default=str),
                    git_sha(),
                    json.dumps(library_versions()),
                    parent_run_id,
                    now,
                ],
            )
    return run_id


def finish_run(
    store, run_id: str, *, status: str = "finished", summary: dict | None = None, error: str | None = None
) -> None:
    if status not in {"finished", "failed", "interrupted"}:
        raise ValueError(f"run status must be finished, failed or interrupted, not {status!r}")
    with store.catalog() as con:
        con.execute(
            "UPDATE runs SET status = ?, finished_at = ?, summary = ?, error = ? WHERE run_id = ?",
            [status, dt.datetime.now(dt.UTC), json.dumps(summary or {}, default=str), error, run_id],
        )


def error_text(exc: BaseException) -> str:
    """What a failed run records: the exception's type and its whole message (never cut)."""
    return f"{type(exc).__name__}: {exc}"


def process_cpu_seconds() -> float:
    """CPU time of this process (all threads) and its finished children: on a shared machine the wall
    time says how busy the machine was, this says what the work cost."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class RecordedRun:
    """The run a `recorded_run` block writes to. The block may set `summary` (recorded however the block
    ends), `status` (e.g. "interrupted" for a run that stopped early on purpose) and `context` (prefixed
    to the error text, e.g. "stage sft2")."""

    run_id: str
    summary: dict = field(default_factory=dict)
    status: str = "finished"
    context: str = ""
    started: float = field(default_factory=time.perf_counter)
    cpu_started: float = field(default_factory=process_cpu_seconds)

    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 1)

    def cpu_seconds(self) -> float:
        return round(process_cpu_seconds() - self.cpu_started, 1)

    def error(self, exc: BaseException) -> str:
        return f"{self.context}: {error_text(exc)}" if self.context else error_text(exc)


@contextmanager
def recorded_run(
    store,
    kind: str,
    *,
    name: str | None = None,
    config: dict | None = None,
    parent_run_id: str | None = None,
    run_id: str | None = None,
) -> Iterator[RecordedRun]:
    """The one run lifecycle: start a `runs` row, run the block, finish the row.

    Ctrl-C is recorded as "interrupted", any other exception as "failed" with its full text; both are
    re-raised. The block's wall and CPU seconds go into the summary as `seconds` and `cpu_seconds`
    (unless the block's summary has its own)."""
    run = RecordedRun(
        start_run(store, kind, name=name, config=config, parent_run_id=parent_run_id, run_id=run_id)
    )
    try:
        yield run
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        finish_run(store, run.run_id, status=status, summary=_timed(run), error=run.error(exc))
        raise
    finish_run(store, run.run_id, status=run.status, summary=_timed(run))


def _timed(run: RecordedRun) -> dict:
    """The summary with the block's wall and CPU seconds, unless the block measured them itself."""
    return {"seconds": run.seconds(), "cpu_seconds": run.cpu_seconds(), **run.summary}
