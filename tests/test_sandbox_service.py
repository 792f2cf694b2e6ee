"""The sandbox service end to end: adversarial programs, comparators, function-call tests, API errors.

The service runs in a pid namespace of its own (LocalService(pid_namespace=True)), so a sandbox bug that
let kill(-1) or a fork bomb through would hit the service, failing the test, not the test runner.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from r1harness.sandbox.client import LocalService, SandboxClient
from r1harness.sandbox.isolation import FIRST_SLOT_UID
from r1harness.sandbox.isolation import slot_uid_processes as _sandbox_uid_processes

pytestmark = pytest.mark.sandbox
CANARY = "r1h-canary-7f3a9c0d5e"


@pytest.fixture(scope="module")
def service():
    before = set(os.listdir("/dev/shm"))
    svc = LocalService(slots=2, pid_namespace=True, env={"R1H_CANARY_SECRET": CANARY})
    yield svc
    svc.close()
    assert svc.proc.returncode is not None
    leftover = {d for d in set(os.listdir("/dev/shm")) - before if d.startswith("r1h-sandbox-")}
    assert not leftover, f"session directories left behind: {leftover}"
    assert not _sandbox_uid_processes(), "sandboxed processes outlived the service"
    with open("/proc/self/mountinfo") as f:
        assert "r1h-sandbox" not in f.read(), "a sandbox mount is visible on the host"


@pytest.fixture(scope="module")
def client(service):
    return SandboxClient(service.url, retries=2)


def require_isolation(client, *, cgroups_suffice: bool = False):
    """Namespace-dependent properties: on a machine without bubblewrap, assert that the service reports
    its reduced isolation honestly (safe=false, with warnings) and mark the test xfail, never a pass."""
    caps = client.capabilities()
    iso = caps["isolation"]
    if iso["level"] != "none" or (cgroups_suffice and iso["cgroups"]):
        return
    assert caps["safe"] is False and iso["warnings"], caps
    pytest.xfail(f"reduced isolation reported honestly: {iso['warnings'][0]}")


def run(client, source, stdin="", language="python", **kw):
    return client.run(language=language, source=source, stdin=stdin, **kw)


def judge(client, source, tests, language="python", **kw):
    return client.judge({"language": language, "source": source, "tests": tests, **kw})


def assert_healthy(client):
    assert run(client, "print(6*7)")["stdout"] == "42\n"


# --- capabilities ----------------------------------------------------------------------------------


def test_capabilities_report_the_probed_isolation(client):
    caps = client.capabilities()
    iso = caps["isolation"]
    if iso["bwrap"] and os.geteuid() != 0:  # no per-slot uid: reported, never called safe
        assert caps["safe"] is False and any("uid" in w for w in iso["warnings"])
    elif iso["bwrap"]:
        assert iso["level"] == "full" and caps["safe"] is True
        assert iso["facts"]["pid"] <= 5 and iso["facts"]["seccomp_mode"] == "2"
        assert iso["facts"]["uid"] == FIRST_SLOT_UID and iso["facts"]["no_new_privs"] is True
        assert "Address family not supported" in iso["facts"]["inet_socket"]
    else:  # without bubblewrap the reduced level must be reported, never called safe
        assert iso["level"] == "none" and caps["safe"] is False and iso["warnings"]
    assert caps["languages"]["python"]["available"] is True
    assert ("cgroup" in caps["limits"]["mechanism"]) is iso["cgroups"]
    if not iso["cgroups"]:
        assert any("cgroups" in w for w in iso["warnings"])
    enforced = caps["limits"]["enforced"]
    assert {"memory_limit_mb", "tmpfs_mb", "max_processes", "time_limit_s"} <= set(enforced)
    assert caps["safe"] is (iso["level"] != "none" and iso["uid_per_slot"] and all(enforced.values()))


# --- resource attacks ------------------------------------------------------------------------------


def test_fork_bomb_is_contained(client):
    require_isolation(client, cgroups_suffice=True)
    res = run(client, "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass", time_limit_s=1)
    assert res["status"] in ("timeout", "runtime_error")
    assert not _sandbox_uid_processes()
    assert_healthy(client)


def test_memory_hog_hits_memory_limit(client):
    res = run(client, "x = bytearray(2 * 1024**3)\nprint(len(x))", memory_limit_mb=256)
    assert res["status"] == "memory_limit" and res["stdout"] == ""
    # touched page by page (under cgroups the OOM killer ends it; under rlimits, MemoryError)
    res = run(
        client,
        "import mmap\nm = mmap.mmap(-1, 400 * 1024**2)\nfor i in range(0, len(m), 4096): m[i] = 1",
        memory_limit_mb=256,
    )
    assert res["status"] == "memory_limit"
    assert res["peak_memory_mb"] <= 256 + 1


def test_busy_loop_times_out(client):
    res = run(client, "while True: pass", time_limit_s=1)
    assert res["status"] == "timeout" and res["wall_ms"] < 6000


def test_sleep_forever_times_out_on_wall_clock(client):
    res = run(client, "import time\ntime.sleep(10**6)", time_limit_s=1)
    assert res["status"] == "timeout" and res["wall_ms"] < 6000


def test_hundred_megabytes_of_stdout_is_cut_off(client):
    res = run(client, "import sys\nsys.stdout.write('x' * 100_000_000)", time_limit_s=5)
    assert res["status"] == "output_limit" and res["truncated"] is True
    assert len(res["stdout"]) <= 16 * 1024 * 1024


def test_endless_stderr_flood_is_truncated_and_ends_at_the_time_limit(client):
    res = run(client, "import sys\nwhile True: sys.stderr.write('e' * 65536)", time_limit_s=1)
    assert res["status"] == "timeout" and res["stderr_truncated"] is True
    assert len(res["stderr"]) <= 1024 * 1024


def test_two_mib_of_stderr_with_correct_stdout_passes(client):
    src = "import sys\nsys.stderr.write('e' * (2 * 1024 * 1024))\nprint(sum(map(int, input().split())))"
    res = judge(client, src, [{"input": "2 3\n", "output": "5\n"}])
    assert res["verdict"] == "pass", res
    assert res["tests"][0]["stderr_truncated"] is True


# --- correct programs with threads and child processes (memory is memory, not address space) -------

THREADS_PY = """
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(8) as ex:
    print(sum(ex.map(lambda i: sum(range(i * 1000)), range(64))))
"""
POOL_PY = """
import multiprocessing as mp
def sq(x):
    return x * x
if __name__ == "__main__":
    with mp.Pool(4) as p:
        print(sum(p.map(sq, range(100))))
"""
THREADS_CPP = r"""
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>
int main() {
    std::atomic<long> s{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; i++)
        ts.emplace_back([&s, i] {
            std::vector<int> v(1 << 16, i);
            long t = 0;
            for (int x : v) t += x;
            s += t;
        });
    for (auto& t : ts) t.join();
    printf("%ld\n", (long)s);
}
"""


@pytest.mark.parametrize(
    "language,source,expected",
    [("python", THREADS_PY, "42670992000"), ("python", POOL_PY, "328350"), ("cpp", THREADS_CPP, "1835008")],
    ids=["ThreadPoolExecutor(8)", "multiprocessing.Pool(4)", "8 std::thread"],
)
def test_threads_and_child_processes_pass_at_256_mb(client, language, source, expected):
    res = judge(client, source, [{"input": "", "output": expected}], language=language, memory_limit_mb=256)
    assert res["verdict"] == "pass", res


# --- escapes ---------------------------------------------------------------------------------------


def test_cannot_connect_to_a_host_listener(client):
    require_isolation(client)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(2)
    port = listener.getsockname()[1]
    src = (
        f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "    print('CONNECTED')\nexcept OSError as e:\n    print('blocked', e)"
    )
    res = run(client, src)
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()
    assert "CONNECTED" not in res["stdout"] and "blocked" in res["stdout"]


def test_cannot_read_shadow_or_the_servers_secrets(client):
    src = r"""
import os, glob
found = []
for path in ["/etc/shadow", "/etc/passwd", "/proc/1/environ"] + glob.glob("/proc/*/environ"):
    try:
        with open(path, "rb") as f:
            data = f.read()
        found.append(path)
        if b"r1h-canary" in data:
            print("CANARY in", path)
    except OSError:
        pass
print("env", sorted(os.environ))
print("CANARY" if any("r1h-canary" in v for v in os.environ.values()) else "clean", found)
"""
    res = run(client, src)
    assert res["status"] == "ok"
    assert CANARY not in res["stdout"] and "CANARY" not in res["stdout"]
    assert "/etc/shadow" not in res["stdout"]
    assert "R1H_CANARY_SECRET" not in res["stdout"]


def test_cannot_write_or_delete_outside_the_working_dir(client, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    src = f"""
import os
ok = []
for path in ["/usr/evil", "/sandbox/evil", "/etc/evil", "/evil", "{victim}", "/usr/bin/python3"]:
    try:
        with open(path, "w") as f:
            f.write("x")
        ok.append("wrote " + path)
    except OSError:
        pass
for path in ["/usr/bin/python3", "/sandbox/main.py", "{victim}"]:
    try:
        os.remove(path)
        ok.append("deleted " + path)
    except OSError:
        pass
open("/tmp/scratch", "w").write("scratch is fine")
print(ok)
"""
    res = run(client, src)
    assert res["status"] == "ok", res
    assert res["stdout"].strip() == "[]"
    assert victim.read_text() == "keep me"


def test_no_files_survive_into_the_next_run(client):
    require_isolation(client)
    writer = "open('/tmp/leftover', 'w').write('x')\nprint('wrote')"
    reader = "import os\nprint(os.path.exists('/tmp/leftover'), sorted(os.listdir('/tmp')))"
    assert run(client, writer)["stdout"] == "wrote\n"
    assert run(client, reader)["stdout"] == "False []\n"
    # and between two tests of one submission
    src = "import os\nprint(os.path.exists('/tmp/mark'))\nopen('/tmp/mark', 'w').write('1')"
    res = judge(client, src, [{"input": "", "output": "False"}, {"input": "", "output": "False"}])
    assert res["verdict"] == "pass", res


def test_killing_the_parent_and_everything_is_contained(client):
    src = (
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
        "os.kill(-1, signal.SIGKILL)\nprint('alive')"
    )
    res = run(client, src)
    assert res["status"] != "ok" or "alive" in res["stdout"]
    assert_healthy(client)


def test_setsid_double_fork_daemon_dies_with_its_verdict(client):
    require_isolation(client, cgroups_suffice=True)
    src = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(60)
    os._exit(0)
print('parent done')
"""
    res = run(client, src, time_limit_s=2)
    assert res["status"] == "ok" and res["wall_ms"] < 5000
    time.sleep(0.2)
    assert not _sandbox_uid_processes(), "the daemon outlived its verdict"


# --- gaming the judge ------------------------------------------------------------------------------

EXIT_EARLY = [
    "import sys\nsys.exit(0)\ndef add(a, b): return a + b",
    "import os\nos._exit(0)\ndef add(a, b): return a + b",
]


@pytest.mark.parametrize("src", EXIT_EARLY, ids=["sys.exit", "os._exit"])
def test_exiting_before_the_tests_never_passes(client, src):
    functional = {"type": "functional", "fn_name": "add", "tests": [{"input": "1\n2", "output": "3"}]}
    assert judge(client, src, functional)["verdict"] == "wrong_answer"
    humaneval = {"type": "assert", "entry_point": "add", "test": "def check(c):\n    assert c(1, 2) == 3\n"}
    assert judge(client, src, humaneval)["verdict"] in ("wrong_answer", "runtime_error")
    assert judge(client, src, [{"input": "", "output": "3"}])["verdict"] == "wrong_answer"


def test_always_equal_return_objects_fail(client):
    src = (
        "class A:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
        "def add(a, b): return A()"
    )
    functional = {"type": "functional", "fn_name": "add", "tests": [{"input": "1\n2", "output": "3"}]}
    assert judge(client, src, functional)["verdict"] != "pass"
    humaneval = {"type": "assert", "entry_point": "add", "test": "def check(c):\n    assert c(1, 2) == 3\n"}
    assert judge(client, src, humaneval)["verdict"] != "pass"
    honest = "def add(a, b): return a + b"
    assert judge(client, honest, functional)["verdict"] == "pass"
    assert judge(client, honest, humaneval)["verdict"] == "pass"


HACKER = r"""
import os, sys, glob
found = []
parent = ["/proc/%d/%s" % (os.getppid(), n) for n in ("environ", "cmdline", "fd/0")]
for path in glob.glob("/sandbox/*") + parent:
    try:
        found.append(path + ":" + open(path, errors="replace").read()[:2000])
    except Exception as e:
        found.append(path + " " + type(e).__name__)
try:
    found.append("stdin:" + sys.stdin.read())
except Exception as e:
    found.append("stdin " + type(e).__name__)
for target in ["/proc/%d/fd/1" % os.getppid(), "/proc/%d/mem" % os.getppid()]:
    try:
        with open(target, "w") as f:
            f.write("forged")
        found.append("wrote " + target)
    except Exception as e:
        found.append(target + " " + type(e).__name__)
try:
    import __main__
    found.append("nonce=%r" % (getattr(__main__, "_nonce", None),))
    found.append("payload=%r" % (getattr(__main__, "_payload", None),))
except Exception as e:
    found.append(repr(e))
sys.stderr.write("\n".join(found))
def add(a, b):
    return 0
"""


def test_humaneval_style_tests_cannot_be_read_or_forged(client):
    """The submission runs in a child that never holds the nonce, the test code or the result channel."""
    secret = "SECRET-EXPECTED-41"
    tests = {
        "type": "assert",
        "entry_point": "add",
        "test": f"def check(c):\n    # {secret}\n    assert c(20, 21) == 41\n",
    }
    res = judge(client, HACKER, tests)
    assert res["verdict"] != "pass"
    leaked = res["tests"][0]["stdout"] + res["tests"][0]["stderr"]
    assert secret not in leaked and "wrote /proc" not in leaked
    assert "nonce=None" in leaked and "payload=None" in leaked  # the hacker ran, and found nothing
    assert "mem PermissionError" in leaked


@pytest.mark.parametrize(
    "printed,expected,comparator,verdict",
    [
        ("1 2", "1 2 3", "tokens", "wrong_answer"),  # prefix only
        ("1 2 3\n4", "1 2 3", "tokens", "wrong_answer"),  # extra line
        ("1 2 3\r\n", "1 2 3\n", "lines", "pass"),  # CRLF
        ("0.3333333", "0.33333333", "float", "pass"),  # within 1e-6
        ("0.334", "0.333", "float", "wrong_answer"),
        ("yes", "YES", "yesno", "pass"),
        ("yes", "YES", "tokens", "wrong_answer"),
    ],
)
def test_comparators_through_the_service(client, printed, expected, comparator, verdict):
    src = f"import sys\nsys.stdout.write({printed!r})"
    res = judge(client, src, [{"input": "", "output": expected}], comparator=comparator)
    assert res["verdict"] == verdict


def test_checker_decides_and_a_crashing_checker_is_a_sandbox_error(client):
    checker = (
        "import sys\ninp, out, ans = (open(p).read() for p in sys.argv[1:4])\n"
        "sys.exit(0 if sorted(out.split()) == sorted(ans.split()) else 1)"
    )
    tests = [{"input": "", "output": "1 2 3"}]
    ok = judge(
        client,
        "print(3, 1, 2)",
        tests,
        comparator="checker",
        checker={"language": "python", "source": checker},
    )
    assert ok["verdict"] == "pass"
    bad = judge(
        client,
        "print(3, 1, 1)",
        tests,
        comparator="checker",
        checker={"language": "python", "source": checker},
    )
    assert bad["verdict"] == "wrong_answer"
    crash = judge(
        client,
        "print(1)",
        tests,
        comparator="checker",
        checker={"language": "python", "source": "raise RuntimeError('checker bug')"},
    )
    assert crash["verdict"] == "sandbox_error"


# --- languages, API ---------------------------------------------------------------------------------


def test_cpp_compiles_once_and_runs_every_test(client):
    src = '#include <iostream>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a+b<<"\\n";}'
    res = judge(
        client, src, [{"input": "1 2", "output": "3"}, {"input": "5 6", "output": "11"}], language="cpp"
    )
    assert res["verdict"] == "pass" and res["passed"] == 2
    bad = judge(client, "int main( {", [{"input": "", "output": ""}], language="cpp")
    assert bad["verdict"] == "compile_error" and "error" in bad["compile_error"]


def test_stop_on_first_failure_and_pass_fraction(client):
    tests = [{"input": str(i), "output": str(i * 2 if i < 2 else -1)} for i in range(4)]
    full = judge(client, "print(int(input()) * 2)", tests)
    assert full["passed"] == 2 and full["pass_fraction"] == 0.5 and len(full["tests"]) == 4
    stopped = judge(client, "print(int(input()) * 2)", tests, stop_on_first_failure=True)
    assert len(stopped["tests"]) == 3 and stopped["verdict"] == "wrong_answer"


def test_results_are_cached_by_content(client):
    src = f"print(int(input()) + {time.time_ns()})"
    first = judge(client, src, [{"input": "1", "output": "x"}])
    second = judge(client, src, [{"input": "1", "output": "x"}])
    assert first["cached"] is False and second["cached"] is True and second["verdict"] == first["verdict"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"language": "cobol", "source": "x", "tests": [{"input": "", "output": ""}]}, "language"),
        ({"language": "python", "tests": [{"input": "", "output": ""}]}, "source"),
        ({"language": "python", "source": "x", "tests": [{"input": ""}]}, "tests[0].output"),
        (
            {
                "language": "python",
                "source": "x",
                "tests": [],
            },
            "tests",
        ),
        (
            {
                "language": "python",
                "source": "x",
                "tests": [{"input": "", "output": ""}],
                "time_limit_s": 999,
            },
            "limits",
        ),
    ],
)
def test_bad_requests_get_400_naming_the_field(service, body, field):
    req = urllib.request.Request(service.url + "/v1/judge", data=json.dumps(body).encode())
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req)
    assert info.value.code == 400
    assert json.loads(info.value.read())["field"] == field


def test_piston_execute_is_compatible(client):
    out = client.post(
        "/api/v2/execute",
        {
            "language": "python",
            "version": "*",
            "files": [{"name": "main.py", "content": "print(input()[::-1])"}],
            "stdin": "abc",
            "run_timeout": 3000,
        },
    )
    assert out["run"]["stdout"] == "cba\n" and out["run"]["code"] == 0 and out["run"]["signal"] is None
    crashed = client.post(
        "/api/v2/execute",
        {"language": "python", "version": "*", "files": [{"content": "import os\nos.abort()"}]},
    )
    assert crashed["run"]["signal"] == "SIGABRT"


def test_a_retried_request_joins_the_run_already_going(client):
    src = "import time\ntime.sleep(1.5)\nprint(1)"
    body = {"language": "python", "source": src, "tests": [{"input": "", "output": "1"}], "time_limit_s": 3}
    before = client.get("/health")["joined"]
    out = []
    threads = [threading.Thread(target=lambda: out.append(client.judge(dict(body)))) for _ in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.2)
    for t in threads:
        t.join()
    assert [r["verdict"] for r in out] == ["pass"] * 3
    assert client.get("/health")["joined"] - before == 2  # ran once, the two retries waited for it


def test_submission_time_budget_bounds_a_sleeping_program(client):
    tests = [{"input": "", "output": "1"}] * 10
    start = time.monotonic()
    res = judge(client, "import time\ntime.sleep(30)", tests, time_limit_s=2, time_budget_s=3)
    assert time.monotonic() - start < 10  # not 10 x (2 x 2 + 1) s
    assert res["verdict"] == "timeout" and len(res["tests"]) < 10


def test_a_client_that_disconnects_stops_its_submission(service, client):
    src = "import time\ntime.sleep(1)\nprint(1)"
    body = json.dumps(
        {"language": "python", "source": src, "tests": [{"input": str(i), "output": "1"} for i in range(20)]}
    ).encode()
    before = client.get("/health")["cancelled"]
    host, port = service.url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/judge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        time.sleep(1.5)
    deadline = time.monotonic() + 10
    while client.get("/health")["cancelled"] == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.get("/health")["cancelled"] == before + 1


def test_batch_judges_many(client):
    reqs = [
        {"language": "python", "source": f"print({i})", "tests": [{"input": "", "output": str(i % 3)}]}
        for i in range(6)
    ]
    results = client.judge_many(reqs)
    assert [r["verdict"] == "pass" for r in results] == [i < 3 for i in range(6)]


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def test_a_crashed_launcher_is_a_sandbox_error_and_the_slot_recovers(service, client):
    import signal

    launchers = [
        p
        for p in _children(service.server_pid())
        if b"r1harness.sandbox.launcher" in open(f"/proc/{p}/cmdline", "rb").read()
    ]
    assert launchers, "no launcher processes found under the service"
    result = {}
    src = f"import time\ntime.sleep(3)\nprint(1)  # {time.time_ns()}"
    worker = threading.Thread(
        target=lambda: result.update(judge(client, src, [{"input": "", "output": "1"}]))
    )
    worker.start()
    time.sleep(1.0)
    for pid in launchers:
        os.kill(pid, signal.SIGKILL)
    worker.join(timeout=30)
    assert result["verdict"] == "sandbox_error" and result["cached"] is False
    assert_healthy(client)
    again = judge(client, src, [{"input": "", "output": "1"}])
    assert again["verdict"] == "pass" and again["cached"] is False  # the failure was not remembered


# --- without cgroups (as on a cgroup-v2 host without delegation) -------------------------------------

FILL = """
import os
written = 0
for d in ("/dev", "/dev/shm", "/tmp"):
    try:
        for k in range(50):  # many files: a per-file size limit alone does not bound this
            with open(f"{d}/fill{k}", "wb") as f:
                for _ in range(30):
                    f.write(b"x" * 2**20)
                    written += 1
    except OSError:
        pass
print(written)
"""


@pytest.fixture(scope="module")
def client_no_cgroups():
    with LocalService(slots=1, extra_args=("--no-cgroups",)) as svc:
        yield SandboxClient(svc.url, retries=2)


def test_without_cgroups_every_limit_still_holds(client_no_cgroups):
    c = client_no_cgroups
    caps = c.capabilities()
    if caps["isolation"]["level"] == "none":
        pytest.skip("needs bubblewrap")
    # writable tmpfs mounts are sized (and /dev is read-only): nowhere near 1.5 GB under a 512 MB limit
    filled = run(c, FILL, memory_limit_mb=512, time_limit_s=10)
    assert filled["status"] in ("ok", "memory_limit") and int(filled["stdout"] or 0) <= 2 * 64, filled
    assert caps["isolation"]["cgroups"] is False and caps["safe"] is True
    assert "MemoryWatch" in caps["limits"]["enforced"]["memory_limit_mb"]
    hog = run(c, "x = bytearray(900 * 2**20)\nfor i in range(0, len(x), 4096): x[i] = 1", memory_limit_mb=256)
    assert hog["status"] == "memory_limit", hog
    assert run(c, THREADS_PY, memory_limit_mb=256)["stdout"].strip() == "42670992000"
