"""Drop-in compatibility: open-r1's Piston requests (Codeforces, IOI) and verl's SandboxFusion requests,
replayed from fixtures that name the upstream file and commit, scored with the upstream's decision rule.
Where the upstream modules are importable from a checkout the environment names, they run unmodified
against the service: verl's `check_correctness` ($R1H_VERL_SRC; needs only `requests`) and open-r1's
`ioi_scoring.score_subtask` and `cf_scoring.score_single_test_case` ($R1H_OPENR1_SRC; needs aiohttp,
and datasets for ioi_utils); without them those tests skip and the replayed payloads still run.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from r1harness.sandbox.client import LocalService

pytestmark = pytest.mark.sandbox
FIXTURES = Path(__file__).parent / "fixtures" / "sandbox_clients"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def url():
    with LocalService(slots=2) as svc:
        yield svc.url


def post(url: str, path: str, body) -> dict:
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


def cf_score(results: list[dict]) -> float:
    """open-r1 cf_scoring.score_submission, scoring_mode='pass_fail', over one batch of results."""
    if any(r["compile"]["code"] != 0 for r in results):
        return -0.1  # its no_compile_reward
    passed = [r["run"]["code"] == 0 and r["run"]["stdout"].strip() == "1" for r in results]
    return 1.0 if all(passed) else 0.0


@pytest.mark.parametrize("case", _load("open_r1_codeforces.json")["cases"], ids=lambda c: c["name"])
def test_open_r1_codeforces_payloads(url, case):
    res = post(url, "/api/v2/execute", case["payload"])
    assert "message" not in res  # open-r1's execute_ioi raises on a top-level message
    if case.get("expect_compile_error"):
        assert res["compile"]["code"] != 0 and cf_score([res]) == -0.1
    else:
        assert cf_score([res]) == (1.0 if case["expect_pass"] else 0.0), res


@pytest.mark.parametrize(
    "case",
    _load("open_r1_ioi.json")["cases"] + _load("open_r1_ioi_communication.json")["cases"],
    ids=lambda c: c["name"],
)
def test_open_r1_ioi_payloads(url, case):
    res = post(url, "/api/v2/execute", case["payload"])
    assert "message" not in res and res["compile"]["code"] == 0, res
    # execute_ioi: a non-empty stdout is the score, stderr the feedback
    assert res["run"]["stdout"], res
    assert float(res["run"]["stdout"]) == case["expect_score"]
    assert case.get("expect_feedback", "") in res["run"]["stderr"]


def test_piston_runtimes_list_the_packages(url):
    with urllib.request.urlopen(url + "/api/v2/runtimes") as resp:
        runtimes = json.loads(resp.read())
    by_name = {r["language"]: r for r in runtimes}
    assert "cf_python3" in by_name["codeforces"]["aliases"] and "cms_ioi" in by_name["cms"]["aliases"]
    # the reported Python is the one that runs in the sandbox, not the service's own
    ran = post(
        url, "/v1/run", {"language": "python", "source": "import platform; print(platform.python_version())"}
    )
    assert by_name["python"]["version"] == ran["stdout"].strip()


@pytest.mark.parametrize("case", _load("verl_sandbox_fusion.json")["cases"], ids=lambda c: c["name"])
def test_verl_sandbox_fusion_payloads(url, case):
    res = post(url, "/run_code", case["payload"])
    assert set(res) >= {"status", "message", "compile_result", "run_result"}
    run = res["run_result"]
    ok = (
        res["status"] == "Success"
        and run["status"] == "Finished"
        and run["stdout"].rstrip("\n") == case["expected"].rstrip("\n")
    )
    assert ok == case["expect_pass"], res


def test_sandbox_fusion_failures_map_to_its_statuses(url):
    base = {
        "compile_timeout": 10,
        "run_timeout": 1,
        "memory_limit_MB": 256,
        "language": "python",
        "stdin": "",
    }
    slow = post(url, "/run_code", {**base, "code": "while True: pass"})
    assert slow["status"] == "Failed" and slow["run_result"]["status"] == "TimeLimitExceeded"
    crash = post(url, "/run_code", {**base, "code": "raise SystemExit(3)"})
    assert crash["status"] == "Failed" and crash["run_result"]["return_code"] == 3
    bad = post(url, "/run_code", {**base, "language": "cpp", "code": "int main() { return x; }"})
    assert bad["status"] == "Failed" and bad["compile_result"]["return_code"] != 0


def _verl_utils():
    src = os.environ.get("R1H_VERL_SRC")
    path = Path(src or "/nonexistent") / "verl/utils/reward_score/sandbox_fusion/utils.py"
    if not path.exists():
        pytest.skip("set R1H_VERL_SRC to a verl checkout to run its sandbox_fusion client unmodified")
    import importlib.util

    spec = importlib.util.spec_from_file_location("verl_sandbox_fusion_utils", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_verl_check_correctness_unmodified(url):
    utils = _verl_utils()
    in_outs = _load("verl_sandbox_fusion.json")["in_outs"]
    good = "a, b = map(int, input().split())\nprint(a + b)\n"
    results, _ = utils.check_correctness(url + "/run_code", in_outs, good, timeout=10, language="python")
    assert results == [True, True]
    results, _ = utils.check_correctness(
        url + "/run_code", in_outs, "print(0)", timeout=10, language="python"
    )
    assert results == [False, False]


def _open_r1_module(name: str):
    """open-r1's competitive_programming modules from a checkout named by $R1H_OPENR1_SRC, loaded
    without the package __init__ (which pulls in morph and async_lru clients these tests do not use)."""
    src = os.environ.get("R1H_OPENR1_SRC")
    folder = Path(src or "/nonexistent") / "src/open_r1/utils/competitive_programming"
    if not folder.is_dir():
        pytest.skip("set R1H_OPENR1_SRC to an open-r1 checkout to run its scoring functions unmodified")
    pytest.importorskip("aiohttp")
    import importlib
    import types

    if "r1h_upstream_cp" not in sys.modules:
        pkg = types.ModuleType("r1h_upstream_cp")
        pkg.__path__ = [str(folder)]
        sys.modules["r1h_upstream_cp"] = pkg
    if name == "cf_scoring" and "async_lru" not in sys.modules:
        # only get_generated_contest_tests (not called here) is decorated with alru_cache
        stub = types.ModuleType("async_lru")
        stub.alru_cache = lambda *a, **k: lambda fn: fn
        sys.modules["async_lru"] = stub
    return importlib.import_module(f"r1h_upstream_cp.{name}")


def test_open_r1_ioi_score_subtask_unmodified(url):
    import asyncio

    ioi = _open_r1_module("ioi_scoring")
    client_mod = _open_r1_module("piston_client")
    cases = {c["name"]: c for c in _load("open_r1_ioi.json")["cases"]}
    payload = cases["correct"]["payload"]
    files = {f["name"]: f["content"] for f in payload["files"]}
    subtask = {
        "id": "sum",
        "subtask": "01-all",
        "score": 100,
        "score_precision": 2,
        "test_names": ["t1", "t2"],
        "test_cases": [("2 3\n", "5\n"), ("10 20\n", "30\n")],
        "time_limit": 1.0,
        "memory_limit": 256,
        "grader_files": [
            (n, t) for n, t in files.items() if n.startswith("graders/") and n != "graders/sum.cpp"
        ],
    }

    async def score(source):
        client = client_mod.PistonClient(url + "/api/v2")
        try:
            return await ioi.score_subtask(client, subtask, source)
        finally:
            await client.session.close()

    good = asyncio.run(score(files["graders/sum.cpp"]))
    bad = asyncio.run(
        score(next(f["content"] for f in cases["wrong"]["payload"]["files"] if "sum.cpp" in f["name"]))
    )
    assert (good.score, good.status) == (1.0, "AC")
    assert (bad.score, bad.status) == (0.0, "WA")


def test_open_r1_codeforces_score_single_test_case_unmodified(url):
    import asyncio

    cf = _open_r1_module("cf_scoring")
    client_mod = _open_r1_module("piston_client")
    problem = {
        "id": "1/A",
        "time_limit": 1,
        "memory_limit": 256,
        "input_mode": "stdio",
        "generated_checker": None,
    }

    async def one(source):
        client = client_mod.PistonClient(url + "/api/v2")
        try:
            return await cf.score_single_test_case(client, problem, "2 3\n", "5\n", source, "python")
        finally:
            await client.session.close()

    good = asyncio.run(one("a, b = map(int, input().split())\nprint(a + b)\n"))
    bad = asyncio.run(one("print(0)\n"))
    # score_submission's rule for one test: compile ok, run.code 0, stdout "1"
    assert good["compile"]["code"] == 0 and good["run"]["code"] == 0 and good["run"]["stdout"].strip() == "1"
    assert bad["compile"]["code"] == 0 and bad["run"]["stdout"].strip() == "0"
