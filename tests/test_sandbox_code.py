"""The code verifier against the real benchmark files, the reduced-isolation mode, and the load test."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request

import pytest

from r1harness.sandbox.client import LocalService, SandboxClient
from r1harness.sandbox.isolation import slot_uid_processes
from r1harness.verify.code import verify_code_batch

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def service():
    before = set(os.listdir("/dev/shm"))
    svc = LocalService(slots=2, pid_namespace=True)
    yield svc
    svc.close()
    assert not {d for d in set(os.listdir("/dev/shm")) - before if d.startswith("r1h-sandbox-")}
    assert not slot_uid_processes(), "sandboxed processes outlived the service"


def _humaneval_refs(shared_data, limit=None):
    rows = [json.loads(line) for line in (shared_data / "humaneval" / "HumanEval.jsonl").open()][:limit]
    refs = [
        {
            "problem": r["prompt"],
            "tests": None,
            "metadata": json.dumps(
                {"entry_point": r["entry_point"], "test": r["test"], "prompt": r["prompt"]}
            ),
        }
        for r in rows
    ]
    return rows, refs


def _check_humaneval(service, shared_data, limit):
    rows, refs = _humaneval_refs(shared_data, limit)
    gold = [f"<think>plan</think>\n```python\n{r['prompt']}{r['canonical_solution']}\n```" for r in rows]
    verdicts = verify_code_batch(gold, refs, url=service.url)
    failed = [(r["task_id"], v.reason, v.details) for r, v in zip(rows, verdicts) if v.status != "correct"]
    assert not failed, failed[:3]
    bodies = verify_code_batch([r["canonical_solution"] for r in rows], refs, url=service.url)
    assert all(v.status == "correct" for v in bodies)  # unfenced function bodies (base-model style)
    wrong = [f"```python\n{r['prompt']}    return None\n```" for r in rows]
    assert all(
        v.status == "wrong" and v.score == 0.0 for v in verify_code_batch(wrong, refs, url=service.url)
    )


def test_humaneval_gold_passes_and_wrong_fails_sample(service, shared_data):
    _check_humaneval(service, shared_data, limit=12)


@pytest.mark.slow
def test_all_164_humaneval_canonical_solutions_pass(service, shared_data):
    _check_humaneval(service, shared_data, limit=None)


CC_SOLUTIONS = {
    0: (
        "python",
        "import sys\ndef main():\n    data = sys.stdin.read().split()\n"
        "    n, m = int(data[0]), int(data[1])\n"
        "    s = data[2:2 + n]\n    def key(i):\n"
        "        return ''.join(c if j % 2 == 0 else chr(155 - ord(c))"
        " for j, c in enumerate(s[i]))\n    print(' '.join(str(i + 1) for i in sorted(range(n), key=key)))\n"
        "main()\n",
    ),
    140: (
        "python",
        "import sys\nfrom math import isqrt\ndef iroot(n, k):\n    r = int(round(n ** (1.0 / k)))\n"
        "    while r ** k > n: r -= 1\n    while (r + 1) ** k <= n: r += 1\n    return r\n"
        "t, *ns = map(int, sys.stdin.read().split())\n"
        "print('\\n'.join(str(isqrt(n) + iroot(n, 3) - iroot(n, 6)) for n in ns))\n",
    ),
}
CC_CPP_140 = """#include <bits/stdc++.h>
using namespace std;
long long iroot(long long n, int k){ long long r = llround(pow((double)n, 1.0 / k));
  auto p = [&](long long x){ long long v = 1; for(int i=0;i<k;i++) v *= x; return v; };
  while (r > 0 && p(r) > n) r--; while (p(r + 1) <= n) r++; return r; }
int main(){ int t; cin >> t; while (t--) { long long n; cin >> n;
  cout << iroot(n,2) + iroot(n,3) - iroot(n,6) << "\\n"; } }
"""


def _cc_refs(shared_data):
    rows = {
        json.loads(line)["idx"]: json.loads(line)
        for line in (shared_data / "code_stdio" / "code_contests_test_rllm.jsonl").open()
    }
    return {
        i: {
            "problem": rows[i]["problem"],
            "tests": json.dumps(rows[i]["tests"]),
            "metadata": json.dumps(
                {"time_limit_ms": rows[i]["time_limit_ms"], "memory_limit_mb": rows[i]["memory_limit_mb"]}
            ),
        }
        for i in CC_SOLUTIONS
    }


def test_codecontests_solutions_pass_and_wrong_variants_fail(service, shared_data):
    refs = _cc_refs(shared_data)
    comps = [f"```{lang}\n{src}```" for lang, src in CC_SOLUTIONS.values()]
    verdicts = verify_code_batch(comps, [refs[0], refs[140]], url=service.url, reward="fraction")
    assert [v.status for v in verdicts] == ["correct"] * 2, [v.reason for v in verdicts]
    assert verdicts[1].details["total"] == 138
    wrong = CC_SOLUTIONS[140][1].replace("- iroot(n, 6)", "")  # forgets numbers that are both
    wv = verify_code_batch([f"```python\n{wrong}```"], [refs[140]], url=service.url)[
        0
    ]  # stops at 1st failure
    assert wv.status == "wrong" and wv.score == 0.0 and wv.details["passed"] < 138


@pytest.mark.slow
def test_codecontests_cpp_solution_passes_all_138_tests(service, shared_data):
    refs = _cc_refs(shared_data)
    verdict = verify_code_batch([f"```cpp\n{CC_CPP_140}```"], [refs[140]], url=service.url)[0]
    assert verdict.status == "correct" and verdict.details["total"] == 138, verdict.reason


def test_livecodebench_functional_problem(service, shared_data):
    rows = [
        json.loads(line)
        for line in (shared_data / "code_stdio" / "livecodebench_2408_2501_public_tests.jsonl").open()
    ]
    row = next(r for r in rows if "shortestDistanceAfterQueries" in (r.get("starter_code") or ""))
    ref = {"tests": json.dumps(row["tests"]), "metadata": json.dumps({"starter_code": row["starter_code"]})}
    sol = (
        "class Solution:\n"
        "    def shortestDistanceAfterQueries(self, n: int, queries: List[List[int]]) -> List[int]:\n"
        "        adj = [[i + 1] for i in range(n - 1)] + [[]]\n        out = []\n"
        "        for u, v in queries:\n            adj[u].append(v)\n            dist = [-1] * n\n"
        "            dist[0] = 0\n            dq = deque([0])\n            while dq:\n"
        "                x = dq.popleft()\n                for y in adj[x]:\n"
        "                    if dist[y] < 0:\n                        dist[y] = dist[x] + 1\n"
        "                        dq.append(y)\n            out.append(dist[n - 1])\n        return out\n"
    )
    good, bad = verify_code_batch(
        [f"```python\n{sol}```", f"```python\n{sol.replace('dist[n - 1]', 'n')}```"],
        [ref, ref],
        url=service.url,
    )
    assert good.status == "correct", good.reason
    assert bad.status == "wrong"


def test_reduced_isolation_is_reported_honestly_and_still_judges():
    with LocalService(slots=1, pid_namespace=True, env={"R1H_SANDBOX_BWRAP": "none"}) as svc:
        client = SandboxClient(svc.url)
        caps = client.capabilities()
        assert caps["isolation"]["level"] == "none" and caps["safe"] is False
        assert any("no namespaces" in w for w in caps["isolation"]["warnings"])
        res = client.judge(
            {
                "language": "python",
                "source": "print(int(input()) + 1)",
                "tests": [{"input": "1", "output": "2"}, {"input": "2", "output": "4"}],
            }
        )
        assert res["verdict"] == "wrong_answer" and res["passed"] == 1
        assert client.run(language="python", source="while True: pass", time_limit_s=1)["status"] == "timeout"


@pytest.mark.slow
def test_load_1000_concurrent_requests_are_all_answered(service):
    """Each of 1,000 simultaneous requests (no client retries) gets its verdict: they wait their turn in
    the bounded queue (no 429 storm), and identical requests join the run already going."""
    client = SandboxClient(service.url, retries=0)
    outcomes: list[tuple[str, float]] = []
    lock = threading.Lock()
    src = "import sys\nn = int(sys.stdin.read())\nprint(sum(i * i for i in range(n)))"
    tests = [{"input": "1000", "output": str(sum(i * i for i in range(1000)))}]
    start = threading.Barrier(1000)

    def one(i):
        body = json.dumps({"language": "python", "source": src + f"\n# {i % 50}", "tests": tests}).encode()
        start.wait()
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(
                urllib.request.Request(service.url + "/v1/judge", data=body), timeout=120
            ) as resp:
                out = json.loads(resp.read())["verdict"]
        except urllib.error.HTTPError as exc:
            out = f"http{exc.code}"
        except Exception as exc:  # counted, and the assertions below fail on it
            out = type(exc).__name__
        with lock:
            outcomes.append((out, time.monotonic() - t0))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kinds = {k for k, _ in outcomes}
    assert len(outcomes) == 1000 and kinds == {"pass"}, kinds
    health = client.get("/health")
    assert health["rejected_429"] == 0
    assert health["inside"] == 0 and health["busy"] == 0
    # the same deterministic program gets the same verdict three times running (cache off: new text)
    for src2 in [src + f"\n# fresh {time.time_ns()}"] * 1:
        verdicts = [
            client.judge({"language": "python", "source": src2 + f"\n#{k}", "tests": tests})["verdict"]
            for k in range(3)
        ]
        assert verdicts == ["pass"] * 3


def test_cli_serve_and_grade_kind_code(tmp_path, shared_data):
    """`r1h sandbox serve` starts the service with one command; `r1h grade --kind code` uses it."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    r1h = str(Path(sys.executable).with_name("r1h"))
    port_file = tmp_path / "url"
    serve = subprocess.Popen(
        [
            "unshare",
            "--fork",
            "--pid",
            "--mount-proc",
            "--kill-child",
            "--",
            r1h,
            "sandbox",
            "serve",
            "--port",
            "0",
            "--slots",
            "1",
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            assert serve.poll() is None and time.monotonic() < deadline, serve.stderr.read()
            time.sleep(0.05)
        url = port_file.read_text()
        rows = [
            {
                "completion": "```python\nprint(int(input()) * 2)\n```",
                "tests": json.dumps([{"input": "2", "output": "4"}]),
            },
            {"completion": "```python\nprint(5)\n```", "tests": json.dumps([{"input": "2", "output": "4"}])},
            {"completion": "no code", "tests": json.dumps([{"input": "2", "output": "4"}])},
        ]
        src = tmp_path / "rows.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in rows))
        out = subprocess.run(
            [r1h, "grade", "--kind", "code", str(src), "--json", "--out", str(tmp_path / "g.jsonl")],
            capture_output=True,
            text=True,
            env={**os.environ, "R1H_SANDBOX_URL": url},
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        counts = json.loads(out.stdout)["counts"]
        assert (counts["correct"], counts["wrong"], counts["unparseable"]) == (1, 1, 1)
        caps = subprocess.run([r1h, "sandbox", "capabilities", "--url", url], capture_output=True, text=True)
        assert json.loads(caps.stdout)["isolation"]["level"] in ("full", "bwrap", "none")
    finally:
        children = Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split()
        for pid in children:
            os.kill(int(pid), signal.SIGTERM)
        assert serve.wait(timeout=60) == 0
        serve.stderr.close()


def test_prompts_rows_from_the_ingest_manifests_verify(service, store, shared_data):
    """The shapes the ingest manifests write (prompts rows) are the shapes the verifier reads."""
    from r1harness.ingest import ingest_manifest

    ingest_manifest(store, "humaneval")
    ingest_manifest(store, "code_contests")
    he = store.sql(
        "SELECT * FROM prompts WHERE dataset = 'humaneval' ORDER BY source_index LIMIT 6"
    ).to_dicts()
    raw = [json.loads(line) for line in (shared_data / "humaneval" / "HumanEval.jsonl").open()][:6]
    cc = store.sql("SELECT * FROM prompts WHERE dataset = 'code_contests' AND source_index = 0").to_dicts()
    gold = [f"```python\n{r['prompt']}{r['canonical_solution']}```" for r in raw]
    verdicts = verify_code_batch(gold + [f"```python\n{CC_SOLUTIONS[0][1]}```"], he + cc, url=service.url)
    assert [v.status for v in verdicts] == ["correct"] * 7, [v.reason for v in verdicts]
