"""Fault run for the store (issue 14): randomized interleavings of appends, compactions and cleanups,
each operation SIGKILLed at a random file system step (or left to finish), checking after every step that
no row is lost or doubled and that the store's reader, `Store.lazy`, a plain DuckDB glob and a Polars glob
over `tables/rollouts/**/*.parquet` all see the same rows.

    .venv/bin/python benchmarks/store_faults.py --sequences 50 --ops 10 --seed 0

Operations run in processes forked from a forkserver that has the store imported (a kill is a real
SIGKILL of that process). The kill points are those of tests/store_fault_driver.py; the test suite
enumerates every one of them for one append and one compaction (tests/test_store_faults.py).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from store_fault_driver import rows, run_op  # noqa: E402


def _child(path: str, op: str, args: list, kill_at: int | None) -> None:
    run_op(path, op, args, kill_at)


def seen(path: Path) -> dict[str, list[str]]:
    import duckdb
    import polars as pl

    from r1harness.store import Store

    store = Store(path)  # as it is on disk: no migration or repair (and the same call in older code)
    glob = str(path / "tables" / "rollouts" / "**" / "*.parquet")
    return {
        "store": store.sql("SELECT rollout_id FROM rollouts")["rollout_id"].to_list(),
        "lazy": store.lazy("rollouts").collect()["rollout_id"].to_list(),
        "duckdb": [r[0] for r in duckdb.sql(f"SELECT rollout_id FROM read_parquet('{glob}')").fetchall()],
        "polars": pl.scan_parquet(glob).select("rollout_id").collect()["rollout_id"].to_list(),
    }


def run_sequence(ctx, path: Path, rng: random.Random, n_ops: int, tally: dict) -> None:
    from r1harness.store import Store

    Store.open(path)
    committed: set[str] = set()
    next_id = 0
    for _ in range(n_ops):
        if rng.random() < 0.6:
            start = max(0, next_id - rng.randint(0, 5))  # overlap rows already sent
            n = rng.randint(1, 12)
            op, args, attempted = "append", [start, n], {r["rollout_id"] for r in rows(start, n)}
            next_id = max(next_id, start + n)
        else:
            op, args, attempted = "compact", [rng.choice([0.0, 0.0, 600.0])], set()
        # an append takes ~10 file system steps, a compaction 10-60: aim inside them most of the time
        kill_at = rng.randint(1, 12 if op == "append" else 30) if rng.random() < 0.8 else None
        proc = ctx.Process(target=_child, args=(str(path), op, args, kill_at))
        proc.start()
        proc.join(120)
        killed = proc.exitcode == -9
        if proc.exitcode not in (0, -9):
            tally["errors"] += 1
        tally["ops"] += 1
        tally["kills"] += killed
        tally[f"{op}_kills"] += killed
        views = seen(path)
        ids = views["store"]
        tally["checks"] += 1
        tally["duplicates"] += len(ids) - len(set(ids))
        tally["lost"] += len(committed - set(ids))
        tally["phantoms"] += len(set(ids) - committed - attempted)
        tally["disagreements"] += sum(sorted(v) != sorted(ids) for v in views.values())
        if not killed and op == "append":
            tally["lost"] += len(attempted - set(ids))
        committed = set(ids)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=int, default=50)
    ap.add_argument("--ops", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    opts = ap.parse_args()
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["store_fault_driver", "r1harness.store.store", "pyarrow.parquet"])
    tally = dict.fromkeys(
        ["ops", "kills", "append_kills", "compact_kills", "checks", "duplicates", "lost", "phantoms",
         "disagreements", "errors"], 0)  # fmt: skip
    rng = random.Random(opts.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="r1h-faults-") as tmp:
        for i in range(opts.sequences):
            path = Path(tmp) / f"s{i}"
            run_sequence(ctx, path, rng, opts.ops, tally)
            shutil.rmtree(path)
    load = os.getloadavg()
    took = time.perf_counter() - started
    print(
        f"{opts.sequences} sequences x {opts.ops} ops (seed {opts.seed}) in {took:.0f} s, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    for key, value in tally.items():
        print(f"  {key:14s} {value}")
    bad = tally["duplicates"] + tally["lost"] + tally["phantoms"] + tally["disagreements"] + tally["errors"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
