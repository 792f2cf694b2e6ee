"""The code verifier: extract the program from a completion, judge it in the sandbox service.

`verify_code_batch(completions, references, **options) -> list[Verdict]`; a reference is a `prompts`
row (dict). The `tests` JSON shapes accepted (the ingest manifests emit these):

  stdin/stdout (CodeContests, Codeforces, LiveCodeBench "stdin"):
      [{"input": "1 2\\n", "output": "3\\n"}, ...]           (a "testtype" key per test is ignored)
  function call (LiveCodeBench "functional", LeetCode-style):
      {"type": "functional", "fn_name": "maxSum",
       "tests": [{"input": "<one JSON value per line: the arguments>", "output": "<JSON value>"}, ...]}
      (or {"args": [...], "expected": value} per test). A list of tests whose items all carry
      "testtype": "functional" is accepted too; fn_name then comes from metadata "fn_name" or the
      `def name(self` in metadata "starter_code". A `class Solution` is instantiated when present.
  HumanEval-style assert tests: `tests` null/empty and metadata {"entry_point": "f", "test": "def
      check(candidate): ...", "prompt": "<the code prompt>"} (prompt defaults to the row's `problem`).
      The program is prompt + completion when the completion is only a function body, and prompt +
      "\\n" + completion when it defines `entry_point` itself (the prompt's imports and helpers stay).

metadata may also carry "time_limit_ms" (or "time_limit_s"), "memory_limit_mb", "language", "comparator".

The program is the last fenced code block outside <think> (```python / ```cpp pick the language); for
HumanEval-style references an unfenced answer is taken as code. Verdicts: all tests pass -> correct
1.0; otherwise wrong with 0.0, or the pass fraction with reward="fraction"; compile errors are wrong;
sandbox_error or an unreachable service -> status "error", score None (never 0).
"""

from __future__ import annotations

import json
import re
from typing import Any

from r1harness.verify.extract import split_think
from r1harness.verify.verdict import Verdict

CODE_VERIFIER_VERSION = "1"
_FENCE = re.compile(r"```([A-Za-z0-9_+#-]*)[^\n]*\n(.*?)```", re.S)
_LANG_TAGS = {
    "python": "python",
    "py": "python",
    "python3": "python",
    "py3": "python",
    "cpp": "cpp",
    "c++": "cpp",
    "cc": "cpp",
    "cxx": "cpp",
    "c++17": "cpp",
    "cpp17": "cpp",
}
REWARDS = ("all", "fraction")


def extract_code(completion: str) -> tuple[str | None, str | None]:
    """(code, language tag) of the last fenced block outside <think>; (None, None) when there is none."""
    _, answer = split_think(completion or "")
    blocks = _FENCE.findall(answer)
    if not blocks:
        return None, None
    tag, code = blocks[-1]
    return code, _LANG_TAGS.get(tag.lower())


def _as_obj(value: Any, default):
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return default
    return value


def build_request(
    code: str,
    language: str,
    reference: dict[str, Any],
    *,
    stop_on_first_failure: bool,
    comparator: str | None = None,
) -> dict[str, Any]:
    """The /v1/judge request for a program against a `prompts` row."""
    meta = _as_obj(reference.get("metadata"), {}) or {}
    tests = _as_obj(reference.get("tests"), None)
    req: dict[str, Any] = {
        "language": language,
        "source": code,
        "stop_on_first_failure": stop_on_first_failure,
        "comparator": comparator or meta.get("comparator") or "tokens",
    }
    if not tests and meta.get("test") and meta.get("entry_point"):
        prompt = meta.get("prompt") or reference.get("problem") or ""
        req["source"] = _humaneval_program(prompt, code, meta["entry_point"])
        # the prompt also runs beside check() (outside the submission's process): checks use its helpers
        req["tests"] = {
            "type": "assert",
            "entry_point": meta["entry_point"],
            "test": meta["test"],
            "prelude": prompt,
        }
    elif (
        isinstance(tests, list)
        and tests
        and all(isinstance(t, dict) and t.get("testtype") == "functional" for t in tests)
    ):
        req["tests"] = {"type": "functional", "fn_name": _fn_name(meta), "tests": tests}
    elif isinstance(tests, list):
        req["tests"] = [{"input": t.get("input", ""), "output": t.get("output", "")} for t in tests]
    else:
        req["tests"] = tests
    if meta.get("time_limit_ms"):
        req["time_limit_s"] = float(meta["time_limit_ms"]) / 1000
    elif meta.get("time_limit_s"):
        req["time_limit_s"] = float(meta["time_limit_s"])
    if meta.get("memory_limit_mb"):
        req["memory_limit_mb"] = int(meta["memory_limit_mb"])
    return req


def _fn_name(meta: dict) -> str | None:
    if meta.get("fn_name"):
        return meta["fn_name"]
    found = re.findall(r"def\s+(\w+)\s*\(\s*self", meta.get("starter_code") or "")
    return found[-1] if found else None


def _humaneval_program(prompt: str, code: str, entry_point: str) -> str:
    if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        return prompt + "\n" + code
    return prompt + code


def _language_for(tag: str | None, reference: dict[str, Any], default: str) -> str:
    meta = _as_obj(reference.get("metadata"), {}) or {}
    return tag or _LANG_TAGS.get(str(meta.get("language", "")).lower()) or default


def verify_code_batch(
    completions: list[str],
    references: list[dict[str, Any]],
    *,
    reward: str = "all",
    url: str | None = None,
    client=None,
    language: str = "python",
    stop_on_first_failure: bool | None = None,
    comparator: str | None = None,
    concurrency: int = 4,
    batch_size: int = 8,
    retries: int = 6,
    **_ignored,
) -> list[Verdict]:
    """Judge each completion against its reference in the sandbox service (see the module docstring)."""
    if reward not in REWARDS:
        from r1harness.errors import ConfigError

        raise ConfigError(f"code verifier: reward must be one of {REWARDS}, got {reward!r}")
    if len(completions) != len(references):
        raise ValueError(f"{len(completions)} completions but {len(references)} references")
    stop = (reward == "all") if stop_on_first_failure is None else stop_on_first_failure
    verdicts: list[Verdict | None] = [None] * len(completions)
    requests, where = [], []
    for i, (completion, ref) in enumerate(zip(completions, references)):
        code, tag = extract_code(completion)
        meta = _as_obj(ref.get("metadata"), {}) or {}
        if code is None and meta.get("entry_point") and meta.get("test"):
            text = completion or ""  # unfenced: the answer as written (indentation matters)
            truncated_think = "<think>" in text and "</think>" not in text
            code = None if truncated_think else text.rsplit("</think>", 1)[-1].lstrip("\n")
        if code is None or not code.strip():
            verdicts[i] = Verdict(
                "unparseable",
                0.0,
                "code",
                CODE_VERIFIER_VERSION,
                reason="no fenced code block outside <think>",
            )
            continue
        requests.append(
            build_request(
                code,
                _language_for(tag, ref, language),
                ref,
                stop_on_first_failure=stop,
                comparator=comparator,
            )
        )
        where.append(i)
    if requests:
        client = client or _client(url, concurrency, batch_size, retries)
        for i, req, res in zip(where, requests, _judge_all(client, requests)):
            verdicts[i] = to_verdict(res, req, reward)
    return verdicts  # type: ignore[return-value]


verify_code_batch.version = CODE_VERIFIER_VERSION


def _client(url: str | None, concurrency: int, batch_size: int, retries: int):
    from r1harness.sandbox.client import SandboxClient, default_client

    if url:
        return SandboxClient(url, concurrency=concurrency, batch_size=batch_size, retries=retries)
    return default_client(concurrency=concurrency, batch_size=batch_size, retries=retries)


def _judge_all(client, requests: list[dict]) -> list[Any]:
    from r1harness.errors import VerifierError

    try:
        return client.judge_many(requests)
    except VerifierError as exc:  # e.g. a 400: the request itself is bad; still not a wrong answer
        return [exc] * len(requests)


def to_verdict(res: Any, req: dict[str, Any], reward: str) -> Verdict:
    """Map a judge result (or the exception that replaced it) to a Verdict."""
    extracted = req["source"][-2000:]
    if isinstance(res, Exception):
        return Verdict(
            "error",
            None,
            "code",
            CODE_VERIFIER_VERSION,
            extracted=extracted,
            reason=f"sandbox unavailable: {res}"[:500],
        )
    details = {
        "verdict": res["verdict"],
        "passed": res["passed"],
        "total": res["total"],
        "language": req["language"],
        "cached": res.get("cached", False),
    }
    failing = [t for t in res.get("tests", []) if t["verdict"] != "pass"]
    if failing:
        details["first_failure"] = {k: failing[0].get(k) for k in ("verdict", "message", "stderr")}
    if res["verdict"] == "sandbox_error":
        return Verdict(
            "error",
            None,
            "code",
            CODE_VERIFIER_VERSION,
            extracted=extracted,
            reason=f"sandbox_error: {res.get('error') or details.get('first_failure')}"[:500],
            details=details,
        )
    if res["verdict"] == "pass":
        return Verdict(
            "correct",
            1.0,
            "code",
            CODE_VERIFIER_VERSION,
            extracted=extracted,
            reason=f"all {res['total']} tests pass",
            details=details,
        )
    score = float(res["pass_fraction"]) if reward == "fraction" else 0.0
    if res["verdict"] == "compile_error":
        details["compile_error"] = res.get("compile_error", "")[-1000:]
        score = 0.0
    return Verdict(
        "wrong",
        score,
        "code",
        CODE_VERIFIER_VERSION,
        extracted=extracted,
        reason=f"{res['verdict']}: {res['passed']}/{res['total']} tests pass",
        details=details,
    )
