"""Append-only Parquet shards, made visible atomically.

One append = one batch directory. It is written under `_staging/` and renamed into `tables/<table>/` in
one step, so readers see all of an append or none of it, and a writer killed mid-append leaves only an
invisible staging directory behind (removed by the next writer once no live process holds its lock).

`tables/<table>` is a symlink to the table's current *generation*, `generations/<table>/gNNNNNNNN/`.
Appends add batch directories to the current generation. Compaction builds the next generation (hard
links to every batch it keeps plus one `compact-*` batch holding the merged rows) and swaps the symlink
in one rename: that rename is the commit point. Before it, readers (ours, or a plain
`tables/<table>/**/*.parquet` glob in DuckDB or Polars) see the old batches; after it, only the merged one.
A row is never visible twice or missing, and nothing can come back: a retired generation is never
current again. Retired generations are deleted after a grace period (a query that listed their files a
moment earlier can still read them); generations a killed compaction left half-built are deleted at once.

Writers serialise commits per table with `table_lock`; readers take no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from r1harness.errors import StoreError

ROW_GROUP_ROWS = 128 * 1024
PARALLEL_MIN_ROWS = 100_000  # big batches are split into files written on parallel threads
STAGING_MIN_AGE_S = 5.0  # an unlocked staging dir younger than this may be one whose writer is starting

SUPERSEDES = "_supersedes.json"  # legacy (format 1) compactions: the batches a compact-* batch replaced
COMPACT_PREFIX = "compact-"
SCHEMA_PREFIX = "schema-"
GEN_PREFIX = "g"
LEGACY_GEN = "g00000000"  # a format-1 table directory, kept while it is converted (migration 0002)


def table_dir(root: Path, table: str) -> Path:
    """The live path of a table (a symlink to its current generation in format 2)."""
    return root / "tables" / table


def generations_dir(root: Path, table: str) -> Path:
    return root / "generations" / table


def _gen_number(name: str) -> int:
    return int(name[len(GEN_PREFIX) :])


def _gen_name(number: int) -> str:
    return f"{GEN_PREFIX}{number:08d}"


_held = threading.local()


@contextlib.contextmanager
def file_lock(root: Path, name: str) -> Iterator[None]:
    """An exclusive lock shared by every process writing the store; re-entrant within a thread (flock
    would deadlock a thread that takes it twice), while other threads wait as other processes do."""
    lock_dir = root / "locks"
    key = (str(lock_dir.resolve()), name)
    held = _held.__dict__.setdefault("names", set())
    if key in held:
        yield
        return
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / f"{name}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            fcntl.flock(fh, fcntl.LOCK_UN)


def table_lock(root: Path, table: str):
    """The lock every commit into `table` (append, compaction, migration) holds."""
    return file_lock(root, f"append-{table}")


# -- reading -------------------------------------------------------------------------------------
def listing(root: Path, table: str, _tries: int = 3) -> tuple[Path, list[str]]:
    """(directory, visible batch names) of a table, read from one generation so the two agree."""
    d = table_dir(root, table)
    if d.is_symlink():
        real = Path(os.path.realpath(d))
        try:
            return real, sorted(e.name for e in os.scandir(real) if e.is_dir())
        except FileNotFoundError:  # swapped and cleaned between realpath and scandir: read again
            if _tries <= 1:
                raise StoreError(f"{d} points at {real}, which does not exist") from None
            return listing(root, table, _tries - 1)
    if not d.exists():
        legacy = generations_dir(root, table) / LEGACY_GEN  # a conversion to format 2 was interrupted
        return (legacy, _legacy_visible(legacy)) if legacy.is_dir() else (d, [])
    return d, _legacy_visible(d)


def _legacy_visible(d: Path) -> list[str]:
    """A format-1 table directory: every batch minus those a compaction listed as replaced (transitively,
    so a compaction that replaced an earlier compaction hides that one's batches as well)."""
    names = sorted(p.name for p in d.iterdir() if p.is_dir())
    hidden: set[str] = set()
    for name in names:
        if name.startswith(COMPACT_PREFIX) and (d / name / SUPERSEDES).exists():
            hidden.update(json.loads((d / name / SUPERSEDES).read_text()))
    return [n for n in names if n not in hidden]


def visible_batches(root: Path, table: str) -> list[str]:
    return listing(root, table)[1]


def shard_files(root: Path, table: str) -> list[Path]:
    """The Parquet files of a table's visible batches (real paths: they stay readable through the grace
    period even if a compaction retires their generation meanwhile)."""
    d, batches = listing(root, table)
    return [f for b in batches for f in sorted((d / b).glob("*.parquet"))]


def new_batch_name(prefix: str = "") -> str:
    return f"{prefix}{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"


# -- layout --------------------------------------------------------------------------------------
def ensure_table(root: Path, table: str) -> None:
    """Create a new table's first generation and its `tables/<table>` link (a no-op once it exists)."""
    link = table_dir(root, table)
    if link.is_symlink() or link.exists():
        return
    gens = generations_dir(root, table)
    if gens.exists() and any(gens.iterdir()):
        raise StoreError(
            f"{link} is missing but {gens} holds generations: an interrupted migration. "
            "Open the store for writing (e.g. `r1h compact`) to complete it"
        )
    first = gens / _gen_name(1)
    first.mkdir(parents=True, exist_ok=True)
    _point(root, table, first.name)


def _point(root: Path, table: str, gen: str) -> None:
    """Make `tables/<table>` point at generation `gen`, atomically (the commit point of a compaction)."""
    link = table_dir(root, table)
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = generations_dir(root, table) / f".link-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.join("..", "generations", table, gen), tmp)
    os.rename(tmp, link)
    fsync_path(link.parent)


def convert_legacy_table(root: Path, table: str) -> None:
    """Format 1 -> 2: move a plain table directory aside and link a generation holding its visible
    batches. Idempotent: a conversion killed at any step is finished by running it again."""
    link = table_dir(root, table)
    gens = generations_dir(root, table)
    legacy = gens / LEGACY_GEN
    if link.is_symlink():
        return
    if link.is_dir():
        gens.mkdir(parents=True, exist_ok=True)
        os.rename(link, legacy)
    if not legacy.exists():
        ensure_table(root, table)
        return
    first = gens / _gen_name(1)
    shutil.rmtree(first, ignore_errors=True)
    first.mkdir()
    for name in _legacy_visible(legacy):
        _link_batch(legacy / name, first / name)
    fsync_path(first)
    _point(root, table, first.name)


def _link_batch(src: Path, dst: Path) -> None:
    dst.mkdir()
    for f in src.iterdir():
        if f.name == SUPERSEDES:
            continue
        try:
            os.link(f, dst / f.name)
        except OSError:  # a file system without hard links
            shutil.copy2(f, dst / f.name)
    fsync_path(dst)


# -- writing -------------------------------------------------------------------------------------
@contextlib.contextmanager
def staging_dir(root: Path, label: str) -> Iterator[Path]:
    """A fresh staging directory whose lock is held while the writer lives (see clean_staging)."""
    base = root / "_staging"
    base.mkdir(parents=True, exist_ok=True)
    name = f"{label}-{uuid.uuid4().hex[:8]}"
    lock_path = base / f"{name}.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = base / name
        path.mkdir()
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                lock_path.unlink()


def write_files(path: Path, data: pa.Table, *, max_rows_per_file: int, compression: str) -> None:
    parts = _split(data, max_rows_per_file)

    def write(i: int) -> None:  # pyarrow releases the GIL while encoding and compressing
        f = path / f"part-{i:05d}.parquet"
        pq.write_table(parts[i], f, compression=compression, row_group_size=ROW_GROUP_ROWS)
        fsync_path(f)

    if len(parts) == 1:
        write(0)
    else:
        with ThreadPoolExecutor(max_workers=min(len(parts), os.cpu_count() or 1, 4)) as pool:
            list(pool.map(write, range(len(parts))))


def write_batch(
    root: Path,
    table: str,
    data: pa.Table,
    *,
    batch_name: str | None = None,
    max_rows_per_file: int = 2_000_000,
    compression: str = "zstd",
) -> Path:
    """Write `data` as one atomically visible batch directory; returns its final path. A batch given an
    explicit name (a migration's schema batch) that is already committed is kept as it is: a committed
    batch is always complete, so a migration killed after writing it completes when run again."""
    name = batch_name or new_batch_name()
    with staging_dir(root, f"{table}-{name}") as staging:
        write_files(staging, data, max_rows_per_file=max_rows_per_file, compression=compression)
        with table_lock(root, table):  # no commit may land in a generation a compaction is replacing
            ensure_table(root, table)
            final = table_dir(root, table) / name
            if batch_name is not None and final.exists():
                return final
            os.rename(staging, final)  # the commit point
            fsync_path(final.parent)
    return final


def replace_batches(
    root: Path, table: str, data: pa.Table, replaced: list[str], *, compression: str = "zstd"
) -> Path:
    """Commit a compaction: the next generation holds every current batch except `replaced`, plus a
    new `compact-*` batch with `data`. The caller holds `table_lock` (since it chose `replaced`)."""
    link = table_dir(root, table)
    if not link.is_symlink():
        raise StoreError(f"{link} is not a generation link; open the store for writing to migrate it")
    current = Path(os.path.realpath(link))
    gens = current.parent
    nxt = gens / _gen_name(_gen_number(current.name) + 1)
    shutil.rmtree(nxt, ignore_errors=True)  # left half-built by a killed compaction
    name = new_batch_name(COMPACT_PREFIX)
    with staging_dir(root, f"{table}-{name}") as staging:
        write_files(staging, data, max_rows_per_file=2_000_000, compression=compression)
        nxt.mkdir()
        drop = set(replaced)
        for entry in sorted(os.scandir(current), key=lambda e: e.name):
            if entry.is_dir() and entry.name not in drop:
                _link_batch(Path(entry.path), nxt / entry.name)
        os.rename(staging, nxt / name)
        fsync_path(nxt)
        _point(root, table, nxt.name)  # the commit point
    return link / name


def _split(data: pa.Table, max_rows_per_file: int) -> list[pa.Table]:
    n_files = max(1, -(-data.num_rows // max_rows_per_file))
    if data.num_rows >= PARALLEL_MIN_ROWS:
        n_files = max(n_files, min(os.cpu_count() or 1, 4))
    size = max(1, -(-data.num_rows // n_files))
    return [data.slice(start, size) for start in range(0, max(data.num_rows, 1), size)]


# -- cleaning up ---------------------------------------------------------------------------------
def clean_generations(root: Path, table: str, grace_s: float) -> int:
    """Delete generations a killed compaction left unfinished, and retired ones once `grace_s` has passed
    since the current one became current. The caller holds `table_lock`. Returns how many batches were
    removed for good (those of retired generations that the current one no longer holds)."""
    link = table_dir(root, table)
    if not link.is_symlink():
        return 0
    current = Path(os.path.realpath(link))
    number = _gen_number(current.name)
    keep = {e.name for e in os.scandir(current) if e.is_dir()}
    retired_long_enough = time.time() - link.lstat().st_mtime >= grace_s
    removed = 0
    for gen in current.parent.iterdir():
        if not gen.name.startswith(GEN_PREFIX) or gen == current:
            if gen.name.startswith(".link-"):
                gen.unlink(missing_ok=True)
            continue
        if _gen_number(gen.name) < number and not retired_long_enough:
            continue
        if _gen_number(gen.name) < number:
            removed += sum(1 for e in os.scandir(gen) if e.is_dir() and e.name not in keep)
        shutil.rmtree(gen, ignore_errors=True)
    return removed


def clean_staging(root: Path, min_age_s: float = STAGING_MIN_AGE_S) -> int:
    """Remove staging directories whose writer is gone (no process holds their lock)."""
    base = root / "_staging"
    if not base.exists():
        return 0
    removed = 0
    now = time.time()
    for entry in list(base.iterdir()):
        if entry.suffix == ".lock":
            continue
        lock_path = base / f"{entry.name}.lock"
        try:
            if now - entry.lstat().st_mtime < min_age_s:
                continue
            with open(lock_path, "a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its writer is alive
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                lock_path.unlink(missing_ok=True)
                removed += 1
        except FileNotFoundError:  # finished meanwhile
            continue
    for lock_path in base.glob("*.lock"):  # locks whose directory is gone
        if not (base / lock_path.stem).exists() and now - lock_path.lstat().st_mtime >= min_age_s:
            with open(lock_path, "a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                lock_path.unlink(missing_ok=True)
    return removed


def fsync_path(path: Path) -> None:
    """fsync a file or a directory (a rename is durable once its directory is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
