"""Run one store operation in a subprocess and SIGKILL it just before its N-th file system step.

    python store_fault_driver.py STORE append START N [KILL_AT]
    python store_fault_driver.py STORE compact GRACE_S [KILL_AT]

The steps counted are every call that changes the store's files (rename, replace, link, symlink, mkdir,
unlink, rmdir, rmtree, Parquet writes), counted from after `Store.open`. Without KILL_AT (or when the
operation ends before it) it prints `steps=<number of steps>`, so a test can enumerate every kill point.
Used by tests/test_store_faults.py and benchmarks/store_faults.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys


def rows(start: int, n: int) -> list[dict]:
    from r1harness.store.ids import rollout_id

    return [
        {
            "rollout_id": rollout_id("p", "m", "t", {}, 0, i),
            "prompt_id": "p",
            "model": "m",
            "completion": f"c{i}",
            "sample_index": i,
        }
        for i in range(start, start + n)
    ]


def install_kill_hook(kill_at: int | None) -> list[int]:
    """Wrap the file-changing calls; returns the live step counter."""
    import pyarrow.parquet as pq

    from r1harness.store import shards

    count = [0]

    def wrap(fn):
        def step(*args, **kwargs):
            count[0] += 1
            if kill_at is not None and count[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return fn(*args, **kwargs)

        return step

    for name in ("rename", "replace", "link", "symlink", "mkdir", "unlink", "rmdir"):
        setattr(os, name, wrap(getattr(os, name)))
    shutil.rmtree = wrap(shutil.rmtree)
    pq.write_table = wrap(pq.write_table)
    shards.pq.write_table = pq.write_table
    return count


def run_op(path: str, op: str, args: list, kill_at: int | None) -> int:
    """Open the store, then run `op` killed before its step `kill_at`; returns the steps it took."""
    from r1harness.store import Store

    store = Store.open(path)
    if op == "append":
        data = rows(int(args[0]), int(args[1]))
        count = install_kill_hook(kill_at)
        store.append("rollouts", data)
    elif op == "compact":
        count = install_kill_hook(kill_at)
        store.compact("rollouts", grace_s=float(args[0]))
    else:
        raise SystemExit(f"unknown op {op!r}")
    return count[0]


def main(argv: list[str]) -> int:
    path, op, *rest = argv
    n_args = 2 if op == "append" else 1
    kill_at = int(rest[n_args]) if len(rest) > n_args else None
    print(f"steps={run_op(path, op, rest[:n_args], kill_at)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
