"""Sandbox throughput and latency, side by side with a plain-subprocess baseline measured in the same run.

  .venv/bin/python benchmarks/sandbox_throughput.py [--n 100] [--slots 2] [--concurrent 1000]
                                                    [--modes cgroups,no-cgroups]

Per isolation mode (a fresh service each):
  1. per-test overhead: p50/p95 wall time of a trivial Python program run alone in the sandbox
     (the launcher's measured wall_ms) vs `subprocess.run` of the same interpreter with no isolation;
  2. one submission with many trivial tests (its tests spread over the free slots) in tests/s, vs plain
     subprocesses on as many workers as slots;
  3. `--concurrent` requests at once through the project's own SandboxClient (its retries included):
     every one must come back with a verdict; p50/p99 latency; afterwards no sandboxed process may be
     left running and no session directory left behind.
The load average is printed beside every figure: the machine is shared, so compare ratios from one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from r1harness.sandbox.client import LocalService, SandboxClient  # noqa: E402
from r1harness.sandbox.isolation import slot_uid_processes  # noqa: E402

PY = "/usr/bin/python3"


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}/{os.cpu_count()} cores"


def plain_latencies(n):
    out = []
    for k in range(n):
        t = time.perf_counter()
        subprocess.run([PY, "-I", "-c", "print(input())"], input=str(k).encode(), capture_output=True)
        out.append((time.perf_counter() - t) * 1000)
    return out


def plain_rate(n, workers):
    argv = [PY, "-I", "-c", "print(input())"]
    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda k: subprocess.run(argv, input=str(k).encode(), capture_output=True), range(n)))
    return n / (time.perf_counter() - t)


def overhead(client, n):
    base = plain_latencies(n)
    sand = []
    for k in range(n):
        res = client.run(language="python", source="print(input())", stdin=str(k))
        assert res["status"] == "ok", res
        sand.append(res["wall_ms"])
    b50, s50 = pct(base, 0.5), pct(sand, 0.5)
    print(
        f"  per test (ms): plain p50 {b50:.1f} p95 {pct(base, 0.95):.1f} | sandboxed p50 {s50:.1f} "
        f"p95 {pct(sand, 0.95):.1f} | overhead p50 {s50 - b50:.1f} ms (target <= 15) [{load()}]"
    )


def one_submission(client, n_tests, slots):
    req = {
        "language": "python",
        "source": f"print(input())\n# {time.time_ns()}",
        "tests": [{"input": str(k), "output": str(k)} for k in range(n_tests)],
    }
    t = time.perf_counter()
    res = client.judge(req)
    rate = n_tests / (time.perf_counter() - t)
    assert res["verdict"] == "pass", res
    prate = plain_rate(n_tests, slots)
    print(
        f"  one submission, {n_tests} trivial tests: {rate:.0f} tests/s (target >= 100) vs plain "
        f"{prate:.0f}/s on {slots} workers -> ratio {rate / prate:.2f} [{load()}]"
    )


def concurrent(url, n):
    client = SandboxClient(url, retries=8, timeout_s=600)
    src = "import sys\nn = int(sys.stdin.read())\nprint(sum(i * i for i in range(n)))"
    tests = [{"input": "1000", "output": str(sum(i * i for i in range(1000)))}]
    stamp = time.time_ns()
    gate, lat, kinds, lock = threading.Barrier(n), [], {}, threading.Lock()

    def one(i):
        body = {"language": "python", "source": src + f"\n# {stamp} {i}", "tests": tests}
        gate.wait()
        t = time.monotonic()
        try:
            out = client.judge(body)["verdict"]
        except Exception as exc:  # a client-visible failure: counted and reported
            out = type(exc).__name__
        with lock:
            lat.append(time.monotonic() - t)
            kinds[out] = kinds.get(out, 0) + 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    health = client.get("/health")
    print(
        f"  {n} concurrent distinct requests (own client): answered {sum(kinds.values())}/{n} {kinds}; "
        f"latency p50 {pct(lat, 0.5):.1f} s p99 {pct(lat, 0.99):.1f} s; {n / wall:.0f} requests/s; "
        f"429s {health['rejected_429']} [{load()}]"
    )
    return kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="runs for the per-test latency figures")
    ap.add_argument("--tests", type=int, default=200, help="tests in the one-submission figure")
    ap.add_argument("--slots", type=int, default=2)
    ap.add_argument("--concurrent", type=int, default=1000)
    ap.add_argument("--modes", default="cgroups,no-cgroups")
    args = ap.parse_args()
    shm_before = set(os.listdir("/dev/shm"))
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    for mode in args.modes.split(","):
        extra = ("--no-cgroups",) if mode == "no-cgroups" else ()
        with LocalService(slots=args.slots, extra_args=extra) as svc:
            client = SandboxClient(svc.url)
            caps = client.capabilities()
            iso = caps["isolation"]
            print(
                f"[{mode}] isolation {iso['level']} safe={caps['safe']} cgroups={iso['cgroups']} "
                f"slots={caps['slots']}; memory: {caps['limits']['enforced']['memory_limit_mb']}"
            )
            client.run(language="python", source="print(1)")  # warm
            overhead(client, args.n)
            one_submission(client, args.tests, caps["slots"])
            if args.concurrent:
                concurrent(svc.url, args.concurrent)
        left = slot_uid_processes()
        stale = [d for d in set(os.listdir("/dev/shm")) - shm_before if d.startswith("r1h-sandbox-")]
        print(f"  afterwards: {len(left)} sandboxed processes left running, {len(stale)} session dirs left")
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
