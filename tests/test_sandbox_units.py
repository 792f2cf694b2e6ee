"""Pure parts of the sandbox and the code verifier: no service started."""

from __future__ import annotations

import json
import struct
import time

import pytest

from r1harness.errors import ConfigError
from r1harness.sandbox import seccomp
from r1harness.sandbox.comparators import COMPARATORS, values_equal
from r1harness.sandbox.limits import Limits, ServiceConfig
from r1harness.sandbox.requests import RequestError, parse_judge
from r1harness.verify.code import build_request, extract_code, to_verdict, verify_code_batch


@pytest.mark.parametrize(
    "name,out,exp,ok",
    [
        ("tokens", "1 2 3\n", "1  2\n3", True),
        ("tokens", "1 2", "1 2 3", False),
        ("tokens", "1 2 3 4", "1 2 3", False),
        ("lines", "a b\r\nc\r\n\r\n", "a b\nc", True),
        ("lines", "a  b\nc", "a b\nc", False),
        ("float", "1.0000001 2", "1 2", True),
        ("float", "1.001", "1", False),
        ("float", "nan", "1", False),
        ("yesno", "Yes\nno", "YES NO", True),
        ("yesno", "Y", "YES", False),
    ],
)
def test_comparators(name, out, exp, ok):
    assert COMPARATORS[name](out, exp, 1e-6) is ok


@pytest.mark.parametrize(
    "got,expected,ok",
    [
        ([1, 2], [1, 2], True),
        (True, 1, False),
        (1, 1.0000000001, True),
        ("1", 1, False),
        ({"a": [1.0]}, {"a": [1]}, True),
        ([1, 2], [1, 2, 3], False),
        (None, 0, False),
    ],
)
def test_function_values_compare_by_type_and_tolerance(got, expected, ok):
    assert values_equal(got, expected) is ok


def test_seccomp_filter_is_well_formed():
    prog = seccomp.build_filter()
    assert len(prog) % 8 == 0 and len(prog) // 8 < 4096  # the kernel's BPF_MAXINSNS
    first = struct.unpack("=HBBI", prog[:8])
    assert first == (0x20, 0, 0, 4)  # it starts by checking the architecture
    denied_nrs = {struct.unpack("=HBBI", prog[i : i + 8])[3] for i in range(0, len(prog), 8)}
    assert set(seccomp.DENIED_SYSCALLS.values()) <= denied_nrs


def test_limits_validation_names_the_field():
    with pytest.raises(ConfigError, match="time_limit_s"):
        Limits(time_limit_s=0)
    with pytest.raises(ConfigError, match="memory_limit_mb"):
        Limits(memory_limit_mb=4)
    with pytest.raises(ConfigError, match="unknown limit"):
        Limits().with_overrides(cpu=3)
    assert Limits(time_limit_s=2).wall_s == 5.0


def test_service_config_from_yaml(tmp_path):
    from pathlib import Path

    repo_default = Path(__file__).resolve().parents[1] / "sandbox" / "limits.yaml"
    cfg = ServiceConfig.from_yaml(repo_default)
    assert cfg.slots >= 1 and cfg.run.time_limit_s > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("slots: 2\nrun: {time_limt_s: 3}\n")
    with pytest.raises(ConfigError, match="bad.yaml.*time_limt_s"):
        ServiceConfig.from_yaml(bad)


def test_request_validation():
    cfg = ServiceConfig()
    req = parse_judge({"language": "py3", "source": "print(1)", "tests": [{"input": "", "output": "1"}]}, cfg)
    assert req.language == "python" and req.kind == "stdio"
    func = parse_judge(
        {
            "language": "python",
            "source": "x",
            "tests": {
                "type": "functional",
                "fn_name": "f",
                "tests": [{"input": '[1, 2]\n"a"', "output": "('a', True)"}],
            },
        },
        cfg,
    )
    assert func.tests[0] == {"args": [[1, 2], "a"], "expected": ("a", True)}
    with pytest.raises(RequestError) as info:
        parse_judge({"language": "python", "source": "x", "tests": {"type": "functional", "tests": []}}, cfg)
    assert info.value.field == "tests.fn_name"
    with pytest.raises(RequestError, match="at most"):
        parse_judge(
            {
                "language": "python",
                "source": "x",
                "tests": [{"input": "", "output": ""}] * (cfg.max_tests + 1),
            },
            cfg,
        )
    assert (
        req.cache_key()
        != parse_judge(
            {"language": "python", "source": "print(2)", "tests": [{"input": "", "output": "1"}]}, cfg
        ).cache_key()
    )


@pytest.mark.parametrize(
    "completion,code,lang",
    [
        ("<think>```python\nprint(0)\n```</think>\n```python\nprint(1)\n```", "print(1)\n", "python"),
        ("```cpp\nint main(){}\n```\ntext\n```py\nprint(2)\n```", "print(2)\n", "python"),
        ("```c++\nint main(){}\n```", "int main(){}\n", "cpp"),
        ("<think>```python\nprint(0)\n```</think> no code", None, None),
        ("```\nprint(3)\n```", "print(3)\n", None),
    ],
)
def test_extract_code_takes_the_last_block_outside_think(completion, code, lang):
    assert extract_code(completion) == (code, lang)


def test_build_request_shapes():
    he = {
        "problem": "def f(x):\n",
        "tests": None,
        "metadata": json.dumps(
            {"entry_point": "f", "test": "def check(c): pass", "prompt": "import math\ndef f(x):\n"}
        ),
    }
    body = build_request("    return x\n", "python", he, stop_on_first_failure=True)
    assert body["source"] == "import math\ndef f(x):\n    return x\n" and body["tests"]["type"] == "assert"
    full = build_request("def f(x):\n    return x\n", "python", he, stop_on_first_failure=True)
    assert full["source"].startswith("import math\ndef f(x):\n\ndef f(x):")
    lcb = {
        "tests": json.dumps([{"input": "1", "output": "2", "testtype": "functional"}]),
        "metadata": json.dumps({"starter_code": "class Solution:\n    def twice(self, n: int) -> int:\n"}),
    }
    body = build_request("x", "python", lcb, stop_on_first_failure=False)
    assert body["tests"]["type"] == "functional" and body["tests"]["fn_name"] == "twice"
    cc = {
        "tests": json.dumps([{"input": "1", "output": "2"}]),
        "metadata": json.dumps({"time_limit_ms": 1500}),
    }
    body = build_request("x", "python", cc, stop_on_first_failure=False)
    assert body["tests"] == [{"input": "1", "output": "2"}] and body["time_limit_s"] == 1.5


def _result(verdict, passed, total):
    return {
        "verdict": verdict,
        "passed": passed,
        "total": total,
        "pass_fraction": passed / total,
        "tests": [],
    }


def test_verdict_mapping_never_scores_infrastructure_failures():
    req = {"source": "x", "language": "python"}
    assert to_verdict(_result("pass", 3, 3), req, "all").score == 1.0
    assert to_verdict(_result("wrong_answer", 1, 4), req, "all").score == 0.0
    assert to_verdict(_result("wrong_answer", 1, 4), req, "fraction").score == 0.25
    assert to_verdict(_result("compile_error", 0, 4), req, "fraction").score == 0.0
    err = to_verdict(_result("sandbox_error", 0, 4), req, "fraction")
    assert err.status == "error" and err.score is None


def test_unreachable_service_gives_error_verdicts_not_zero():
    refs = [{"tests": json.dumps([{"input": "", "output": "1"}])}]
    out = verify_code_batch(
        ["```python\nprint(1)\n```", "no code here"],
        refs * 2,
        url="http://127.0.0.1:9",
        concurrency=1,
        retries=1,
    )
    assert out[0].status == "error" and out[0].score is None and "unavailable" in out[0].reason
    assert out[1].status == "unparseable" and out[1].score == 0.0


# --- fairness, cgroup v2, drop-in API mappings ---------------------------------------------------------


def test_fair_gate_serves_clients_round_robin():
    import threading
    import time

    from r1harness.sandbox.slots import FairGate, QueueTimeout

    gate, order = FairGate(1), []
    gate.acquire("holder", 1)
    threads = []
    for client, n in (("flood", 4), ("small", 2)):
        for i in range(n):
            t = threading.Thread(
                target=lambda c=client, i=i: (gate.acquire(c, 10), order.append(c), gate.release())
            )
            t.start()
            threads.append(t)
            while gate.waiting < len(threads):  # queued in this order: the flood's four, then two
                time.sleep(0.001)
    gate.release()
    for t in threads:
        t.join()
    assert order[:4] == ["flood", "small", "flood", "small"], order
    gate.acquire("x", 1)
    with pytest.raises(QueueTimeout):
        gate.acquire("y", 0.1)


def test_cgroup_v2_slot_protocol_on_a_fake_tree(tmp_path):
    """cgroup v2 cannot be exercised on this (v1) machine: the file protocol is checked on a fake tree."""
    from r1harness.sandbox.cgroups import SlotCgroupV2

    root = tmp_path
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    own = root / "svc"
    own.mkdir()
    (own / "cgroup.subtree_control").write_text("")
    slot = own / "r1h-t"
    slot.mkdir()
    for name, text in {
        "memory.max": "max",
        "memory.swap.max": "max",
        "pids.max": "max",
        "memory.peak": "0",
        "memory.current": "0",
        "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
        "cgroup.procs": "",
    }.items():
        (slot / name).write_text(text)
    group = SlotCgroupV2.create("t", root=str(root), own="/svc")
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids"
    group.configure(256 * 1024 * 1024, 36)
    assert (slot / "memory.max").read_text() == str(256 * 1024 * 1024)
    assert (slot / "memory.swap.max").read_text() == "0" and (slot / "pids.max").read_text() == "36"
    assert group.join_paths() == [f"{slot}/cgroup.procs"]
    (slot / "memory.peak").write_text(str(300 * 1024 * 1024))
    (slot / "memory.events").write_text("low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n")
    peak, hit = group.usage()
    assert hit is True and peak == 300.0


def test_codeforces_normalization_and_memory_units():
    from r1harness.sandbox.compat import _diff_b, _memory_mb, cf_normalize, piston_package

    assert cf_normalize("yes\n\n no  \n") == cf_normalize("YES NO")
    assert cf_normalize("yesno") != cf_normalize("YESNO")  # whole words only
    assert _diff_b("1  2\n3\n\n", "1 2\n3") and not _diff_b("1 2 3", "1 2\n3")
    assert _memory_mb(256, 512) == 256 and _memory_mb(256 * 1024 * 1024, 512) == 256
    assert piston_package("cms_ioi", []).name == "cms"
    assert piston_package("cf_python3", []).language == "python"
    assert piston_package("python3", [{"name": "main.py"}]) is None  # plain Piston run
    assert piston_package("c++17", [{"name": "main.cpp"}, {"name": "input.txt"}]).name == "codeforces"


def test_sandbox_fusion_response_follows_its_status_rules():
    from r1harness.sandbox.compat import fusion_response

    base = {"exit_code": 0, "signal": None, "stdout": "3\n", "stderr": "", "wall_ms": 12.0}
    assert fusion_response({**base, "status": "ok"})["status"] == "Success"
    timed = fusion_response({**base, "status": "timeout", "exit_code": None, "signal": 9})
    assert timed["status"] == "Failed" and timed["run_result"]["status"] == "TimeLimitExceeded"
    crashed = fusion_response(
        {**base, "status": "sandbox_error", "exit_code": None, "stderr": "launcher died"}
    )
    assert crashed["status"] == "SandboxError"
    syntax = fusion_response({**base, "status": "compile_error", "exit_code": None})
    assert syntax["status"] == "Failed" and syntax["compile_result"] is None


class _FakeSlot:
    """Speaks the launcher protocol: a test 'passes' when its input is not 'bad'."""

    def __init__(self, name, log):
        self.name, self.log = name, log

    def call(self, req):
        if req["op"] == "open":
            return {"session": f"{self.name}-session"}
        if req["op"] == "close":
            return {}
        self.log.append((self.name, req["stdin"]))
        time.sleep(0.01)  # a run takes time: the slots interleave
        out = "" if req["stdin"] == "bad" else req["stdin"]
        return {
            "status": "ok",
            "exit_code": 0,
            "signal": None,
            "stdout": out,
            "stderr": "",
            "cpu_ms": 1.0,
            "wall_ms": 1.0,
            "peak_memory_mb": 1.0,
            "truncated": False,
        }


@pytest.mark.parametrize("stop", [True, False])
def test_helpers_share_a_submissions_tests_and_stop_deterministically(stop):
    from r1harness.sandbox.judge import judge
    from r1harness.sandbox.limits import COMPILE_LIMITS

    inputs = [str(i) for i in range(20)]
    inputs[7] = "bad"
    body = {
        "language": "python",
        "source": "print(input())",
        "tests": [{"input": i, "output": i} for i in inputs],
        "stop_on_first_failure": stop,
    }
    req = parse_judge(body, ServiceConfig())
    log = []
    res = judge(
        _FakeSlot("a", log), req, COMPILE_LIMITS, helpers=[_FakeSlot("b", log)], keep_helping=lambda: True
    )
    assert res["verdict"] == "wrong_answer"
    assert len(res["tests"]) == (8 if stop else 20)  # the same whatever the helpers ran
    assert res["passed"] == (7 if stop else 19)
    if not stop:
        assert {name for name, _ in log} == {"a", "b"}  # both slots ran tests
