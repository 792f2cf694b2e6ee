"""Curation at R1 scale: build the 600k + 200k `r1` set from 4M reasoning + 1M general rollouts, vs pandas.

    .venv/bin/python benchmarks/curate_scale.py --scale 0.02            # 80k + 20k rollouts, both pipelines
    .venv/bin/python benchmarks/curate_scale.py --scale 1 --no-baseline # the full size, ours only

A synthetic store is generated in streamed chunks (~2,000-character CoTs; ~30% wrong, 5% truncated, 4% mixed
language, 2% code in the CoT, 1% long paragraphs, 1% degenerate repetition, 2% exact and 1% near duplicate
completions, real AIME/MATH-500 problems planted among the prompts) plus general chat samples. Then, each
in its
own process so peak RSS is its own:
  ours:     `build_set(store, r1 recipe scaled)` + `export_set(..., "parquet")`;
  baseline: the way it is done today — pandas, the per-row readability verifiers via DataFrame.apply,
            datasketch MinHashLSH, open-r1-style word 8-gram decontamination in Python, pandas to_parquet.
Prints wall time, peak RSS and rows/s per stage, and the speed-up of ours over the baseline (same run, same
store, same machine).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from r1harness.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
SHARED = data_dir()
CHUNK = 200_000


# --------------------------------------------------------------------------------------------- generate
def _pools(rng):
    import numpy as np

    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["".join(rng.choice(letters, size=rng.integers(2, 9))) for _ in range(3000)]
    sentences = [
        " ".join(rng.choice(vocab, size=rng.integers(12, 22))).capitalize() + "." for _ in range(20000)
    ]
    zh = ["我们需要计算这个问题的答案然后检查一下结果是否正确", "所以答案应该是这个数字我们再验证一次"]
    return vocab, sentences, zh


def _benchmark_problems() -> list[str]:
    out = []
    for name in ("aime24/aime24.jsonl", "math500/math500.jsonl"):
        with open(SHARED / name, encoding="utf-8") as fh:
            out += [json.loads(line)["problem"] for line in fh]
    return out


def _reasoning_chunk(start: int, n: int, pools, bench: list[str], seed: int):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    _, sentences, zh = pools
    sent = pl.Series(sentences)
    rows = np.arange(start, start + n)
    prompt_no = rows // 4
    picks = pl.DataFrame({f"s{j}": sent.gather(rng.integers(0, len(sent), n)) for j in range(17)})
    paras = [pl.concat_str([pl.col(f"s{4 * i + j}") for j in range(4)], separator=" ") for i in range(4)]
    body = picks.select(pl.concat_str(paras, separator="\n\n")).to_series()
    u = rng.random(n)
    kind = np.select(
        [u < 0.05, u < 0.09, u < 0.11, u < 0.12, u < 0.13],
        ["trunc", "mixed", "code", "longpar", "repeat"],
        "ok",
    )
    df = pl.DataFrame(
        {
            "row": rows,
            "prompt_no": prompt_no,
            "body": body,
            "kind": kind,
            "extra": picks["s16"],
            "extra2": picks["s0"].shift(1).fill_null(""),
            "zh": pl.Series(zh).gather(rng.integers(0, 2, n)),
        }
    )
    body_expr = (
        pl.when(pl.col("kind") == "mixed")
        .then(pl.col("body") + " " + pl.col("zh"))
        .when(pl.col("kind") == "code")
        .then(pl.col("body") + "\n```python\nprint(x)\n```")
        .when(pl.col("kind") == "longpar")
        .then(pl.col("body").str.replace_all("\n\n", " ") + " " + pl.col("body").str.replace_all("\n\n", " "))
        .when(pl.col("kind") == "repeat")
        .then(pl.col("extra").repeat_by(30).list.join(" "))
        .otherwise(pl.col("body"))
    )
    answer = pl.format("\nThe answer is \\boxed{{{}}}.", pl.col("prompt_no") % 1000)
    completion = (
        pl.when(pl.col("kind") == "trunc")
        .then(pl.lit("<think>\n") + pl.col("body"))
        .otherwise(pl.lit("<think>\n") + body_expr + pl.lit("\n</think>") + answer)
    )
    df = df.with_columns(completion=completion)
    # 2% exact duplicates, 1% near duplicates of the previous row's completion (different prompts)
    dup = rng.random(n)
    prev = df["completion"].shift(4).fill_null("")
    df = df.with_columns(
        completion=pl.when(pl.Series(dup < 0.02))
        .then(prev)
        .when(pl.Series(dup < 0.03))
        .then(prev.str.replace(" ", " indeed "))
        .otherwise(pl.col("completion"))
    )
    rollouts = df.select(
        rollout_id=pl.format("r{}", "row"),
        prompt_id=pl.format("p{}", "prompt_no"),
        model=pl.lit("synth-rl"),
        stage=pl.lit("generate"),
        sample_index=(pl.col("row") % 4).cast(pl.Int32),
        completion="completion",
        finish_reason=pl.when(pl.col("kind") == "trunc").then(pl.lit("length")).otherwise(pl.lit("stop")),
    )
    correct = pl.Series(rng.random(n) >= 0.30)
    rewards = rollouts.select(
        reward_id=pl.format("w{}", "rollout_id"),
        rollout_id="rollout_id",
        verifier=pl.lit("math"),
        verifier_version=pl.lit("1"),
        status=pl.when(correct).then(pl.lit("correct")).otherwise(pl.lit("wrong")),
        score=correct.cast(pl.Float64),
    )
    first = df.filter(pl.col("row") % 4 == 0)
    planted = pl.Series(rng.random(first.height) < 0.001)
    bench_text = pl.Series(bench).gather(rng.integers(0, len(bench), first.height))
    prompts = first.select(
        prompt_id=pl.format("p{}", "prompt_no"),
        dataset=pl.lit("synth_math"),
        split=pl.lit("train"),
        domain=pl.lit("math"),
        problem=pl.when(planted)
        .then(pl.lit("Solve: ") + bench_text)
        .otherwise(pl.format("Problem {}: ", "prompt_no") + pl.col("extra") + " " + pl.col("extra2")),
    )
    return prompts, rollouts, rewards


def _general_chunk(start: int, n: int, pools, seed: int):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    _, sentences, _ = pools
    sent = pl.Series(sentences)
    rows = np.arange(start, start + n)
    simple = pl.Series(rng.random(n) < 0.2)
    picks = pl.DataFrame({f"s{j}": sent.gather(rng.integers(0, len(sent), n)) for j in range(7)})
    qa = picks.select(
        q=pl.concat_str(["s0", "s1"], separator=" "),
        a=pl.concat_str([f"s{j}" for j in range(2, 7)], separator=" "),
    )
    df = pl.DataFrame({"row": rows, "q": qa["q"], "a": qa["a"], "simple": simple})
    problem = (
        pl.when(pl.col("simple"))
        .then(pl.format("hello number {}", "row"))
        .otherwise(pl.format("Question {}: ", "row") + pl.col("q"))
    )
    df = df.with_columns(problem=problem)
    prompts = df.select(
        prompt_id=pl.format("g{}", "row"),
        dataset=pl.lit("synth_chat"),
        split=pl.lit("train"),
        domain=pl.lit("general"),
        problem="problem",
    )
    rollouts = df.select(
        rollout_id=pl.format("c{}", "row"),
        prompt_id=pl.format("g{}", "row"),
        model=pl.lit("synth-v3"),
        stage=pl.lit("import"),
        sample_index=pl.lit(0, pl.Int32),
        finish_reason=pl.lit("stop"),
        completion=pl.when(pl.col("simple"))
        .then(pl.lit("<think>trivial</think>") + pl.col("a"))
        .otherwise(pl.col("a")),
    )
    return prompts, rollouts


def generate(path: Path, scale: float) -> dict:
    import numpy as np

    from r1harness.store import Store

    store = Store.open(path)
    pools = _pools(np.random.default_rng(0))
    bench = _benchmark_problems()
    n_reason, n_general = int(4_000_000 * scale), int(1_000_000 * scale)
    t = time.perf_counter()
    for i, start in enumerate(range(0, n_reason, CHUNK)):
        prompts, rollouts, rewards = _reasoning_chunk(
            start, min(CHUNK, n_reason - start), pools, bench, 100 + i
        )
        store.append("prompts", prompts, skip_existing=False)
        store.append("rollouts", rollouts, skip_existing=False)
        store.append("rewards", rewards, skip_existing=False)
    for i, start in enumerate(range(0, n_general, CHUNK)):
        prompts, rollouts = _general_chunk(start, min(CHUNK, n_general - start), pools, 900 + i)
        store.append("prompts", prompts, skip_existing=False)
        store.append("rollouts", rollouts, skip_existing=False)
    return {
        "reasoning_rollouts": n_reason,
        "general_rollouts": n_general,
        "generate_s": round(time.perf_counter() - t, 1),
    }


def scaled_recipe(scale: float) -> dict:
    from r1harness.curate import load_recipe

    raw = load_recipe("r1").to_dict()
    raw["name"] = "r1bench"
    raw["quotas"]["reasoning"]["count"] = int(600_000 * scale)
    raw["quotas"]["general"]["count"] = int(200_000 * scale)
    return raw


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


# --------------------------------------------------------------------------------------------- ours
def run_ours(path: Path, scale: float, out: Path) -> dict:
    from r1harness.curate import build_set, recipe_from_dict
    from r1harness.curate.export import export_set
    from r1harness.store import Store

    store = Store.open(path)
    t0 = time.perf_counter()
    result = build_set(store, recipe_from_dict(scaled_recipe(scale)))
    t1 = time.perf_counter()
    _, n = export_set(store, result.ref, "parquet", out)
    t2 = time.perf_counter()
    stages = dict(result.funnel["timings_s"])
    stages["export_parquet"] = round(t2 - t1, 3)
    return {
        "total_s": round(t2 - t0, 2),
        "stages_s": stages,
        "n_samples": result.n_samples,
        "exported": n,
        "quotas": result.funnel["quotas"],
        "peak_rss_gb": round(_peak_rss_gb(), 2),
        "peak_rss_gb_after_stage": result.funnel.get("peak_rss_gb"),
        "decontam_hits": result.funnel.get("decontamination", {}).get("hits"),
    }


# --------------------------------------------------------------------------------------------- baseline
def run_baseline(path: Path, scale: float, out: Path) -> dict:
    """Today's way: pandas + per-row verifier calls + datasketch + a Python n-gram set, as in open-r1."""
    import pandas as pd
    from datasketch import MinHash, MinHashLSH

    from r1harness.curate.decontam import benchmark_problems

    recipe = scaled_recipe(scale)
    stages, t = {}, time.perf_counter()

    def lap(name):
        nonlocal t
        now = time.perf_counter()
        stages[name] = round(now - t, 3)
        t = now

    tables = {
        n: pd.read_parquet(sorted(str(p) for p in (path / "tables" / n).glob("*/*.parquet")))
        for n in ("rollouts", "prompts", "rewards")
    }
    df = tables["rollouts"].merge(tables["prompts"][["prompt_id", "domain", "problem"]], on="prompt_id")
    df = df.merge(tables["rewards"][["rollout_id", "status"]], on="rollout_id", how="left")
    del tables
    lap("load")
    general = df["domain"] == "general"
    df = df[general | (df["status"] == "correct")]
    checks = _row_checks(recipe)
    ok = df.apply(
        lambda r: all(
            check(r["completion"], r["finish_reason"], r["domain"] == "general") for check in checks
        ),
        axis=1,
    )
    df = df[ok & (df["completion"].str.len() <= recipe["filters"]["length"]["max_chars"])]
    lap("filters")
    df["norm"] = df["completion"].str.lower().str.split().str.join(" ")
    df = df.drop_duplicates("norm").sort_values("rollout_id")
    df = df.groupby("prompt_id", sort=False).head(1)
    lap("exact_dedup_cap")
    lsh, keep = MinHashLSH(threshold=0.8, num_perm=64), []
    for rid, text in zip(df["rollout_id"], df["completion"]):
        words = text.lower().split()
        m = MinHash(num_perm=64)
        m.update_batch([" ".join(words[i : i + 5]).encode() for i in range(max(1, len(words) - 4))])
        if lsh.query(m):
            keep.append(False)
            continue
        lsh.insert(rid, m)
        keep.append(True)
    df = df[keep]
    lap("near_dedup")
    grams = set()
    for problems in benchmark_problems("registered").values():
        for p in problems:
            w = p.lower().split()
            grams.update(" ".join(w[i : i + 8]) for i in range(len(w) - 7))

    def contaminated(text: str) -> bool:
        w = text.lower().split()
        return any(" ".join(w[i : i + 8]) in grams for i in range(len(w) - 7))

    df = df[[not (contaminated(p) or contaminated(c)) for p, c in zip(df["problem"], df["completion"])]]
    lap("decontam")
    parts = [
        df[df["domain"] != "general"].head(recipe["quotas"]["reasoning"]["count"]),
        df[df["domain"] == "general"].head(recipe["quotas"]["general"]["count"]),
    ]
    sel = pd.concat(parts)
    sel["messages"] = [
        [{"role": "user", "content": p}, {"role": "assistant", "content": c}]
        for p, c in zip(sel["problem"], sel["completion"])
    ]
    sel[["messages", "rollout_id", "prompt_id", "domain"]].to_parquet(out)
    lap("quota_export_parquet")
    return {
        "total_s": round(sum(stages.values()), 2),
        "stages_s": stages,
        "n_samples": len(sel),
        "peak_rss_gb": round(_peak_rss_gb(), 2),
    }


def _row_checks(recipe: dict) -> list:
    """The recipe's readability filters as per-row calls of the verifier functions (what users write)."""
    from r1harness.verify import readability as rd
    from r1harness.verify.extract import split_think

    f = recipe["filters"]
    t = rd.ReadabilityThresholds(
        max_other_language_share=f.get("mixed_language", {}).get("max_other_language_share", 0.05),
        max_paragraph_chars=f.get("long_paragraph", {}).get("max_chars", 3000),
    )
    checks = [
        lambda text, finish, general: rd.truncated(text, split_think(text)[1], finish).status == "correct"
    ]
    reasoning = {
        "mixed_language": lambda text: rd.mixed_language(split_think(text)[0] or split_think(text)[1], t),
        "long_paragraph": lambda text: rd.long_paragraph(text, t),
        "code_in_cot": lambda text: rd.code_in_cot(split_think(text)[0], t),
        "repetition": lambda text: rd.repetition(text, t),
    }
    for name, fn in reasoning.items():
        if name in f:
            checks.append(lambda text, finish, general, fn=fn: general or fn(text).status == "correct")
    return checks


# --------------------------------------------------------------------------------------------- main
def _child(which: str, path: Path, scale: float, workdir: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        which,
        "--store",
        str(path),
        "--scale",
        str(scale),
        "--workdir",
        str(workdir),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        raise SystemExit(f"{which} failed:\n{res.stderr[-4000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.02, help="fraction of 4M + 1M rollouts (1 = full size)")
    ap.add_argument("--workdir", default="/tmp/r1h-curate-bench")
    ap.add_argument("--store", default=None)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="reuse an existing generated store")
    ap.add_argument("--child", choices=("ours", "baseline"))
    args = ap.parse_args()
    workdir = Path(args.workdir)
    path = Path(args.store) if args.store else workdir / f"store-{args.scale}"
    if args.child:
        fn = run_ours if args.child == "ours" else run_baseline
        print(json.dumps(fn(path, args.scale, workdir / f"{args.child}.parquet")))
        return
    workdir.mkdir(parents=True, exist_ok=True)
    if not (args.reuse and path.exists()):
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        print("generated:", generate(path, args.scale), flush=True)
    ours = _child("ours", path, args.scale, workdir)
    n_in = int(5_000_000 * args.scale)
    report = {
        "scale": args.scale,
        "rows_in": n_in,
        "ours": ours,
        "ours_rows_per_s": round(n_in / ours["total_s"]),
    }
    if not args.no_baseline:
        base = _child("baseline", path, args.scale, workdir)
        report.update(
            baseline=base,
            baseline_rows_per_s=round(n_in / base["total_s"]),
            speedup=round(base["total_s"] / ours["total_s"], 2),
        )
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
