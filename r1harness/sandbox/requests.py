"""Parse and validate /v1/run, /v1/judge and Piston requests; errors name the offending field."""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from r1harness.errors import ConfigError, R1HarnessError
from r1harness.sandbox.comparators import COMPARATORS, DEFAULT_TOLERANCE
from r1harness.sandbox.languages import LANGUAGES, resolve
from r1harness.sandbox.limits import Limits, ServiceConfig

TEST_KINDS = ("stdio", "functional", "assert")


class RequestError(R1HarnessError, ValueError):
    """A request the service refuses (HTTP 400); `field` names what to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Checker:
    language: str
    source: str


@dataclass(frozen=True)
class JudgeRequest:
    language: str
    source: str
    kind: str  # stdio | functional | assert
    tests: tuple[dict[str, Any], ...]  # stdio {input, output}; functional {args, expected}; assert {test}
    limits: Limits
    comparator: str = "tokens"
    float_tolerance: float = DEFAULT_TOLERANCE
    stop_on_first_failure: bool = False
    fn_name: str | None = None
    entry_point: str | None = None
    checker: Checker | None = None

    def cache_key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


def _get(d: dict, key: str, types, where: str, default=..., required=True):
    if key not in d or d[key] is None:
        if default is not ... or not required:
            return None if default is ... else default
        raise RequestError(f"{where}{key}", "is required")
    value = d[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        names = "/".join(t.__name__ for t in _as_tuple(types))
        raise RequestError(f"{where}{key}", f"must be {names}, got {type(value).__name__}")
    return value


def _as_tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def parse_language(d: dict, where: str = "") -> str:
    name = _get(d, "language", str, where)
    lang = resolve(name)
    if lang is None:
        raise RequestError(f"{where}language", f"unknown language {name!r}; known: {sorted(LANGUAGES)}")
    if not lang.available():
        raise RequestError(f"{where}language", f"{lang.name} is not installed on this service")
    return lang.name


def parse_limits(d: dict, config: ServiceConfig, where: str = "") -> Limits:
    overrides = {}
    for key in ("time_limit_s", "memory_limit_mb"):
        v = _get(d, key, (int, float), where, required=False)
        if v is not None:
            overrides[key] = int(v) if key == "memory_limit_mb" else float(v)
    try:
        return config.run.with_overrides(**overrides)
    except ConfigError as exc:
        raise RequestError(f"{where}limits", str(exc)) from exc


def parse_source(d: dict, config: ServiceConfig, where: str = "") -> str:
    source = _get(d, "source", str, where)
    if len(source.encode()) > config.max_source_bytes:
        raise RequestError(f"{where}source", f"larger than {config.max_source_bytes} bytes")
    return source


def parse_judge(d: Any, config: ServiceConfig, where: str = "") -> JudgeRequest:
    if not isinstance(d, dict):
        raise RequestError(where.rstrip(".") or "body", "must be a JSON object")
    language = parse_language(d, where)
    source = parse_source(d, config, where)
    kind, tests, extra = _parse_tests(d.get("tests"), config, f"{where}tests")
    comparator = _get(d, "comparator", str, where, default="tokens")
    if comparator not in (*COMPARATORS, "checker"):
        known = [*COMPARATORS, "checker"]
        raise RequestError(f"{where}comparator", f"unknown {comparator!r}; known: {known}")
    checker = None
    if comparator == "checker":
        c = _get(d, "checker", dict, where)
        checker = Checker(parse_language(c, f"{where}checker."), parse_source(c, config, f"{where}checker."))
    if kind != "stdio" and language != "python":
        raise RequestError(f"{where}tests", f"{kind} tests need language python")
    return JudgeRequest(
        language=language,
        source=source,
        kind=kind,
        tests=tests,
        limits=parse_limits(d, config, where),
        comparator=comparator,
        checker=checker,
        float_tolerance=float(_get(d, "float_tolerance", (int, float), where, default=DEFAULT_TOLERANCE)),
        stop_on_first_failure=bool(_get(d, "stop_on_first_failure", bool, where, default=False)),
        **extra,
    )


def _parse_tests(raw: Any, config: ServiceConfig, where: str):
    """stdio: [{input, output}]; functional: {type, fn_name, tests: [{input|args, output|expected}]};
    assert: {type: "assert", entry_point, test, prelude} (HumanEval's check(candidate); prelude is trusted
    code run beside check(), e.g. the prompt's helper functions)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RequestError(where, f"is a string but not JSON: {exc}") from exc
    if isinstance(raw, list):
        items = _bounded(raw, config, where)
        return "stdio", tuple(_stdio_test(t, f"{where}[{i}]") for i, t in enumerate(items)), {}
    if not isinstance(raw, dict):
        raise RequestError(where, "must be a list of {input, output} or an object with a 'type'")
    kind = raw.get("type")
    if kind == "assert":
        test = _get(raw, "test", str, f"{where}.")
        entry = _get(raw, "entry_point", str, f"{where}.")
        prelude = _get(raw, "prelude", str, f"{where}.", default="")
        return "assert", ({"test": test, "prelude": prelude},), {"entry_point": entry}
    if kind == "functional":
        fn = _get(raw, "fn_name", str, f"{where}.")
        items = _get(raw, "tests", list, f"{where}.")
        tests = tuple(
            _functional_test(t, f"{where}.tests[{i}]") for i, t in enumerate(_bounded(items, config, where))
        )
        return "functional", tests, {"fn_name": fn}
    if kind == "stdio":
        items = _get(raw, "tests", list, f"{where}.")
        items = _bounded(items, config, where)
        return "stdio", tuple(_stdio_test(t, f"{where}.tests[{i}]") for i, t in enumerate(items)), {}
    raise RequestError(f"{where}.type", f"unknown test type {kind!r}; known: {list(TEST_KINDS)}")


def _bounded(items: list, config: ServiceConfig, where: str) -> list:
    if not items:
        raise RequestError(where, "has no tests")
    if len(items) > config.max_tests:
        raise RequestError(where, f"has {len(items)} tests; the service takes at most {config.max_tests}")
    return items


def _stdio_test(t: Any, where: str) -> dict[str, str]:
    if not isinstance(t, dict):
        raise RequestError(where, "must be an object {input, output}")
    return {
        "input": _get(t, "input", str, f"{where}.", default=""),
        "output": _get(t, "output", str, f"{where}."),
    }


def _functional_test(t: Any, where: str) -> dict[str, Any]:
    """args: a JSON list, or `input` as newline-separated JSON values (LiveCodeBench); expected: a JSON
    value, or `output` as JSON text."""
    if not isinstance(t, dict):
        raise RequestError(where, "must be an object {input, output} or {args, expected}")
    if "args" in t:
        args = _get(t, "args", list, f"{where}.")
    else:
        text = _get(t, "input", str, f"{where}.")
        try:
            args = [json.loads(line) for line in text.split("\n") if line.strip()]
        except json.JSONDecodeError as exc:
            raise RequestError(f"{where}.input", f"each line must be a JSON value: {exc}") from exc
    if "expected" in t:
        expected = t["expected"]
    else:
        out = _get(t, "output", str, f"{where}.")
        try:
            expected = json.loads(out)
        except json.JSONDecodeError:
            try:  # some sources store Python literals ('a', True); literal_eval never runs code
                expected = ast.literal_eval(out)
            except (ValueError, SyntaxError) as exc:
                raise RequestError(f"{where}.output", f"not JSON or a Python literal: {exc}") from exc
    return {"args": args, "expected": expected}


def parse_run(d: Any, config: ServiceConfig) -> tuple[str, str, str, Limits]:
    if not isinstance(d, dict):
        raise RequestError("body", "must be a JSON object")
    stdin = _get(d, "stdin", str, "", default="")
    return parse_language(d), parse_source(d, config), stdin, parse_limits(d, config)
