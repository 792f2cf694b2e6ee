"""Store at scale: 4M rollouts (+ their rewards) appended in batches, pass@1 GROUP BY, filtered export.

Compared with what users do today — pandas over JSONL files — in the same run. Each side runs in its own
subprocess so peak RSS is measured per side. The pandas side can run on fewer rows (--baseline-rows) because
it needs several times the memory; figures are then compared as per-row rates, and the report says so.

    .venv/bin/python benchmarks/store_scale.py                       # 4M rows, pandas on 1M
    .venv/bin/python benchmarks/store_scale.py --rows 400000 --baseline-rows 400000   # quick look
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

import numpy as np
import pyarrow as pa

MODELS = ["r1-distill-1.5b", "r1-distill-7b", "qwen2.5-math-7b", "r1-zero-tiny", "r1-tiny-sft"]
DATASETS = ["math500", "aime24", "gsm8k", "math_train", "amc23"]
PER_PROMPT = 64
TEXT_CHARS = 300
WORDS = (
    "so the answer is wait let me check we have thus x y equals sum of two three four five "
    "therefore compute factor divide multiply verify hmm first second then note that boxed"
).split()


def make_corpus(seed: int, chars: int = 1 << 24) -> bytes:
    rng = np.random.default_rng(seed)
    return " ".join(rng.choice(WORDS, size=chars // 5)).encode()[:chars]


def text_buffer(corpus: bytes, size: int, rng: np.random.Generator) -> bytes:
    """`size` bytes of text made of random slices of the corpus (so batches differ)."""
    parts, have = [], 0
    while have < size:
        start = int(rng.integers(0, len(corpus) // 2))
        piece = corpus[start : start + min(size - have, len(corpus) - start)]
        parts.append(piece)
        have += len(piece)
    return b"".join(parts)


def make_batch(start: int, n: int, corpus: bytes, rng: np.random.Generator) -> tuple[pa.Table, pa.Table]:
    """n rollouts (rows start..start+n) and one math reward per rollout."""
    idx = np.arange(start, start + n)
    prompt_no = idx // PER_PROMPT
    model = np.array(MODELS)[(prompt_no // 7) % len(MODELS)]
    data = pa.py_buffer(text_buffer(corpus, n * TEXT_CHARS, rng))
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * TEXT_CHARS).tobytes())
    text = pa.StringArray.from_buffers(n, offsets, data)
    rollout_ids = pa.array([os.urandom(16).hex() for _ in range(n)], pa.string())
    prompt_ids = pa.array([f"p{p:08d}" for p in prompt_no], pa.string())
    rollouts = pa.table(
        {
            "rollout_id": rollout_ids,
            "prompt_id": prompt_ids,
            "model": pa.array(model, pa.string()),
            "completion": text,
            "sample_index": pa.array(idx % PER_PROMPT, pa.int32()),
            "completion_tokens": pa.array(rng.integers(50, 4000, n), pa.int32()),
            "stage": pa.array(["eval"] * n),
        }
    )
    correct = rng.random(n) < 0.5
    rewards = pa.table(
        {
            "reward_id": pa.array([os.urandom(16).hex() for _ in range(n)], pa.string()),
            "rollout_id": rollout_ids,
            "verifier": pa.array(["math"] * n),
            "verifier_version": pa.array(["1"] * n),
            "status": pa.array(np.where(correct, "correct", "wrong")),
            "score": pa.array(correct.astype(float)),
        }
    )
    return rollouts, rewards


def prompts_table(n_rows: int) -> pa.Table:
    n = (n_rows + PER_PROMPT - 1) // PER_PROMPT
    return pa.table(
        {
            "prompt_id": [f"p{p:08d}" for p in range(n)],
            "dataset": [DATASETS[p % len(DATASETS)] for p in range(n)],
            "problem": [f"problem {p}" for p in range(n)],
        }
    )


def batches(rows: int, batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    corpus = make_corpus(seed)
    for start in range(0, rows, batch):
        yield make_batch(start, min(batch, rows - start), corpus, rng)


PASS1_SQL = """SELECT r.model, p.dataset, avg(w.score) AS pass_at_1, count(*) AS n
FROM rollouts r JOIN rewards w USING (rollout_id) JOIN prompts p USING (prompt_id)
WHERE w.verifier = 'math' GROUP BY 1, 2 ORDER BY 1, 2"""
EXPORT_WHERE = "w.score = 1 AND r.model IN ('r1-distill-7b', 'qwen2.5-math-7b')"


def run_store(rows: int, batch: int, workdir: str) -> dict:
    from r1harness.store import Store

    store = Store.open(os.path.join(workdir, "store"))
    store.append("prompts", prompts_table(rows))
    gen_s = append_s = 0.0
    t = time.perf_counter()
    for rollouts, rewards in batches(rows, batch):
        t0 = time.perf_counter()
        gen_s += t0 - t
        store.append("rollouts", rollouts)
        store.append("rewards", rewards)
        t = time.perf_counter()
        append_s += t - t0
    rss_after_append = _peak_rss_mb()
    t0 = time.perf_counter()
    pass1 = store.sql(PASS1_SQL)
    groupby_s = time.perf_counter() - t0
    rss_after_groupby = _peak_rss_mb()
    out = os.path.join(workdir, "export.parquet").replace("'", "''")
    t0 = time.perf_counter()
    with store.reader() as con:
        con.execute(
            f"COPY (SELECT r.rollout_id, r.prompt_id, r.model, r.completion FROM rollouts r "
            f"JOIN rewards w USING (rollout_id) WHERE {EXPORT_WHERE}) TO '{out}' "
            f"(FORMAT parquet, COMPRESSION zstd)"
        )
    export_s = time.perf_counter() - t0
    exported = store.sql(f"SELECT count(*) AS n FROM read_parquet('{out}')")["n"][0]
    disk = sum(
        f.stat().st_size
        for t in (store.root / "tables").iterdir()  # one link per table: rglob starts inside it
        for f in t.rglob("*.parquet")
    )
    return {
        "side": "store",
        "rows": rows,
        "gen_s": gen_s,
        "append_s": append_s,
        "groupby_s": groupby_s,
        "export_s": export_s,
        "exported_rows": int(exported),
        "disk_bytes": disk,
        "pass1": pass1.to_dicts(),
        "peak_rss_mb": _peak_rss_mb(),
        "peak_rss_mb_after_append": rss_after_append,
        "peak_rss_mb_after_groupby": rss_after_groupby,
    }


def run_pandas(rows: int, batch: int, workdir: str) -> dict:
    import pandas as pd

    d = os.path.join(workdir, "jsonl")
    os.makedirs(d)
    prompts = prompts_table(rows).to_pandas()
    gen_s = append_s = 0.0
    t = time.perf_counter()
    for i, (rollouts, rewards) in enumerate(batches(rows, batch)):
        t0 = time.perf_counter()
        gen_s += t0 - t
        rollouts.to_pandas().to_json(os.path.join(d, f"rollouts-{i:04d}.jsonl"), orient="records", lines=True)
        rewards.to_pandas().to_json(os.path.join(d, f"rewards-{i:04d}.jsonl"), orient="records", lines=True)
        t = time.perf_counter()
        append_s += t - t0

    def load(kind):
        files = sorted(f for f in os.listdir(d) if f.startswith(kind))
        return pd.concat([pd.read_json(os.path.join(d, f), lines=True) for f in files], ignore_index=True)

    t0 = time.perf_counter()
    ro, rw = load("rollouts"), load("rewards")
    merged = ro.merge(rw[rw.verifier == "math"][["rollout_id", "score"]], on="rollout_id").merge(
        prompts[["prompt_id", "dataset"]], on="prompt_id"
    )
    pass1 = merged.groupby(["model", "dataset"])["score"].agg(["mean", "count"]).reset_index()
    groupby_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sel = merged[(merged.score == 1) & merged.model.isin(["r1-distill-7b", "qwen2.5-math-7b"])]
    sel[["rollout_id", "prompt_id", "model", "completion"]].to_parquet(
        os.path.join(workdir, "export.parquet")
    )
    export_s = time.perf_counter() - t0
    disk = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    return {
        "side": "pandas+jsonl",
        "rows": rows,
        "gen_s": gen_s,
        "append_s": append_s,
        "groupby_s": groupby_s,
        "export_s": export_s,
        "exported_rows": int(len(sel)),
        "disk_bytes": disk,
        "pass1": pass1.rename(columns={"mean": "pass_at_1", "count": "n"}).to_dict("records"),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(store: dict, base: dict) -> None:
    scale = store["rows"] / base["rows"]  # compare per-row rates when the baseline ran on fewer rows

    def rate(side, key):
        return side["rows"] / side[key]

    print(
        f"\nstore_scale: {store['rows']:,} rollouts + {store['rows']:,} rewards (store); "
        f"{base['rows']:,} + {base['rows']:,} (pandas over JSONL)"
    )
    print(f"{'figure':34} {'store':>14} {'pandas+jsonl':>14} {'ratio':>8}")
    appended = 2 * store["rows"] / store["append_s"]
    base_appended = 2 * base["rows"] / base["append_s"]
    print(
        f"{'append rows/s (rollouts+rewards)':34} {appended:>14,.0f} {base_appended:>14,.0f} "
        f"{appended / base_appended:>7.1f}x"
    )
    for key, label in (("groupby_s", "pass@1 GROUP BY s"), ("export_s", "filtered export s")):
        b_scaled = base[key] * scale
        print(
            f"{label:34} {store[key]:>14.2f} {b_scaled:>14.2f} {b_scaled / store[key]:>7.1f}x"
            + ("  (pandas scaled to the same rows)" if scale != 1 else "")
        )
    total = store["append_s"] + store["groupby_s"] + store["export_s"]
    base_total = (base["append_s"] + base["groupby_s"] + base["export_s"]) * scale
    print(f"{'end to end s':34} {total:>14.2f} {base_total:>14.2f} {base_total / total:>7.1f}x")
    print(f"{'exported rows':34} {store['exported_rows']:>14,} {base['exported_rows']:>14,}")
    print(f"{'peak RSS MB':34} {store['peak_rss_mb']:>14,.0f} {base['peak_rss_mb']:>14,.0f}")
    print(
        f"{'size on disk MB':34} {store['disk_bytes'] / 2**20:>14,.0f} {base['disk_bytes'] / 2**20:>14,.0f}"
    )
    print(
        f"(synthetic data generation, not counted: store {store['gen_s']:.1f}s, pandas {base['gen_s']:.1f}s)"
    )
    if store["rows"] == base["rows"]:
        a = {(r["model"], r["dataset"]): round(r["pass_at_1"], 9) for r in store["pass1"]}
        b = {(r["model"], r["dataset"]): round(r["pass_at_1"], 9) for r in base["pass1"]}
        print(f"pass@1 tables identical: {a == b}")
    print(
        json.dumps(
            {
                "store": {k: v for k, v in store.items() if k != "pass1"},
                "pandas": {k: v for k, v in base.items() if k != "pass1"},
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=4_000_000)
    ap.add_argument("--baseline-rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=250_000)
    ap.add_argument("--phase", choices=["store", "pandas"], help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        fn = run_store if args.phase == "store" else run_pandas
        print(json.dumps(fn(args.rows, args.batch, args.workdir)))
        return
    results = {}
    for phase, rows in (("store", args.rows), ("pandas", args.baseline_rows)):
        workdir = tempfile.mkdtemp(prefix=f"store_scale_{phase}_")
        try:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--phase",
                    phase,
                    "--rows",
                    str(rows),
                    "--batch",
                    str(args.batch),
                    "--workdir",
                    workdir,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            results[phase] = json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results["store"], results["pandas"])


if __name__ == "__main__":
    main()
