"""Languages the sandbox runs, and the in-sandbox harness for function-call tests.

Command lines name paths inside the sandbox (/sandbox is the session's directory, read-only while
tests run). Function-call harnesses read a per-run nonce from stdin *before* the untrusted code runs
and print `<nonce> <json>` as their last act, so exiting early (sys.exit(0), os._exit(0)) never
produces a result line, and return values leave the sandbox as JSON to be compared by the service.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from r1harness.sandbox.isolation import SANDBOX_WORK, python_executable

W = SANDBOX_WORK


@dataclass(frozen=True)
class Language:
    name: str
    source_file: str
    run: tuple[str, ...]
    compile: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()

    def available(self) -> bool:
        exe = (self.compile or self.run)[0]
        if exe.startswith("/") and not exe.startswith(W):
            return os.path.exists(exe)
        return bool(shutil.which(exe))


LANGUAGES = {
    "python": Language(
        "python", "main.py", (python_executable(), "-I", f"{W}/main.py"), aliases=("python3", "py", "py3")
    ),
    "cpp": Language(
        "cpp",
        "main.cpp",
        (f"{W}/main",),
        compile=("/usr/bin/g++", "-std=c++17", "-O2", "-pipe", "-o", f"{W}/main", f"{W}/main.cpp"),
        aliases=("c++", "cpp17", "c++17", "g++"),
    ),
}
HARNESS_ARGV = (python_executable(), "-I", f"{W}/harness.py", W)  # + mode [+ entry_point]
ALIASES = {alias: lang for lang in LANGUAGES.values() for alias in (lang.name, *lang.aliases)}


def resolve(name: str) -> Language | None:
    return ALIASES.get(str(name).lower())


# Runs inside the sandbox with the system Python (-I: /sandbox is not on sys.path). The submission is
# executed under the module name "solution", so `if __name__ == "__main__":` blocks do not run.
#
# functional: in one process: call fn(*args) and print `<nonce> <json>`. Forging that line gains
#   nothing: the expected value is never in the sandbox and the service compares.
# assert (HumanEval): two processes. The parent (trusted code: the prelude, i.e. the dataset's prompt,
#   and check()) reads the nonce and the test code from stdin, makes itself non-dumpable (so the child,
#   same uid, cannot read its memory through /proc), then forks. Only the child runs the submission; it
#   answers each call of the candidate over a pipe with a type-tagged encoding of plain data, which the
#   parent decodes into genuine builtins before check() compares them. The child never sees the
#   nonce, the test code or the parent's stdout, so it can neither forge a pass nor read expected values.
PY_FUNCTION_HARNESS = r"""
import json, os, sys
_mode = sys.argv[2]      # argv: /sandbox functional|assert [entry_point]; nothing secret is in argv
_nonce = _payload = None
_out = sys.stdout
_type = type
_SEQ = {list: None, tuple: "t", set: "s", frozenset: "fs"}

def _enc(v, depth=0):
    # plain data only: an object with a forged __eq__ is not an answer
    t = _type(v)
    if depth > 200:
        raise TypeError("value nested too deeply")
    if v is None or t is bool or t is int or t is str:
        return v
    if t is float:
        return {"f": repr(v)}
    if t in _SEQ:
        items = [_enc(x, depth + 1) for x in v]
        return items if t is list else {_SEQ[t]: items}
    if t is dict:
        return {"d": [[_enc(k, depth + 1), _enc(x, depth + 1)] for k, x in v.items()]}
    if t is complex:
        return {"c": [repr(v.real), repr(v.imag)]}
    if t is bytes:
        return {"b": v.hex()}
    raise TypeError("value of type %s is not plain data" % t.__name__)

def _dec(x):
    if isinstance(x, list):
        return [_dec(i) for i in x]
    if not isinstance(x, dict):
        return x
    (tag, v), = x.items()
    if tag == "f":
        return float(v)
    if tag == "t":
        return tuple(_dec(i) for i in v)
    if tag == "s":
        return set(_dec(i) for i in v)
    if tag == "fs":
        return frozenset(_dec(i) for i in v)
    if tag == "d":
        return {_dec(k): _dec(i) for k, i in v}
    if tag == "c":
        return complex(float(v[0]), float(v[1]))
    if tag == "b":
        return bytes.fromhex(v)
    raise ValueError("unknown tag %r" % tag)

def _finish(result):
    _out.write("\n" + _nonce + " " + json.dumps(result) + "\n")
    _out.flush()

def _load_solution(ns):
    with open(sys.argv[1] + "/solution.py", encoding="utf-8") as f:
        code = compile(f.read(), "solution.py", "exec")
    exec(code, ns)

def _read_stdin():
    global _nonce, _payload
    _nonce = sys.stdin.readline().strip()
    _payload = json.loads(sys.stdin.read() or "null")

def _functional():
    _read_stdin()
    ns = {"__name__": "solution", "__builtins__": __builtins__}
    # LeetCode-style starters use List, Optional, ... without importing them
    exec("from typing import *\nimport collections, math, heapq, bisect, itertools, functools, string, re\n"
         "from collections import *\nfrom functools import *\nfrom itertools import *\nfrom heapq import *\n"
         "from bisect import *\nfrom math import *", ns)
    _load_solution(ns)
    name = _payload["fn_name"]
    sol = ns.get("Solution")
    fn = getattr(sol(), name) if sol is not None and hasattr(sol, name) else ns[name]
    value = _dec(_enc(fn(*_payload["args"])))
    if _type(value) in (set, frozenset, complex, bytes):
        value = repr(value)
    _finish({"ok": True, "value": value})

def _child(requests, answers):
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # stdin (nonce, tests) is for the parent only
    os.dup2(2, 1)  # the submission's prints go to stderr, never into the result channel
    sys.stdin, sys.stdout = open(os.devnull), sys.stderr
    ns = {"__name__": "solution", "__builtins__": __builtins__}
    _load_solution(ns)
    cand = ns[sys.argv[3]]
    for line in requests:
        args, kwargs = _dec(json.loads(line))
        try:
            reply = {"ok": _enc(cand(*args, **kwargs))}
        except Exception as exc:
            reply = {"err": "%s: %s" % (_type(exc).__name__, exc)}
        answers.write(json.dumps(reply) + "\n")
        answers.flush()
    os._exit(0)

def _assert_mode():
    import ctypes
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: /proc/<us>/mem, fd, environ closed
    req_r, req_w = os.pipe()
    ans_r, ans_w = os.pipe()
    pid = os.fork()  # before stdin is read: the child's copy of memory holds no nonce and no tests
    if pid == 0:
        os.close(req_w); os.close(ans_r)
        _child(os.fdopen(req_r, "r"), os.fdopen(ans_w, "w"))
    os.close(req_r); os.close(ans_w)
    _read_stdin()
    requests, answers = os.fdopen(req_w, "w"), os.fdopen(ans_r, "r")

    def candidate(*args, **kwargs):
        requests.write(json.dumps(_enc([list(args), kwargs])) + "\n")
        requests.flush()
        line = answers.readline()
        if not line:
            raise RuntimeError("the submission exited before answering")
        reply = json.loads(line)
        if "err" in reply:
            raise RuntimeError("the submission raised " + reply["err"])
        return _dec(reply["ok"])

    ns = {"__name__": "__check__"}
    exec(compile(_payload.get("prelude") or "", "prelude.py", "exec"), ns)
    ns[sys.argv[3]] = candidate  # some checks call the function by its name
    exec(compile(_payload["test"], "check.py", "exec"), ns)
    try:
        ns["check"](candidate)
    except AssertionError:
        _finish({"ok": False, "reason": "assertion failed"})
    else:
        _finish({"ok": True})

if _mode == "assert":
    _assert_mode()
else:
    _functional()
"""


# Runs inside the sandbox for a cms_ioi Communication task (guipenedo/piston cms_ioi run script,
# "Communication" branch): FIFO pairs per user process, the user processes first, then the manager with
# the test input on stdin and a wall-clock limit. The harness reads the nonce before starting anything
# and is not dumpable; the manager binary is execute-only (so not dumpable either): the submission's
# processes can neither read the nonce nor write into the manager's output.
COMMUNICATION_HARNESS = r"""
import ctypes, json, os, signal, subprocess, sys
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
nonce = sys.stdin.readline().strip()
cfg = json.loads(sys.stdin.readline())
data = sys.stdin.read().encode()
n, exe = cfg["num_processes"], "/sandbox/graders/" + cfg["task"]
users, manager_args = [], []
for i in range(n):
    d = "/tmp/fifo%d" % i
    os.mkdir(d)
    os.chmod(d, 0o755)
    u_to_m, m_to_u = d + "/u%d_to_m" % i, d + "/m_to_u%d" % i
    for f in (u_to_m, m_to_u):
        os.mkfifo(f)
        os.chmod(f, 0o666)
    manager_args += [u_to_m, m_to_u]
    extra = [str(i)] if n != 1 else []
    if cfg["user_io"] == "fifo_io":
        argv = [exe, m_to_u, u_to_m] + extra
        users.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
    else:
        sh = 'exec "$0" "$@" < "%s" > "%s" 2>/dev/null' % (m_to_u, u_to_m)
        users.append(subprocess.Popen(["/bin/sh", "-c", sh, exe] + extra, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, start_new_session=True))
manager = subprocess.Popen(["/sandbox/graders/manager"] + manager_args + cfg["manager_args"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
result = {"timeout": False}
try:
    out, err = manager.communicate(data, timeout=cfg["time_limit"])
    result.update(stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace")[-4000:],
                  code=manager.returncode)
except subprocess.TimeoutExpired:
    manager.kill()
    manager.wait()
    result.update(timeout=True, stdout="", stderr="", code=124)
for u in users:
    try:
        os.killpg(u.pid, signal.SIGKILL)
    except OSError:
        pass
sys.stdout.write("\n" + nonce + " " + json.dumps(result) + "\n")
sys.stdout.flush()
"""
