"""Output comparators, run in the trusted service (expected outputs never enter the sandbox).

tokens  whitespace-separated tokens equal (CRLF, trailing spaces and blank lines do not matter)
lines   lines equal after stripping trailing whitespace; trailing blank lines ignored
float   tokens equal, numeric tokens within abs/rel tolerance 1e-6 (or the request's float_tolerance)
yesno   tokens equal, case-insensitive (YES == yes)
Prefix-only or extra output fails all of them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

DEFAULT_TOLERANCE = 1e-6


def compare_tokens(out: str, exp: str, tol: float = DEFAULT_TOLERANCE) -> bool:
    return out.split() == exp.split()


def compare_lines(out: str, exp: str, tol: float = DEFAULT_TOLERANCE) -> bool:
    def norm(s: str) -> list[str]:
        lines = [line.rstrip() for line in s.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    return norm(out) == norm(exp)


def _float_eq(a: str, b: str, tol: float) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    if math.isnan(x) or math.isnan(y) or math.isinf(x) or math.isinf(y):
        return False
    return abs(x - y) <= tol or abs(x - y) <= tol * abs(y)


def compare_float(out: str, exp: str, tol: float = DEFAULT_TOLERANCE) -> bool:
    a, b = out.split(), exp.split()
    return len(a) == len(b) and all(_float_eq(x, y, tol) for x, y in zip(a, b))


def compare_yesno(out: str, exp: str, tol: float = DEFAULT_TOLERANCE) -> bool:
    return [t.lower() for t in out.split()] == [t.lower() for t in exp.split()]


COMPARATORS: dict[str, Callable[[str, str, float], bool]] = {
    "tokens": compare_tokens,
    "lines": compare_lines,
    "float": compare_float,
    "yesno": compare_yesno,
}


def values_equal(got: Any, expected: Any, tol: float = DEFAULT_TOLERANCE) -> bool:
    """Function-call results after a JSON round trip: tuples are lists, floats within tolerance.
    Types must match (True is not 1), so a bool never passes for an int."""
    if isinstance(expected, float) or isinstance(got, float):
        if isinstance(got, bool) or isinstance(expected, bool):
            return False
        if not isinstance(got, (int, float)) or not isinstance(expected, (int, float)):
            return False
        return _float_eq(repr(float(got)), repr(float(expected)), tol)
    if type(got) is not type(expected):
        return False
    if isinstance(expected, list):
        return len(got) == len(expected) and all(values_equal(g, e, tol) for g, e in zip(got, expected))
    if isinstance(expected, dict):
        return got.keys() == expected.keys() and all(values_equal(got[k], expected[k], tol) for k in expected)
    return got == expected


def parse_json_value(text: str) -> Any:
    return json.loads(text)
