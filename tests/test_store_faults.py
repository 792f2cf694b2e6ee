"""Compaction, appends and cleanups killed at every file system step: nothing lost, nothing doubled,
and a plain Parquet glob (DuckDB, Polars) always sees what the store's own readers see.

The kill points are enumerated, not sampled: tests/store_fault_driver.py counts the steps of one
operation and SIGKILLs itself before step k, for every k. benchmarks/store_faults.py runs randomized
interleavings of the same operations many times.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from r1harness.store import Store

DRIVER = Path(__file__).with_name("store_fault_driver.py")
sys.path.insert(0, str(DRIVER.parent))
from store_fault_driver import rows  # noqa: E402


def ids(start: int, n: int) -> set[str]:
    return {r["rollout_id"] for r in rows(start, n)}


def drive(path: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(DRIVER), str(path), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def seen_by_everyone(path: Path) -> list[str]:
    """The rollout ids each reader sees; asserts they all agree and none sees a row twice."""
    import duckdb
    import polars as pl

    reader = Store(path)  # as it is on disk: no migration, no repair (and the same in older code)
    ours = reader.sql("SELECT rollout_id FROM rollouts")["rollout_id"].to_list()
    glob = str(path / "tables" / "rollouts" / "**" / "*.parquet")
    plain = [r[0] for r in duckdb.sql(f"SELECT rollout_id FROM read_parquet('{glob}')").fetchall()]
    polars = pl.scan_parquet(glob).select("rollout_id").collect()["rollout_id"].to_list()
    lazy = reader.lazy("rollouts").collect()["rollout_id"].to_list()
    assert len(ours) == len(set(ours)), "the store's reader sees a row twice"
    for name, other in (("plain DuckDB glob", plain), ("Polars glob", polars), ("Store.lazy", lazy)):
        assert sorted(other) == sorted(ours), f"{name} disagrees with the store's reader"
    return ours


def _base_store(tmp_path: Path) -> Path:
    """Four small batches compacted (a retired generation exists), then two more batches."""
    path = tmp_path / "base"
    store = Store.open(path)
    for b in range(4):
        store.append("rollouts", rows(10 * b, 10))
    store.compact("rollouts")
    for b in range(4, 6):
        store.append("rollouts", rows(10 * b, 10))
    return path


def _enumerate(base: Path, tmp_path: Path, args: list, check) -> int:
    """Run the operation killed before each of its steps, on a fresh copy of `base` each time."""
    probe = tmp_path / "probe"
    shutil.copytree(base, probe, symlinks=True)
    done = drive(probe, *args)
    assert done.returncode == 0, done.stderr
    steps = int(done.stdout.strip().split("=")[1])
    assert steps > 3
    for k in range(1, steps + 1):
        copy = tmp_path / f"k{k}"
        shutil.copytree(base, copy, symlinks=True)
        res = drive(copy, *args, k)
        assert res.returncode == -9, f"step {k}: {res.returncode} {res.stderr[-500:]}"
        check(copy, k)
        shutil.rmtree(copy)
    return steps


@pytest.mark.slow
def test_compaction_killed_at_every_step_loses_and_doubles_nothing(tmp_path):
    base = _base_store(tmp_path)
    want = ids(0, 60)

    def check(copy: Path, k: int) -> None:
        assert set(seen_by_everyone(copy)) == want, f"killed before step {k}"
        store = Store.open(copy)  # a writer opening after the kill repairs nothing by hand
        store.compact("rollouts", grace_s=0)
        assert set(seen_by_everyone(copy)) == want, f"compaction after a kill at step {k}"
        assert store.append("rollouts", rows(0, 60)).written == 0
        assert len(list((copy / "generations" / "rollouts").iterdir())) <= 2  # leftovers cleaned

    steps = _enumerate(base, tmp_path, ["compact", 0], check)
    assert steps >= 10  # cleanup of the retired generation, the merge, the links, the swap


@pytest.mark.slow
def test_append_killed_at_every_step_is_all_or_nothing(tmp_path):
    base = _base_store(tmp_path)
    before, batch = ids(0, 60), ids(55, 20)  # overlaps the stored rows

    def check(copy: Path, k: int) -> None:
        got = set(seen_by_everyone(copy))
        assert got in (before, before | batch), f"killed before step {k}: a partial batch"
        assert Store.open(copy).append("rollouts", rows(55, 20)).written == len(batch - got)
        assert set(seen_by_everyone(copy)) == before | batch

    _enumerate(base, tmp_path, ["append", 55, 20], check)


def test_the_issue_sequence_compact_compact_cleanup_never_resurrects(tmp_path):
    """Two compactions within the grace period and a cleanup after it (issue 14: 130 rows, 80 ids)."""
    store = Store.open(tmp_path / "s")
    for b in range(5):
        store.append("rollouts", rows(10 * b, 10))
    store.compact("rollouts")
    assert len(seen_by_everyone(store.root)) == 50
    for b in range(5, 8):
        store.append("rollouts", rows(10 * b, 10))
    store.compact("rollouts")
    assert len(seen_by_everyone(store.root)) == 80
    store.compact("rollouts", grace_s=0)
    assert set(seen_by_everyone(store.root)) == ids(0, 80)
    store.compact("rollouts", grace_s=0)
    assert set(seen_by_everyone(store.root)) == ids(0, 80)


def test_compaction_drops_rows_a_buggy_past_duplicated(tmp_path):
    """Duplicates made permanent by the old compaction go away at the next compaction."""
    from r1harness.store import shards

    store = Store.open(tmp_path / "s")
    store.append("rollouts", rows(0, 10))
    data = shards.pa.Table.from_pylist(rows(0, 10))
    from r1harness.store.rows import conform
    from r1harness.store.schema import ROLLOUTS

    shards.write_batch(store.root, "rollouts", conform(data, ROLLOUTS))  # the same ids again
    assert store.count("rollouts") == 20
    store.compact("rollouts")
    assert set(seen_by_everyone(store.root)) == ids(0, 10)


def test_a_reader_that_listed_files_before_a_compaction_still_reads_them(tmp_path):
    from r1harness.store import shards

    store = Store.open(tmp_path / "s")
    for b in range(3):
        store.append("rollouts", rows(10 * b, 10))
    listed = shards.shard_files(store.root, "rollouts")
    store.compact("rollouts")  # default grace: the retired generation stays
    import pyarrow.parquet as pq

    assert sum(pq.read_table(f).num_rows for f in listed) == 30
    assert len(seen_by_everyone(store.root)) == 30


def test_stale_staging_of_a_killed_writer_is_cleaned_but_a_live_one_is_not(tmp_path):
    from r1harness.store import shards

    store = Store.open(tmp_path / "s")
    for k in range(1, 12):  # kill the writer at the first step that leaves a staging dir
        assert drive(store.root, "append", 0, 10, k).returncode == -9
        staging = [p for p in (store.root / "_staging").iterdir() if p.is_dir()]
        if staging:
            break
    assert staging, "the killed writer left no staging dir to clean"
    with shards.staging_dir(store.root, "live") as live:
        assert shards.clean_staging(store.root, min_age_s=0) == len(staging)
        assert live.exists()  # its writer holds the lock
    assert not [p for p in (store.root / "_staging").iterdir()]
    assert Store.open(store.root).count("rollouts") == 0
