"""`r1h ui` page times on a large store: builds one (default 4M rollouts + their rewards, the same rows as
store_scale.py, spread over runs and training steps), serves it with uvicorn, and times every page over
HTTP (median of --repeats, after one warm-up), next to the time of a bare `store.sql("SELECT 1")` in the
same run: that is the fixed cost of one query (views over every shard, the catalog snapshot).

    .venv/bin/python benchmarks/ui_pages.py                 # 4M rollouts (a few minutes to build)
    .venv/bin/python benchmarks/ui_pages.py --rows 400000   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pyarrow as pa

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]
from store_scale import batches, prompts_table  # noqa: E402
from ui_helpers import Server, get  # noqa: E402

RUNS = 8
STEPS = 100


def build(root: Path, rows: int, batch: int):
    from r1harness.curate import audit
    from r1harness.store import Store

    store = Store.open(root)
    store.append("prompts", prompts_table(rows))
    store.catalog_insert(
        "runs",
        [
            {"run_id": f"run-{i}", "kind": "grpo", "name": f"bench {i}", "status": "finished"}
            for i in range(RUNS)
        ],
    )
    done = 0
    for rollouts, rewards in batches(rows, batch):
        n = rollouts.num_rows
        index = pa.array(range(done, done + n))
        run = pa.array([f"run-{(i // (rows // RUNS + 1))}" for i in range(done, done + n)])
        step = pa.array(
            [(i % (rows // RUNS + 1)) * STEPS // (rows // RUNS + 1) + 1 for i in range(done, done + n)]
        )
        store.append("rollouts", rollouts.append_column("run_id", run).append_column("step", step))
        store.append("rewards", rewards)
        done += n
        del index
    first = store.sql("SELECT rollout_id, prompt_id FROM rollouts LIMIT 300").to_dicts()
    store.append(
        "sft_samples",
        [
            {"sample_id": f"s{i}", "set_name": "audit", "set_version": 1, "rollout_id": r["rollout_id"],
             "prompt_id": r["prompt_id"], "messages": json.dumps([{"role": "assistant", "content": "x"}])}
            for i, r in enumerate(first)
        ],
    )  # fmt: skip
    store.catalog_insert("sets", [{"name": "audit", "version": 1, "status": "ready", "n_samples": 300}])
    return store, first[0], audit.Queue(set_ref="audit@v1").name


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--batch", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store, one, queue = build(Path(tmp) / "store", args.rows, args.batch)
        print(f"built {args.rows:,} rollouts in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        q = urllib.parse.quote(queue)
        pages = {
            "runs": "/runs",
            "run curves": "/runs/run-3",
            "rollouts, first page": "/rollouts",
            "rollouts, page 200": "/rollouts?page_no=200",
            "rollouts of a run, step": "/rollouts?run=run-3&step=50",
            "rollouts, verdict filter": "/rollouts?verdict=correct",
            "rollouts, SQL condition": "/rollouts?where=" + urllib.parse.quote("r.completion_tokens > 3990"),
            "rollout": f"/rollouts/{one['rollout_id']}",
            "prompt": f"/prompts/{one['prompt_id']}",
            "leaderboard": "/leaderboard",
            "problems of a run": "/runs/run-3/problems",
            "audit queue (300-trace set)": f"/audit/queue?queue={q}&annotator=bench",
        }
        with Server(store) as server:
            t0 = time.perf_counter()
            get(server.url + "/runs")  # the first page builds the id lookup (ui/lookup.py)
            first = time.perf_counter() - t0
            base = _median(lambda: store.sql("SELECT 1"), args.repeats)
            print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
            print(f"{'page':34s} {'median ms':>10s} {'x bare query':>12s}")
            print(f"{'bare store.sql(SELECT 1)':34s} {base * 1000:10.0f} {1.0:12.1f}")
            print(f"{'first page (builds the lookup)':34s} {first * 1000:10.0f} {first / base:12.1f}")
            for name, path in pages.items():
                status, _ = get(server.url + path)
                assert status == 200, (name, status)
                took = _median(lambda p=path: get(server.url + p), args.repeats)
                flag = "" if took < 0.3 else "  (over 300 ms)"
                print(f"{name:34s} {took * 1000:10.0f} {took / base:12.1f}{flag}")
            print(f"load average after: {os.getloadavg()[0]:.2f}")


def _median(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


if __name__ == "__main__":
    main()
