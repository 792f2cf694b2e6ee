"""Append-only Parquet shards, made visible atomically.

One append = one batch directory. It is written under `_staging/` and renamed into
`tables/<table>/` in one step, so readers see all of an append or none of it, and a writer killed
mid-append leaves only an invisible staging directory behind.

Compaction merges many small batches (a GRPO run writes a few per step) into one `compact-*` batch that
lists the batches it replaces in `_supersedes.json`. Its rename is again the commit point: from then on
readers skip the superseded batches, which are deleted only after a grace period, so a query that listed
them a moment earlier can still read them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 128 * 1024
PARALLEL_MIN_ROWS = 100_000  # big batches are split into files written on parallel threads
STAGING_MAX_AGE_S = 6 * 3600  # staging dirs older than this belong to dead writers


def table_dir(root: Path, table: str) -> Path:
    return root / "tables" / table


SUPERSEDES = "_supersedes.json"
COMPACT_PREFIX = "compact-"
SCHEMA_PREFIX = "schema-"


def visible_batches(root: Path, table: str) -> list[str]:
    """Committed batch directories, minus those a compaction has replaced."""
    d = table_dir(root, table)
    if not d.exists():
        return []
    names = sorted(p.name for p in d.iterdir() if p.is_dir())
    hidden: set[str] = set()
    for name in names:
        if name.startswith(COMPACT_PREFIX) and (d / name / SUPERSEDES).exists():
            hidden.update(json.loads((d / name / SUPERSEDES).read_text()))
    return [n for n in names if n not in hidden]


def shard_files(root: Path, table: str) -> list[Path]:
    d = table_dir(root, table)
    return [f for b in visible_batches(root, table) for f in sorted((d / b).glob("*.parquet"))]


def new_batch_name(prefix: str = "") -> str:
    return f"{prefix}{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"


def write_batch(
    root: Path,
    table: str,
    data: pa.Table,
    *,
    batch_name: str | None = None,
    max_rows_per_file: int = 2_000_000,
    compression: str = "zstd",
    supersedes: list[str] | None = None,
) -> Path:
    """Write `data` as one atomically visible batch directory; returns its final path."""
    name = batch_name or new_batch_name()
    staging = root / "_staging" / f"{table}-{name}-{uuid.uuid4().hex[:6]}"
    staging.mkdir(parents=True)
    try:
        if supersedes is not None:
            (staging / SUPERSEDES).write_text(json.dumps(supersedes))
        parts = _split(data, max_rows_per_file)

        def write(i: int) -> None:  # pyarrow releases the GIL while encoding and compressing
            path = staging / f"part-{i:05d}.parquet"
            pq.write_table(parts[i], path, compression=compression, row_group_size=ROW_GROUP_ROWS)
            _fsync(path)

        if len(parts) == 1:
            write(0)
        else:
            with ThreadPoolExecutor(max_workers=min(len(parts), os.cpu_count() or 1, 4)) as pool:
                list(pool.map(write, range(len(parts))))
        final = table_dir(root, table) / name
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, final)  # the commit point
        _fsync(final.parent)
        return final
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _split(data: pa.Table, max_rows_per_file: int) -> list[pa.Table]:
    n_files = max(1, -(-data.num_rows // max_rows_per_file))
    if data.num_rows >= PARALLEL_MIN_ROWS:
        n_files = max(n_files, min(os.cpu_count() or 1, 4))
    size = max(1, -(-data.num_rows // n_files))
    return [data.slice(start, size) for start in range(0, max(data.num_rows, 1), size)]


def delete_superseded(root: Path, table: str, grace_s: float) -> int:
    """Delete batches replaced by a compaction that committed more than `grace_s` ago."""
    d = table_dir(root, table)
    removed = 0
    now = time.time()
    for comp in d.glob(f"{COMPACT_PREFIX}*") if d.exists() else []:
        marker = comp / SUPERSEDES
        if not marker.exists() or now - marker.stat().st_mtime < grace_s:
            continue
        for name in json.loads(marker.read_text()):
            if (d / name).exists():
                shutil.rmtree(d / name, ignore_errors=True)
                removed += 1
    return removed


def clean_staging(root: Path, max_age_s: float = STAGING_MAX_AGE_S) -> int:
    """Remove staging directories left by writers that died; returns how many were removed."""
    staging = root / "_staging"
    if not staging.exists():
        return 0
    removed = 0
    now = time.time()
    for entry in staging.iterdir():
        if now - entry.stat().st_mtime > max_age_s:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
