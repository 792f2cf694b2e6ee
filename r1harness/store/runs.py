"""`runs` rows: every stage that writes to the store records its config, git sha and library versions."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
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
