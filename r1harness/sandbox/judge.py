"""Judge one submission in one sandbox session: compile once, run each test, compare in the service.

A `slot` is anything with `call(request: dict) -> dict` speaking the launcher protocol (launcher.py);
a launcher failure raises `SlotError` and becomes `sandbox_error`, never a wrong answer.
"""

from __future__ import annotations

import ast
import json
import secrets
import threading
import time
from dataclasses import replace
from typing import Any

from r1harness.sandbox.comparators import COMPARATORS, values_equal
from r1harness.sandbox.languages import HARNESS_ARGV, LANGUAGES, PY_FUNCTION_HARNESS
from r1harness.sandbox.limits import Limits
from r1harness.sandbox.requests import JudgeRequest

VERDICTS = (
    "pass",
    "wrong_answer",
    "timeout",
    "memory_limit",
    "runtime_error",
    "output_limit",
    "compile_error",
    "sandbox_error",
)
_RUN_TO_VERDICT = {
    "timeout": "timeout",
    "memory_limit": "memory_limit",
    "runtime_error": "runtime_error",
    "output_limit": "output_limit",
}
PREVIEW = 512
CHECKER_ARGV_FILES = ("input.txt", "output.txt", "expected.txt")  # testlib order: input output answer


class Cancelled(RuntimeError):
    """The client went away, or its deadline passed: the work stops and nothing is answered."""


class SlotError(RuntimeError):
    """The launcher behind a slot failed (crashed, protocol error): an infrastructure failure."""


def python_syntax_error(source: str) -> str | None:
    """Parsing (not running) the source in the service gives compile_error without a sandbox run."""
    try:
        ast.parse(source, "main.py")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _call(slot, req: dict[str, Any]) -> dict[str, Any]:
    reply = slot.call(req)
    if "error" in reply:
        raise SlotError(reply["error"])
    return reply


def open_session(
    slot, language: str, source: str, compile_limits: Limits, *, extra_files: dict[str, str] | None = None
) -> tuple[str, dict[str, Any] | None]:
    """Write the source (and harness files), compile when the language needs it."""
    lang = LANGUAGES[language]
    files = {lang.source_file: source, **(extra_files or {})}
    session = _call(slot, {"op": "open", "files": files, "writable": lang.compile is not None})["session"]
    compiled = None
    if lang.compile is not None:
        compiled = _call(
            slot,
            {
                "op": "exec",
                "session": session,
                "argv": list(lang.compile),
                "stdin": "",
                "limits": compile_limits.to_dict(),
                "writable": True,
            },
        )
    return session, compiled


def close_session(slot, session: str) -> None:
    try:
        _call(slot, {"op": "close", "session": session})
    except SlotError:
        pass


def run_once(slot, language: str, source: str, stdin: str, limits: Limits, compile_limits: Limits) -> dict:
    """/v1/run: one program, one input."""
    if language == "python" and (err := python_syntax_error(source)):
        return _compile_error_run(err)
    session, compiled = open_session(slot, language, source, compile_limits)
    try:
        if compiled is not None and compiled["status"] != "ok":
            return {**_compile_error_run(compiled["stderr"]), "compile": compiled}
        res = _call(
            slot,
            {
                "op": "exec",
                "session": session,
                "argv": list(LANGUAGES[language].run),
                "stdin": stdin,
                "limits": limits.to_dict(),
            },
        )
        return {**res, "compile": compiled} if compiled else res
    finally:
        close_session(slot, session)


def _compile_error_run(message: str) -> dict[str, Any]:
    return {
        "status": "compile_error",
        "exit_code": None,
        "signal": None,
        "stdout": "",
        "stderr": message,
        "cpu_ms": 0.0,
        "wall_ms": 0.0,
        "peak_memory_mb": 0.0,
        "truncated": False,
    }


def judge(
    slot,
    req: JudgeRequest,
    compile_limits: Limits,
    *,
    budget_s: float | None = None,
    cancel=None,
    helpers: list | None = None,
    keep_helping=None,
) -> dict[str, Any]:
    """Judge one submission; returns per-test verdicts and the overall verdict. `budget_s` bounds the
    wall time of all its tests together (each test's limits shrink to what is left; tests past it are
    `timeout`); `cancel()` returning True stops between tests (raises Cancelled). `helpers` are more
    free slots: each gets a copy of the compiled session and takes tests from the same list, while
    `keep_helping()` is True (the service stops them as soon as another request waits)."""
    source, extra = req.source, {}
    if req.kind != "stdio":
        extra = {"harness.py": PY_FUNCTION_HARNESS, "solution.py": req.source}
    if req.language == "python" and (err := python_syntax_error(req.source)):
        return _summary(req, [], compile_error=err)
    session, compiled = open_session(slot, req.language, source, compile_limits, extra_files=extra)
    copies: list[tuple[Any, str]] = []
    try:
        if compiled is not None and compiled["status"] != "ok":
            return _summary(req, [], compile_error=compiled["stderr"][-4000:] or compiled["status"])
        checker = _open_checker(slot, req, compile_limits)
        if checker is None:  # a checker would need its own session per slot: judged on one slot
            for h in helpers or []:
                copies.append((h, _call(h, {"op": "open", "files": {}, "copy_from": session})["session"]))
        run = _TestRun(req, budget_s, cancel)
        try:
            run.go([(slot, session, None)] + [(h, s, keep_helping) for h, s in copies], checker)
        finally:
            if checker:
                close_session(slot, checker[0])
        return _summary(req, run.results())
    finally:
        for h, s in copies:
            close_session(h, s)
        close_session(slot, session)


class _TestRun:
    """The tests of one submission, taken in order by one thread per slot. With stop_on_first_failure
    (or the budget spent) no test after the first failing one starts, and only the tests up to it are
    reported, so the verdict does not depend on how many slots helped."""

    def __init__(self, req: JudgeRequest, budget_s: float | None, cancel):
        self.req, self.budget_s, self.cancel = req, budget_s, cancel
        self.deadline = time.monotonic() + budget_s if budget_s else None
        self.done: dict[int, dict[str, Any]] = {}
        self.next, self.stop_at = 0, len(req.tests)
        self.lock = threading.Lock()
        self.error: BaseException | None = None

    def _take(self, keep_going) -> int | None:
        with self.lock:
            if self.next >= self.stop_at or self.error is not None:
                return None
            if keep_going is not None and not keep_going():
                return None
            i, self.next = self.next, self.next + 1
            return i

    def _worker(self, slot, session: str, keep_going, checker) -> None:
        try:
            while (i := self._take(keep_going)) is not None:
                if self.cancel is not None and self.cancel():
                    raise Cancelled("the client went away or its deadline passed")
                limits = _within_budget(self.req.limits, self.deadline)
                res = (
                    _judge_test(slot, session, self.req, self.req.tests[i], checker, limits)
                    if limits
                    else _over_budget(self.budget_s)
                )
                with self.lock:
                    self.done[i] = res
                    if res["verdict"] != "pass" and (self.req.stop_on_first_failure or limits is None):
                        self.stop_at = min(self.stop_at, i + 1)
        except BaseException as exc:  # re-raised in the caller's thread
            with self.lock:
                self.error = self.error or exc

    def go(self, workers: list[tuple[Any, str, Any]], checker) -> None:
        threads = [
            threading.Thread(target=self._worker, args=(*w, checker), daemon=True) for w in workers[1:]
        ]
        for t in threads:
            t.start()
        self._worker(*workers[0], checker)
        for t in threads:
            t.join()
        if self.error is not None:
            raise self.error

    def results(self) -> list[dict[str, Any]]:
        return [self.done[i] for i in sorted(self.done) if i < self.stop_at]


def _within_budget(limits: Limits, deadline: float | None) -> Limits | None:
    if deadline is None:
        return limits
    left = deadline - time.monotonic()
    if left < 0.05:
        return None
    if left >= limits.wall_s:
        return limits
    return replace(limits, time_limit_s=min(limits.time_limit_s, left), wall_limit_s=left)


def _over_budget(budget_s: float) -> dict[str, Any]:
    return {
        "verdict": "timeout",
        "message": f"submission time budget ({budget_s:g} s over all tests) exhausted",
        "status": "timeout",
        "exit_code": None,
        "signal": None,
        "cpu_ms": 0.0,
        "wall_ms": 0.0,
        "peak_memory_mb": 0.0,
        "stdout": "",
        "stderr": "",
        "truncated": False,
    }


def _judge_test(
    slot, session: str, req: JudgeRequest, test: dict, checker, limits: Limits | None = None
) -> dict[str, Any]:
    argv, stdin, nonce = list(LANGUAGES[req.language].run), test.get("input", ""), None
    if req.kind != "stdio":
        nonce = secrets.token_hex(16)
        if req.kind == "assert":
            payload = {"test": test["test"], "prelude": test.get("prelude", "")}
            argv = [*HARNESS_ARGV, "assert", req.entry_point]
        else:
            payload = {"fn_name": req.fn_name, "args": test["args"]}
            argv = [*HARNESS_ARGV, "functional"]
        stdin = f"{nonce}\n{json.dumps(payload)}"
    limits = limits or req.limits
    res = _call(
        slot, {"op": "exec", "session": session, "argv": argv, "stdin": stdin, "limits": limits.to_dict()}
    )
    verdict, message = _verdict(res, req, test, nonce, slot, checker)
    return {
        "verdict": verdict,
        "message": message,
        "status": res["status"],
        "exit_code": res["exit_code"],
        "signal": res["signal"],
        "cpu_ms": res["cpu_ms"],
        "wall_ms": res["wall_ms"],
        "peak_memory_mb": res["peak_memory_mb"],
        "stdout": res["stdout"][:PREVIEW],
        "stderr": res["stderr"][-PREVIEW:],
        "truncated": res["truncated"],
        "stderr_truncated": res.get("stderr_truncated", False),
    }


def _verdict(res: dict, req: JudgeRequest, test: dict, nonce, slot, checker) -> tuple[str, str]:
    if res["status"] != "ok":
        return _RUN_TO_VERDICT.get(res["status"], "sandbox_error"), res["status"]
    if nonce is not None:
        return _function_verdict(res["stdout"], nonce, req, test)
    if checker:
        return _checker_verdict(slot, checker, test, res["stdout"])
    ok = COMPARATORS[req.comparator](res["stdout"], test["output"], req.float_tolerance)
    return ("pass", "") if ok else ("wrong_answer", f"output differs ({req.comparator})")


def _function_verdict(stdout: str, nonce: str, req: JudgeRequest, test: dict) -> tuple[str, str]:
    lines = [line for line in stdout.split("\n") if line.startswith(nonce + " ")]
    if not lines:
        return "wrong_answer", "exited without finishing the tests (no result line)"
    try:
        result = json.loads(lines[-1][len(nonce) + 1 :])
    except json.JSONDecodeError:
        return "wrong_answer", "unreadable result line"
    if req.kind == "assert":
        return ("pass", "") if result.get("ok") is True else ("wrong_answer", result.get("reason", "failed"))
    if values_equal(result.get("value"), test["expected"], req.float_tolerance):
        return "pass", ""
    return "wrong_answer", "return value differs"


def _open_checker(slot, req: JudgeRequest, compile_limits: Limits):
    """A special-judge checker runs in its own session; it sees input, output and the expected answer."""
    if req.checker is None:
        return None
    session, compiled = open_session(slot, req.checker.language, req.checker.source, compile_limits)
    if compiled is not None and compiled["status"] != "ok":
        close_session(slot, session)
        raise SlotError(f"checker does not compile: {compiled['stderr'][-500:]}")
    return session, req.checker.language


def _checker_verdict(slot, checker, test: dict, output: str) -> tuple[str, str]:
    """testlib's convention: `checker input output answer`; exit 0 accepted, 1 wrong answer, 2
    presentation error (counted wrong); any other end, or an uncaught Python exception, means the
    checker itself failed: sandbox_error, never a verdict on the submission."""
    session, language = checker
    files = dict(zip(CHECKER_ARGV_FILES, (test["input"], output, test["output"])))
    _call(slot, {"op": "write", "session": session, "files": files})
    argv = list(LANGUAGES[language].run) + [f"/sandbox/{n}" for n in CHECKER_ARGV_FILES]
    res = _call(
        slot,
        {
            "op": "exec",
            "session": session,
            "argv": argv,
            "stdin": "",
            "limits": Limits(time_limit_s=10, memory_limit_mb=1024).to_dict(),
        },
    )
    if res["status"] == "ok":
        return "pass", ""
    crashed = "Traceback (most recent call last)" in res["stderr"]  # a Python checker's own bug
    if res["status"] == "runtime_error" and res["exit_code"] in (1, 2) and not crashed:
        return "wrong_answer", (res["stdout"] + res["stderr"])[-200:] or "checker: wrong answer"
    return "sandbox_error", (
        f"checker failed ({res['status']}, exit {res['exit_code']}): {res['stderr'][-300:]}"
    )


def _summary(req: JudgeRequest, results: list[dict], compile_error: str | None = None) -> dict[str, Any]:
    total = len(req.tests)
    if compile_error is not None:
        return {
            "verdict": "compile_error",
            "passed": 0,
            "total": total,
            "pass_fraction": 0.0,
            "tests": [],
            "compile_error": compile_error[-4000:],
        }
    passed = sum(r["verdict"] == "pass" for r in results)
    failing = [r["verdict"] for r in results if r["verdict"] != "pass"]
    verdict = "sandbox_error" if "sandbox_error" in failing else (failing[0] if failing else "pass")
    return {
        "verdict": verdict,
        "passed": passed,
        "total": total,
        "pass_fraction": passed / total,
        "tests": results,
    }
