"""Sandbox throughput: tests/s and per-test latency, isolated vs a plain subprocess.run baseline (same run).

  .venv/bin/python benchmarks/sandbox_throughput.py [--n 200] [--slots 2]

Measures (1) per-test latency p50/p95 of a trivial Python program run alone, sandboxed (through the
service, one test per request) vs `subprocess.run` with no isolation; (2) tests/s for one submission
with many tests (one session per submission: compiled once, one session directory, a fresh bwrap per
test; all slots busy); (3) trivial C++; (4) the HumanEval gold solutions (two processes per problem).
The machine's load average is printed: on a shared machine, compare ratios from the same run only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from r1harness.sandbox.client import LocalService, SandboxClient  # noqa: E402

PY = "/usr/bin/python3"


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def plain_latencies(argv, n, stdin=b""):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, input=stdin, capture_output=True, timeout=30)
        out.append((time.perf_counter() - t) * 1000)
    return out


def sandbox_latencies(client, lang, src, n):
    out = []
    for _ in range(n):
        res = client.run(language=lang, source=src, stdin="")
        assert res["status"] == "ok", res
        out.append(res["wall_ms"])
    return out


def many_tests_rate(client, lang, src, tests_per_sub, subs, slots):
    reqs = [
        {
            "language": lang,
            "source": src + ("\n# %d" if lang == "python" else "\n// %d") % i,
            "tests": [{"input": str(k), "output": str(k)} for k in range(tests_per_sub)],
        }
        for i in range(subs)
    ]
    t = time.perf_counter()
    with ThreadPoolExecutor(slots) as pool:
        results = list(pool.map(client.judge, reqs))
    dt = time.perf_counter() - t
    assert all(r["verdict"] == "pass" for r in results), results[0]
    return tests_per_sub * subs / dt


def plain_rate(argv, n, workers):
    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda k: subprocess.run(argv, input=str(k).encode(), capture_output=True), range(n)))
    return n / (time.perf_counter() - t)


def humaneval(client, n):
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "humaneval" / "HumanEval.jsonl"
    rows = [json.loads(line) for line in path.open()][:n]
    reqs = [
        {
            "language": "python",
            "source": r["prompt"] + r["canonical_solution"] + f"\n# bench {time.time_ns()}",
            "tests": {
                "type": "assert",
                "entry_point": r["entry_point"],
                "test": r["test"],
                "prelude": r["prompt"],
            },
        }
        for r in rows
    ]
    t = time.perf_counter()
    res = client.judge_many(reqs)
    dt = time.perf_counter() - t
    assert all(r["verdict"] == "pass" for r in res)
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        for r in rows:
            p = Path(d) / "p.py"
            p.write_text(
                r["prompt"] + r["canonical_solution"] + "\n" + r["test"] + f"\ncheck({r['entry_point']})\n"
            )
            assert subprocess.run([PY, str(p)], capture_output=True, timeout=30).returncode == 0
        base = time.perf_counter() - t
    return len(rows) / dt, len(rows) / base


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--slots", type=int, default=2)
    ap.add_argument("--no-cgroups", action="store_true", help="serve with rlimits only")
    args = ap.parse_args()
    cpp = '#include <cstdio>\nint main(){int x=0; if(scanf("%d",&x)!=1) x=0; printf("%d\\n",x);}'
    with LocalService(slots=args.slots, extra_args=("--no-cgroups",) if args.no_cgroups else ()) as svc:
        client = SandboxClient(svc.url)
        caps = client.capabilities()
        print(
            f"isolation: {caps['isolation']['level']} safe={caps['safe']} "
            f"cgroups={caps['isolation']['cgroups']} "
            f"slots={args.slots}; load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        client.run(language="python", source="print(1)")  # warm
        base = plain_latencies([PY, "-I", "-c", "print(1)"], args.n)
        sand = sandbox_latencies(client, "python", "print(1)", args.n)
        print(
            f"python trivial, per test (ms): plain p50 {pct(base, 0.5):.1f} p95 {pct(base, 0.95):.1f} | "
            f"sandboxed p50 {pct(sand, 0.5):.1f} p95 {pct(sand, 0.95):.1f} | overhead p50 "
            f"{pct(sand, 0.5) - pct(base, 0.5):.1f} ms, ratio {pct(sand, 0.5) / pct(base, 0.5):.2f}x"
        )
        rate = many_tests_rate(client, "python", "print(input())", 50, 8, args.slots)
        prate = plain_rate([PY, "-I", "-c", "print(input())"], 400, args.slots)
        print(
            f"python trivial, one session per submission (50 tests x 8): {rate:.0f} tests/s vs plain "
            f"{prate:.0f}/s -> ratio {rate / prate:.2f}"
        )
        with tempfile.TemporaryDirectory() as d:
            exe = Path(d) / "a"
            (Path(d) / "a.cpp").write_text(cpp)
            subprocess.run(["g++", "-O2", "-o", str(exe), str(Path(d) / "a.cpp")], check=True)
            cbase = plain_latencies([str(exe)], args.n, b"1")
            crate_plain = plain_rate([str(exe)], 400, args.slots)
        csand = [
            r["wall_ms"]
            for r in client.judge(
                {"language": "cpp", "source": cpp, "tests": [{"input": "1", "output": "1"}] * args.n}
            )["tests"]
        ]
        crate = many_tests_rate(client, "cpp", cpp, 50, 8, args.slots)
        print(
            f"c++ trivial, per test (ms): plain p50 {pct(cbase, 0.5):.1f} "
            f"p95 {pct(cbase, 0.95):.1f} | sandboxed "
            f"p50 {pct(csand, 0.5):.1f} p95 {pct(csand, 0.95):.1f} | {crate:.0f} tests/s vs plain "
            f"{crate_plain:.0f}/s -> ratio {crate / crate_plain:.2f} (compile time excluded from per-test)"
        )
        he, he_base = humaneval(client, 164)
        print(
            f"humaneval gold (164, check() per problem): {he:.1f} problems/s sandboxed vs {he_base:.1f}/s "
            f"plain sequential -> ratio {he / he_base:.2f}"
        )
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
