"""Drop-in APIs of other sandboxes, judged with this service's slots and comparators.

Piston packages as open-r1's competitive-programming scoring uses them (POST /api/v2/execute):
  codeforces  languages `cf_python3` / `python3`, `c++17` / `cf_c++17` (and the other C++ standards):
              files main.<ext>, input.txt, correct_output.txt, grader_config (TIME_LIMIT=, MEMORY_LIMIT=,
              INPUT_MODE=stdio|file) and an optional checker.py. run.stdout is "1" (accepted) or "0",
              run.stderr the feedback, and a compile stage is always present.
  cms_ioi     files graders/<task>.cpp (the submission), input.txt, correct_output.txt (optional) and
              the grader files (graders/grader.cpp, graders/<task>.h, graders/grader_config.json,
              checker/checker.cpp, graders/manager.cpp for Communication tasks: the manager talks to
              the submission's processes over FIFOs, std_io or fifo_io). run.stdout is the
              score (0..1), run.stderr the feedback ("Output isn't correct", "Time limit exceeded").
SandboxFusion POST /run_code (verl's sandbox_fusion reward): {code, stdin, language, run_timeout,
  compile_timeout, memory_limit_MB} -> {status: Success|Failed|SandboxError, message, compile_result,
  run_result: {status: Finished|Error|TimeLimitExceeded, execution_time, return_code, stdout, stderr}}.

The expected output and the checker never enter the submission's sandbox: the submission runs in one
session, a checker in another, and plain comparisons happen here. (Semantics follow the packages of
guipenedo/piston@7a38da2 packages/{codeforces,cms_ioi}/1.0.0 and SandboxFusion@469de08
sandbox/server/sandbox_api.py.)
"""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

from r1harness.sandbox import judge as jg
from r1harness.sandbox.languages import COMMUNICATION_HARNESS, LANGUAGES
from r1harness.sandbox.limits import MAX_MEMORY_LIMIT_MB, MAX_TIME_LIMIT_S, Limits
from r1harness.sandbox.requests import RequestError

PACKAGE_VERSION = "1.0.0"
_CF_CPP = ("c++", "c++0x", "c++11", "c++14", "c++17", "c++20")
CODEFORCES_LANGUAGES = {
    **{n: "python" for n in ("python3", "cf_python3", "python 3")},
    **{n: "cpp" for std in _CF_CPP for n in (std, "cf_" + std)},
    **{n: "cpp" for n in ("gnu c++", "gnu c++0x", "gnu c++11", "c++14 (gcc 6-32)", "c++17 (gcc 7-32)")},
    **{n: "cpp" for n in ("c++17 (gcc 9-64)", "c++20 (gcc 11-64)", "c++20 (gcc 13-64)")},
}
CMS_LANGUAGES = ("cms_ioi", "cms")
FILE_MODE_SCRIPT = (
    'cat > input.txt; "$@" </dev/null >/dev/null 2>&1; rc=$?; cat output.txt 2>/dev/null; exit $rc'
)
CHECKER_LIMITS = Limits(time_limit_s=10, memory_limit_mb=1024)


@dataclass(frozen=True)
class Package:
    name: str  # codeforces | cms
    language: str | None  # python | cpp for codeforces


def piston_package(language: str, files: list[dict]) -> Package | None:
    """The package a Piston request addresses, or None for a plain run of files[0]. A plain language
    name (python3, c++17) is the codeforces package only when the request carries its test files."""
    name = str(language or "").strip().lower()
    if name in CMS_LANGUAGES:
        return Package("cms", None)
    names = {f.get("name") for f in files if isinstance(f, dict)}
    if name in CODEFORCES_LANGUAGES and (name.startswith("cf_") or "input.txt" in names):
        return Package("codeforces", CODEFORCES_LANGUAGES[name])
    return None


def piston_files(body: dict) -> dict[str, str]:
    files = body.get("files")
    if not isinstance(files, list) or not files:
        raise RequestError("files", "must be a non-empty list of {name, content}")
    out = {}
    for i, f in enumerate(files):
        if not isinstance(f, dict) or not isinstance(f.get("content"), str):
            raise RequestError(f"files[{i}]", "must be {name, content} with string content")
        name = str(f.get("name") or f"file{i}")
        if name.count("/") > 1 or any(p in ("", "..") or p.startswith(".") for p in name.split("/")):
            raise RequestError(f"files[{i}].name", f"{name!r}: at most one folder level, no dot names")
        out[name] = f["content"]
    return out


def _stage(stdout: str = "", stderr: str = "", code: int | None = 0, signal: str | None = None, **extra):
    return {
        "stdout": stdout,
        "stderr": stderr,
        "output": stdout + stderr,
        "code": code,
        "signal": signal,
        "message": None,
        "status": None,
        **extra,
    }


def _exec(slot, session: str, argv: list[str], stdin: str, limits: Limits) -> dict[str, Any]:
    return jg._call(
        slot,
        {"op": "exec", "session": session, "argv": argv, "stdin": stdin, "limits": limits.to_dict()},
    )


def _limit(seconds: Any, default: float) -> float:
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return default
    return min(max(value, 0.05), MAX_TIME_LIMIT_S) if math.isfinite(value) else default


def _memory_mb(value: Any, default: int) -> int:
    """Piston sends bytes; open-r1's IOI scoring sends megabytes there. Small numbers are megabytes."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return default
    if not math.isfinite(v) or v <= 0:
        return default
    mb = v / (1024 * 1024) if v >= 1024 * 1024 else v
    return int(min(max(mb, 16), MAX_MEMORY_LIMIT_MB))


# --- codeforces ----------------------------------------------------------------------------------


def _grader_config(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip().strip('"')
    return out


def cf_normalize(text: str) -> list[str]:
    """The codeforces package's normalize_output: yes/no as whole words upper-cased, blank lines dropped,
    all whitespace collapsed (then compared with diff -b)."""
    text = re.sub(r"\b(yes|no)\b", lambda m: m.group(1).upper(), text, flags=re.I)
    return text.split()


def _verdict(ok: bool, how: str) -> dict[str, Any]:
    # the packages' exact feedback strings: open-r1's IOI scoring reads "Output isn't correct"
    return (
        _stage("1\n", f"Output is correct ({how})\n") if ok else _failure(f"Output isn't correct ({how})", 0)
    )


def _failure(reason: str, code: int) -> dict[str, Any]:
    return _stage("0\n", reason + "\n", code)


def _run_failure(res: dict, time_limit: float, memory_mb: int) -> dict[str, Any] | None:
    status = res["status"]
    if status == "ok":
        return None
    if status == "timeout":
        return _failure(f"Time limit exceeded ({time_limit:g}s)", 124)
    if status == "memory_limit":
        return _failure(f"Memory limit exceeded ({memory_mb}MB)", 134)
    if status == "output_limit":
        return _failure("Output limit exceeded", 1)
    if status in ("runtime_error", "compile_error"):  # python syntax errors surface at run time
        return _failure(f"Runtime error with exit code {res['exit_code'] or 1}", res["exit_code"] or 1)
    raise jg.SlotError(f"run ended {status}: {res.get('stderr', '')[-300:]}")


def run_codeforces(slot, pkg: Package, files: dict[str, str], body: dict, config) -> dict[str, Any]:
    lang = LANGUAGES[pkg.language]
    cfg = _grader_config(files.get("grader_config", ""))
    source_name = next((n for n in files if n.startswith("main.")), None) or next(iter(files))
    hard = _limit((body.get("run_timeout") or 0) / 1000 or None, config.run.time_limit_s)
    time_limit = _limit(cfg.get("TIME_LIMIT"), hard)
    memory_mb = _memory_mb(cfg.get("MEMORY_LIMIT"), config.run.memory_limit_mb)
    limits = config.run.with_overrides(time_limit_s=time_limit, memory_limit_mb=memory_mb)
    out = {"language": "python3" if pkg.language == "python" else "c++17", "version": PACKAGE_VERSION}
    session, compiled = jg.open_session(slot, pkg.language, files[source_name], config.compile)
    try:
        if compiled is not None and compiled["status"] != "ok":
            out["compile"] = _stage(compiled["stdout"], compiled["stderr"], compiled["exit_code"] or 1)
            out["run"] = _stage("", "", None)
            return out
        out["compile"] = _stage()
        argv = list(lang.run)
        stdin = files.get("input.txt", "").replace("\r\n", "\n")
        if cfg.get("INPUT_MODE") == "file":  # old problems read input.txt and write output.txt
            argv = ["/bin/sh", "-c", FILE_MODE_SCRIPT, "sh", *argv]
        res = _exec(slot, session, argv, stdin, limits)
    finally:
        jg.close_session(slot, session)
    failed = _run_failure(res, time_limit, memory_mb)
    if failed:
        out["run"] = failed
    elif "correct_output.txt" not in files:
        out["run"] = _stage(res["stdout"], res["stderr"], 0)
    else:
        out["run"] = _cf_check(slot, files, stdin, res["stdout"], config)
    return out


def _cf_check(slot, files: dict[str, str], stdin: str, output: str, config) -> dict[str, Any]:
    expected = files["correct_output.txt"].replace("\r\n", "\n")
    if "checker.py" not in files:
        return _verdict(cf_normalize(output) == cf_normalize(expected), "diff")
    no_blank = "\n".join(line for line in output.split("\n") if line) + "\n"
    checker_files = {
        "checker.py": files["checker.py"],
        "input.txt": stdin,
        "correct_output.txt": "\n".join(line for line in expected.split("\n") if line) + "\n",
        "solution_output.txt": no_blank,
    }
    session = jg._call(slot, {"op": "open", "files": checker_files})["session"]
    try:
        argv = [*LANGUAGES["python"].run[:-1], "/sandbox/checker.py"]
        argv += ["/sandbox/input.txt", "/sandbox/correct_output.txt", "/sandbox/solution_output.txt"]
        res = _exec(slot, session, argv, "", CHECKER_LIMITS)
    finally:
        jg.close_session(slot, session)
    if res["status"] not in ("ok", "runtime_error"):
        raise jg.SlotError(f"checker ended {res['status']}: {res['stderr'][-300:]}")
    return _verdict(res["stdout"].strip() in ("1", "100"), "checker")


# --- cms_ioi -------------------------------------------------------------------------------------


def _task_name(files: dict[str, str]) -> str:
    """The compile script's rule: the first graders/*.h (ls order) other than testlib.h."""
    headers = sorted(n[len("graders/") :] for n in files if n.startswith("graders/") and n.endswith(".h"))
    names = [h[:-2] for h in headers if h != "testlib.h"]
    if not names:
        raise RequestError("files", "no graders/<task>.h among the files (cms_ioi needs the grader files)")
    return names[0]


def run_cms(slot, files: dict[str, str], body: dict, config) -> dict[str, Any]:
    try:
        grader = json.loads(files.get("graders/grader_config.json") or "{}")
    except json.JSONDecodeError as exc:
        raise RequestError("files.graders/grader_config.json", f"not JSON: {exc}") from exc
    task_type = grader.get("task_type", "Batch")
    if task_type not in ("Batch", "Communication"):
        raise RequestError(
            "files.graders/grader_config.json",
            f"task_type {task_type!r}: Batch and Communication are supported",
        )
    if task_type == "Communication" and "graders/manager.cpp" not in files:
        raise RequestError("files", "a Communication task needs graders/manager.cpp")
    task = _task_name(files)
    hard = _limit((body.get("run_timeout") or 0) / 1000 or None, config.run.time_limit_s)
    time_limit = _limit(grader.get("time_limit"), hard)
    memory_mb = _memory_mb(
        grader.get("memory_limit") or body.get("run_memory_limit"), config.run.memory_limit_mb
    )
    limits = config.run.with_overrides(time_limit_s=time_limit, memory_limit_mb=memory_mb)
    out: dict[str, Any] = {"language": "cms", "version": PACKAGE_VERSION}
    kept = {n: t for n, t in files.items() if n.startswith("graders/")}  # never the expected output
    session = jg._call(slot, {"op": "open", "files": kept, "writable": True})["session"]
    try:
        sources = [
            f"/sandbox/graders/{n}.cpp" for n in (task, "grader", "stub") if f"graders/{n}.cpp" in files
        ]
        argv = [
            "/usr/bin/g++",
            "-DEVAL",
            "-std=gnu++17",
            "-O2",
            "-pipe",
            "-s",
            "-o",
            f"/sandbox/graders/{task}",
        ]
        compiled = jg._call(
            slot,
            {
                "op": "exec",
                "session": session,
                "argv": argv + sources,
                "stdin": "",
                "limits": config.compile.to_dict(),
                "writable": True,
            },
        )
        if compiled["status"] == "ok" and task_type == "Communication":
            compiled = _compile_manager(slot, session, config)
        if compiled["status"] != "ok":
            out["compile"] = _stage(compiled["stdout"], compiled["stderr"], compiled["exit_code"] or 1)
            return out
        out["compile"] = _stage()
        if task_type == "Communication":
            out["run"] = _communicate(slot, session, task, grader, files.get("input.txt", ""), limits)
            return out
        res = _exec(slot, session, [f"/sandbox/graders/{task}"], files.get("input.txt", ""), limits)
    finally:
        jg.close_session(slot, session)
    failed = _run_failure(res, time_limit, memory_mb)
    if failed:
        out["run"] = {**failed, "code": 0}  # the package's run script exits 0 after printing the score
    elif "correct_output.txt" not in files:
        out["run"] = _stage(res["stdout"], res["stderr"], 0)
    elif "checker/checker.cpp" in files:
        out["run"] = _cms_checker(slot, files, res["stdout"], config)
    else:
        out["run"] = _verdict(_diff_b(res["stdout"], files["correct_output.txt"]), "diff")
    return out


def _compile_manager(slot, session: str, config) -> dict[str, Any]:
    """The grader's manager, compiled beside the submission, then sealed: owned by root and
    execute-only, so the manager process is not dumpable and the submission's processes (same uid)
    cannot open its /proc files (its memory, its stdout) to forge the score."""
    argv = ["/usr/bin/g++", "-x", "c++", "-std=gnu++17", "-O2", "-o", "/sandbox/graders/manager"]
    res = jg._call(
        slot,
        {
            "op": "exec",
            "session": session,
            "argv": [*argv, "/sandbox/graders/manager.cpp"],
            "stdin": "",
            "limits": config.compile.to_dict(),
            "writable": True,
        },
    )
    if res["status"] == "ok":
        jg._call(slot, {"op": "seal", "session": session, "paths": ["graders/manager"]})
    return res


def _communicate(slot, session: str, task: str, grader: dict, stdin: str, limits: Limits) -> dict:
    """A Communication task: the manager and the submission's processes talk over FIFOs inside one
    sandbox, set up by a trusted harness (languages.COMMUNICATION_HARNESS) that reports the manager's
    output on a line carrying a per-run nonce the submission never sees."""
    jg._call(slot, {"op": "write", "session": session, "files": {"comm.py": COMMUNICATION_HARNESS}})
    key = "task_type_parameters_Communication_"
    cfg = {
        "task": task,
        "num_processes": int(grader.get(key + "num_processes") or 1),
        "user_io": grader.get(key + "user_io") or "std_io",
        "manager_args": str(grader.get(key + "manager_args") or "").split(),
        "time_limit": limits.time_limit_s,
    }
    nonce = secrets.token_hex(16)
    argv = [*LANGUAGES["python"].run[:-1], "/sandbox/comm.py"]
    res = _exec(slot, session, argv, f"{nonce}\n{json.dumps(cfg)}\n{stdin}", limits)
    lines = [line for line in res["stdout"].split("\n") if line.startswith(nonce + " ")]
    if res["status"] != "ok" or not lines:
        failed = _run_failure(res, limits.time_limit_s, limits.memory_limit_mb)
        return {**(failed or _failure("Runtime error: the manager gave no result", 1)), "code": 0}
    result = json.loads(lines[-1][len(nonce) + 1 :])
    if result.get("timeout"):
        return _failure(f"Time limit exceeded ({limits.time_limit_s:g}s)", 0)
    if result["code"] != 0:
        return _failure(f"Runtime error with exit code {result['code']}", 0)
    return _stage(result["stdout"], result["stderr"], 0)


def _diff_b(output: str, expected: str) -> bool:
    """`diff -b`: lines equal up to the amount of whitespace; trailing blank lines ignored."""

    def norm(text: str) -> list[str]:
        lines = [re.sub(r"\s+", " ", line).rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    return norm(output) == norm(expected)


def _cms_checker(slot, files: dict[str, str], output: str, config) -> dict[str, Any]:
    """CMS checkers: `checker input correct_output solution_output` prints the score, stderr the message."""
    checker_files = {
        "checker.cpp": files["checker/checker.cpp"],
        "input.txt": files.get("input.txt", ""),
        "correct_output.txt": files["correct_output.txt"].rstrip("\n") + "\n",
        "solution_output.txt": output,
        **{n.split("/", 1)[1]: t for n, t in files.items() if n.startswith("checker/") and n.endswith(".h")},
    }
    session = jg._call(slot, {"op": "open", "files": checker_files, "writable": True})["session"]
    try:
        compile_argv = ["/usr/bin/g++", "-x", "c++", "-std=gnu++17", "-O2", "-o", "/sandbox/checker"]
        compiled = jg._call(
            slot,
            {
                "op": "exec",
                "session": session,
                "argv": [*compile_argv, "/sandbox/checker.cpp"],
                "stdin": "",
                "limits": config.compile.to_dict(),
                "writable": True,
            },
        )
        if compiled["status"] != "ok":
            raise jg.SlotError(f"checker does not compile: {compiled['stderr'][-300:]}")
        argv = [
            "/sandbox/checker",
            "/sandbox/input.txt",
            "/sandbox/correct_output.txt",
            "/sandbox/solution_output.txt",
        ]
        res = _exec(slot, session, argv, "", CHECKER_LIMITS)
    finally:
        jg.close_session(slot, session)
    if res["status"] != "ok":
        raise jg.SlotError(f"checker ended {res['status']}: {res['stderr'][-300:]}")
    return _stage(res["stdout"], res["stderr"], 0)


# --- SandboxFusion -------------------------------------------------------------------------------

FUSION_LANGUAGES = {"python": "python", "cpp": "cpp"}


def fusion_request(body: Any) -> dict[str, Any]:
    """A SandboxFusion RunCodeRequest as a /v1/run body (compile_timeout is the compile limit)."""
    if not isinstance(body, dict):
        raise RequestError("body", "must be a JSON object")
    language = body.get("language")
    if language not in FUSION_LANGUAGES:
        raise RequestError("language", f"{language!r} is not run here; supported: {sorted(FUSION_LANGUAGES)}")
    if not isinstance(body.get("code"), str):
        raise RequestError("code", "is required (a string)")
    if body.get("files") or body.get("fetch_files"):
        raise RequestError("files", "extra files are not supported by this service")
    run = {"language": FUSION_LANGUAGES[language], "source": body["code"], "stdin": body.get("stdin") or ""}
    if isinstance(body.get("run_timeout"), (int, float)) and body["run_timeout"] > 0:
        run["time_limit_s"] = min(float(body["run_timeout"]), MAX_TIME_LIMIT_S)
    mem = body.get("memory_limit_MB")
    if isinstance(mem, int) and not isinstance(mem, bool) and mem > 0:
        run["memory_limit_mb"] = int(min(max(mem, 16), MAX_MEMORY_LIMIT_MB))
    return run


def _fusion_stage(res: dict[str, Any]) -> dict[str, Any]:
    status = {"timeout": "TimeLimitExceeded", "sandbox_error": "Error"}.get(res["status"], "Finished")
    code = res["exit_code"]
    if code is None and res["status"] not in ("timeout",):
        code = 128 + (res["signal"] or 9) if res["status"] != "sandbox_error" else None
    return {
        "status": status,
        "execution_time": round(res["wall_ms"] / 1000, 4),
        "return_code": code,
        "stdout": res["stdout"],
        "stderr": res["stderr"],
    }


def fusion_response(res: dict[str, Any]) -> dict[str, Any]:
    """A /v1/run result as SandboxFusion's RunCodeResponse (its parse_run_status rules)."""
    compile_result = run_result = None
    if res.get("compile"):
        compile_result = _fusion_stage(res["compile"])
    if res["status"] == "compile_error" and not res.get("compile"):  # Python: a syntax error is a run
        run_result = {**_fusion_stage(res), "status": "Finished", "return_code": 1}
    elif res["status"] == "compile_error":
        pass
    else:
        run_result = _fusion_stage(res)
    stages = [s for s in (compile_result, run_result) if s]
    if any(s["status"] == "Error" for s in stages):
        status, message = "SandboxError", next(s["stderr"] for s in stages if s["status"] == "Error")
    elif any(s["status"] == "TimeLimitExceeded" or s["return_code"] not in (0, None) for s in stages):
        status, message = "Failed", ""
    else:
        status, message = "Success", ""
    return {
        "status": status,
        "message": message,
        "compile_result": compile_result,
        "run_result": run_result,
        "executor_pod_name": None,
        "files": {},
    }
