"""Math verification throughput on a rejection-sampling-shaped workload.

k completions per problem over MATH-500 golds (math500/math500.jsonl in $R1H_DATA_DIR), each with ~2,000
characters of reasoning before the final answer, and a realistic answer mix: the gold as written, equivalent
forms written differently (\\dfrac, decimals, `x = …`, units, thousands separators, reordered lists), a few
recurring wrong answers per problem, and truncated outputs with no answer. Graded in the same run by

  baseline   a plain loop in one process: verify(parse(gold), parse(completion)) with math-verify defaults,
             after the same one-off sympy warm-up the workers get
  r1harness  MathVerifier(workers=N).verify_batch: extraction outside <think>, (answer, gold) cache, gold
             parsed once per worker, deadline-killed worker processes

and reports verdicts/s for both (wall clock, warm pool / warmed-up baseline), the ratio, the CPU seconds of
the grading on each side (robust when other processes load the machine), the cache hit rate and the
verdict agreement (pairs where the plain loop hit its own 5 s timeout are excluded and counted).

    .venv/bin/python benchmarks/verify_throughput.py --n-problems 20 --k 64
    .venv/bin/python benchmarks/verify_throughput.py --n-problems 500 --k 64 --workers 2   # the full size
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import time
from collections import Counter
from pathlib import Path


def data_file() -> Path:
    """MATH-500 in the benchmark data folder ($R1H_DATA_DIR, the CLI's variable)."""
    root = os.environ.get("R1H_DATA_DIR") or os.environ.get("R1H_SHARED_DATA")
    if not root:
        raise SystemExit("set R1H_DATA_DIR to the benchmark data folder (it holds math500/math500.jsonl)")
    return Path(root) / "math500" / "math500.jsonl"


# Sentences in the style of R1 / R1-distill reasoning: LaTeX-heavy, self-checking, no final answer inside.
FILLER = [
    "Okay, so I need to figure out this problem. Let me start by writing down what is given.",
    "Let me denote the unknown by \\( x \\). Then the condition becomes \\( {n}x + {m} = {k} \\).",
    "Expanding, we get:\n\\[\n(x + {n})^2 = x^2 + {d}x + {sq}\n\\]",
    "Hmm, wait. Let me double-check that step, because a sign error here would change everything.",
    "So, \\( \\frac{{{m}}}{{{n}}} \\) simplifies to \\( \\frac{{{m2}}}{{{n2}}} \\) after dividing by the "
    "common factor.",
    "Using the identity \\( a^2 - b^2 = (a - b)(a + b) \\), the expression factors as "
    "\\( ({n} - y)({n} + y) \\).",
    "Now, substituting back, \\[ \\sqrt{{{sq}}} = {n}, \\quad \\text{{so}} \\quad {n} \\cdot {n} = {sq}. \\]",
    "Alternatively, I could count the complement, which might be simpler here. Let me try that.",
    "Checking small cases: for \\( n = 1 \\) we get {n}, and for \\( n = 2 \\) we get {m}.",
    "That matches the pattern, so the general formula \\( f(n) = {n}n^2 + {m} \\) looks right.",
    "Wait, maybe I should verify this with the original equation: \\( {n} \\times {m} = {k} \\). Yes.",
]
SUMMARY = (
    "To solve the problem, we set up the equation and simplify:\n\\[\n{n}x + {m} = {k}\n\\]\n"
    "Solving and checking against the original condition gives the result.\n\n**Final Answer**\n"
)


def _fill(template: str, rng: random.Random) -> str:
    n, m = rng.randint(2, 60), rng.randint(61, 999)
    return template.format(n=n, m=m, k=n * m, d=2 * n, sq=n * n, m2=m // 2 or 1, n2=n // 2 or 1)


def reasoning(rng: random.Random, chars: int = 2000) -> str:
    out, size = [], 0
    while size < chars:
        s = _fill(rng.choice(FILLER), rng)
        out.append(s)
        size += len(s) + 1
    return "\n".join(out)


def equivalent_forms(gold: str) -> list[str]:
    """Differently written answers that mean the gold (both graders should accept them)."""
    forms = [gold.replace("\\frac", "\\dfrac")] if "\\frac" in gold else []
    if re.fullmatch(r"-?\d+", gold):
        n = int(gold)
        forms += [f"{n}.0", f"x = {n}", f"{n}\\text{{ units}}"]
        if abs(n) >= 1000:
            forms.append(f"{n:,}".replace(",", "{,}"))
    m = re.fullmatch(r"\\frac\{(\d+)\}\{(\d+)\}", gold)
    if m and int(m.group(2)) in (2, 4, 5, 8, 10, 20, 25):
        forms.append(str(int(m.group(1)) / int(m.group(2))))
    if re.fullmatch(r"-?\d+, ?-?\d+", gold):
        a, b = [p.strip() for p in gold.split(",")]
        forms.append(f"{b}, {a}")
    return forms or [f" {gold} "]


def wrong_answers(gold: str, others: list[str], rng: random.Random) -> list[str]:
    if re.fullmatch(r"-?\d+", gold):
        n = int(gold)
        return [str(n + d) for d in rng.sample([-2, -1, 1, 2, 3, 10], 3)]
    return rng.sample(others, 3)


def workload(n_problems: int, k: int, seed: int) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in data_file().read_text(encoding="utf-8").splitlines()]
    rng = random.Random(seed)
    problems = rng.sample(rows, min(n_problems, len(rows)))
    golds_all = [r["answer"] for r in rows]
    completions, golds = [], []
    for row in problems:
        gold = row["answer"]
        accuracy = rng.uniform(0.2, 0.9)
        equivalents, wrongs = equivalent_forms(gold), wrong_answers(gold, golds_all, rng)
        for _ in range(k):
            r = rng.random()
            answer = (
                None
                if r < 0.05
                else gold
                if r < 0.05 + accuracy * 0.7
                else rng.choice(equivalents)
                if r < 0.05 + accuracy
                else rng.choice(wrongs)
            )
            think = f"<think>\n{reasoning(rng)}\n</think>\n\n"
            completions.append(
                think
                + (
                    "I ran out of room before finishing"
                    if answer is None
                    else _fill(SUMMARY, rng) + f"\\[\n\\boxed{{{answer}}}\n\\]"
                )
            )
            golds.append(gold)
    return completions, golds


def plain_loop(completions: list[str], golds: list[str]) -> tuple[list[bool | None], float, float]:
    """Verdicts (None where math-verify hit its own timeout), wall seconds and CPU seconds, after warm-up."""
    from math_verify import parse, verify

    from r1harness.verify.math_worker import _WARM_UP

    for pred, gold in _WARM_UP:  # the same one-off sympy warm-up our workers get, outside the timing
        verify(parse(f"${gold}$"), parse(f"The answer is $\\boxed{{{pred}}}$"))
    out: list[bool | None] = []
    started, cpu0 = time.perf_counter(), time.process_time()
    for completion, gold in zip(completions, golds):
        t0 = time.perf_counter()
        ok = verify(parse(f"${gold}$"), parse(completion))
        out.append(None if time.perf_counter() - t0 >= 4.9 else bool(ok))  # None: hit its own timeout
    return out, time.perf_counter() - started, time.process_time() - cpu0


def r1harness_run(completions: list[str], golds: list[str], workers: int, batch: int):
    """Returns verdicts, pool start-up seconds, grading seconds (cold cache) and cache stats."""
    from r1harness.verify.math import MathVerifier

    started = time.perf_counter()
    cpu0 = _cpu()
    with MathVerifier(workers=workers, timeout_s=5.0) as verifier:
        verifier.start()  # workers imported and warmed up
        warm = time.perf_counter()
        pids = [w.proc.pid for w in verifier._pool._workers]
        grading_cpu0 = time.process_time() + _proc_cpu(pids)
        verifier.hits = verifier.misses = 0
        verifier._cache.clear()
        verdicts = []
        for i in range(0, len(completions), batch):
            verdicts += verifier.verify_batch(completions[i : i + batch], golds[i : i + batch])
        done = time.perf_counter()
        info = verifier.cache_info()
        if info["workers_replaced"] == 0:  # else some worker CPU left with the killed process
            info["grading_cpu_s"] = time.process_time() + _proc_cpu(pids) - grading_cpu0
    info["cpu_s"] = _cpu() - cpu0  # parent + every worker (incl. start-up and warm-up), known once they exit
    return verdicts, warm - started, done - warm, info


def _proc_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by live processes (Linux /proc), for the workers while they run."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-problems", type=int, default=20)
    ap.add_argument("--k", type=int, default=64, help="completions per problem")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1024, help="completions per verify_batch call")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    completions, golds = workload(args.n_problems, args.k, args.seed)
    n = len(completions)
    print(
        f"workload: {args.n_problems} MATH-500 problems x {args.k} = {n} completions, "
        f"mean {sum(map(len, completions)) / n:.0f} chars"
    )
    verdicts, startup_s, ours_s, info = r1harness_run(completions, golds, args.workers, args.batch)
    plain, plain_s, plain_cpu = plain_loop(completions, golds)
    compared = [(p, v) for p, v in zip(plain, verdicts) if p is not None and not v.is_infra_failure]
    agree = sum(p == (v.status == "correct") for p, v in compared)
    disagreements = Counter((p, v.status) for p, v in compared if p != (v.status == "correct"))
    print(
        f"baseline  plain math-verify loop: {n / plain_s:8.1f} verdicts/s ({plain_s:.1f}s), "
        f"{sum(p is None for p in plain)} hit its timeout"
    )
    print(
        f"r1harness MathVerifier(workers={args.workers}): {n / ours_s:8.1f} verdicts/s ({ours_s:.1f}s, cold "
        f"cache, warm pool), {sum(v.is_infra_failure for v in verdicts)} timeout/error; pool start-up "
        f"{startup_s:.1f}s"
    )
    print(
        f"ratio r1harness / baseline: {plain_s / ours_s:.1f}x warm pool; "
        f"{plain_s / (ours_s + startup_s):.1f}x counting the one-off pool start-up"
    )
    grading = info.get("grading_cpu_s")
    print(
        f"CPU seconds: baseline {plain_cpu:.2f}; r1harness grading "
        f"{'n/a' if grading is None else f'{grading:.2f}'} (parent + workers) "
        + ("" if not grading else f"-> {plain_cpu / grading:.1f}x less CPU ")
        + f"and {info['cpu_s']:.2f} with pool start-up and warm-up"
    )
    print(f"cache: hit rate {info['hit_rate']:.1%} ({info['hits']} hits, {info['misses']} comparisons run)")
    print(
        f"agreement: {agree}/{len(compared)} = {agree / max(1, len(compared)):.2%}; "
        f"disagreements (plain, ours): {dict(disagreements)}"
    )
    print(f"r1harness verdicts: {dict(Counter(v.status for v in verdicts))}")


if __name__ == "__main__":
    main()
