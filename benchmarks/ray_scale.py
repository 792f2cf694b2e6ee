"""The Ray executor against the local one, on this machine: math verification and tiny-model generation.

Measured in one run, each configuration in its own process (so each driver's peak RSS is its own):

  local     the local executor (r1h verify / generate_rollouts) with one verifier process / one torch thread
            (verification: unique (answer, gold) pairs; generation: a 4-layer tiny model, 500 prompts x 4
            samples, up to 48 tokens each)
  ray 1x1   a Ray cluster of one node with 1 CPU (ray.cluster_utils.Cluster: real raylets): one actor
  ray 2x1   two nodes with 1 CPU each: two actors

Figures, as ratios from this run: Ray's overhead against local at the same worker count (ray 1x1 / local,
target <= 1.10), the two-node speedup (ray 1x1 / ray 2x1, target >= 1.7; two cores are the most this
machine can show, and only when nothing else runs), and the Ray driver's peak RSS at two sizes (flat: the
driver holds chunk names and counts, never ids or rows). The load average is printed beside every figure:
on a shared machine it bounds what the ratios can mean.

    .venv/bin/python benchmarks/ray_scale.py                                # 50,000 verified, 2,000 generated
    .venv/bin/python benchmarks/ray_scale.py --verify 5000 --generate 400   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def math_store(root: Path, n: int):
    """n math rollouts, one per problem, each a few sentences of reasoning and a boxed answer: right as
    written, right in another form, or wrong. No two (answer, gold) pairs alike, so the verifier's cache
    helps no configuration (a local run would otherwise hit it more than chunks spread over workers)."""
    from r1harness.store import Store
    from r1harness.store.ids import content_id, prompt_id

    store = Store.open(root)
    problems = n
    prompts = [
        {
            "prompt_id": prompt_id("bench", f"q{i}"),
            "dataset": "bench",
            "problem": f"Compute {i} * 7 / 7.",
            "answer": str(i + 1000),
            "verifier": "math",
        }
        for i in range(problems)
    ]
    store.append("prompts", prompts)
    rows = []
    for j in range(n):
        p = prompts[j % problems]
        gold = int(p["answer"])
        answer = (str(gold), f"\\frac{{{2 * gold}}}{{2}}", str(gold + 1 + j))[j % 3]
        text = (
            f"Let me think. We have {gold} and multiply by {7 + j % 5}, then divide back. "
            f"Checking the arithmetic once more step {j}. So the answer is \\boxed{{{answer}}}."
        )
        rows.append(
            {
                "rollout_id": content_id("bench", j),
                "prompt_id": p["prompt_id"],
                "model": "m",
                "completion": text,
            }
        )
        if len(rows) == 20_000:
            store.append("rollouts", rows)
            rows = []
    if rows:
        store.append("rollouts", rows)
    return store


def prompt_store(root: Path, n_prompts: int):
    from r1harness.store import Store
    from r1harness.store.ids import prompt_id

    store = Store.open(root)
    store.append(
        "prompts",
        [
            {
                "prompt_id": prompt_id("gen", f"q{i}"),
                "dataset": "gen",
                "problem": f"What is {i} plus {i}?",
                "answer": str(2 * i),
                "verifier": "math",
            }
            for i in range(n_prompts)
        ],
    )
    return store


def one(args) -> dict:
    """One configuration, in this process (the parent runs each in its own)."""
    from ray.cluster_utils import Cluster

    from r1harness.executors import ExecutorConfig, generate_on_ray, verify_on_ray

    work = Path(args.work)
    cluster = None
    if args.executor != "local":
        nodes = int(args.executor[0])
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=1)
        import ray

        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    try:
        if args.one == "verify":
            store = math_store(work / "store", args.n)
            began = time.perf_counter()
            if cluster is None:
                from r1harness.scoring.verify_store import verify_store

                out = verify_store(store, ["math"], options={"math": {"workers": 1}}).to_dict()
            else:
                config = ExecutorConfig("ray", address=cluster.address, chunk_size=args.chunk_size)
                out = verify_on_ray(
                    store, ["math"], config, run_id=None, options={"math": {"workers": 1}}, progress=False
                )
            seconds = time.perf_counter() - began
            done = store.count("rewards")
        else:
            store = prompt_store(work / "store", args.n // 4)
            spec = {
                "name": "transformers",
                "model": args.model,
                "options": {"device": "cpu", "batch_size": 16},
            }
            sampling = {"temperature": 1.0, "top_p": 1.0, "max_tokens": args.gen_tokens}
            began = time.perf_counter()
            if cluster is None:
                from r1harness.generate import SamplingParams, get_backend
                from r1harness.generate.runner import generate_rollouts

                backend = get_backend("transformers", args.model, device="cpu", batch_size=16)
                prompts = store.sql("SELECT prompt_id, problem, metadata FROM prompts ORDER BY prompt_id")
                generate_rollouts(
                    store,
                    backend,
                    prompts,
                    template="plain@1",
                    progress=False,
                    sampling=SamplingParams(**sampling),
                    n=4,
                    seed=0,
                    batch_size=64,
                )
            else:
                config = ExecutorConfig("ray", address=cluster.address, chunk_size=args.chunk_size)
                generate_on_ray(
                    store,
                    spec,
                    config,
                    prompts_where="TRUE",
                    template="plain@1",
                    sampling=sampling,
                    n=4,
                    seed=0,
                    batch_size=64,
                    progress=False,
                )
            seconds = time.perf_counter() - began
            done = store.count("rollouts")
            out = {}
    finally:
        if cluster is not None:
            import ray

            session = Path(cluster.head_node.get_session_dir_path())
            ray.shutdown()
            cluster.shutdown()
            shutil.rmtree(session, ignore_errors=True)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rows": done, "driver_peak_rss_mb": rss_mb, "chunks": out.get("chunks")}


def run_one(task: str, executor: str, n: int, work: Path, model: str, args) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        __file__,
        "--one",
        task,
        "--executor",
        executor,
        "--n",
        str(n),
        "--work",
        str(work),
        "--model",
        model,
        "--chunk-size",
        str(args.chunk_size),
        "--gen-tokens",
        str(args.gen_tokens),
    ]
    before = load()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode:
        raise SystemExit(f"{task} {executor} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    shutil.rmtree(work, ignore_errors=True)
    return result | {"load_before": before, "load_after": load()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--verify", type=int, default=50_000, help="math rollouts verified (default 50,000)")
    parser.add_argument("--generate", type=int, default=2_000, help="rollouts generated (default 2,000)")
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--gen-tokens", type=int, default=48, help="max tokens per generated rollout")
    parser.add_argument("--out", default=None, help="also write the figures as JSON here")
    parser.add_argument("--one", choices=("verify", "generate"), help=argparse.SUPPRESS)
    parser.add_argument("--executor", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--work", default="", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args)))
        return 0

    from r1harness.train.tiny_model import init_tiny_model

    tmp = Path(tempfile.mkdtemp(prefix="r1h-ray-scale-"))
    try:
        model = str(
            init_tiny_model(
                tmp / "tiny",
                layers=4,
                hidden=128,
                heads=4,
                vocab_size=300,
                corpus=[f"What is {i} plus {i}? {2 * i}" for i in range(300)],
            )
        )
        rows = {}
        for task, n in (("verify", args.verify), ("generate", args.generate)):
            for executor in ("local", "1x1", "2x1"):
                rows[(task, executor)] = r = run_one(task, executor, n, tmp / "w", model, args)
                print(
                    f"{task:8} {executor:5} {n:>7,} rows: {r['seconds']:8.1f} s  "
                    f"{r['rows'] / r['seconds']:8.1f}/s"
                    f"  driver RSS {r['driver_peak_rss_mb']:6.0f} MB  load {r['load_before']} -> "
                    f"{r['load_after']}",
                    flush=True,
                )
        small = max(1000, args.verify // 5)
        rows[("verify-small", "2x1")] = r = run_one("verify", "2x1", small, tmp / "w", model, args)
        print(
            f"verify   2x1   {small:>7,} rows: {r['seconds']:8.1f} s  driver RSS "
            f"{r['driver_peak_rss_mb']:6.0f} MB  load {r['load_before']} -> {r['load_after']}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    figures = {}
    for task in ("verify", "generate"):
        local, one_node, two = (rows[(task, e)]["seconds"] for e in ("local", "1x1", "2x1"))
        figures[f"{task}: ray 1x1 / local (overhead, target <= 1.10)"] = one_node / local
        figures[f"{task}: ray 1x1 / ray 2x1 (two-node speedup, target >= 1.7)"] = one_node / two
    big, little = rows[("verify", "2x1")], rows[("verify-small", "2x1")]
    figures[f"verify: driver peak RSS {args.verify:,} / {small:,} rollouts (flat: ~1.0)"] = (
        big["driver_peak_rss_mb"] / little["driver_peak_rss_mb"]
    )
    print(f"\nfigures (load average now {load()}; 2 cores):")
    for name, value in figures.items():
        print(f"  {name}: {value:.2f}")
    if args.out:
        Path(args.out).write_text(
            json.dumps({"figures": figures, "runs": {f"{t} {e}": r for (t, e), r in rows.items()}}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
