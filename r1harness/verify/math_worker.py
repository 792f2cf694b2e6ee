"""The math comparison itself: runs inside `DeadlinePool` workers (or in-process when workers=0).

Imported by worker processes only (it pulls in math-verify and sympy). Math-verify's own timeouts are turned
off here (`parsing_timeout=None`, `timeout_seconds=None`): on timeout it would quietly answer False, i.e.
score an infrastructure failure as a wrong answer. The pool's deadline kills the worker instead and the
verdict says "timeout".
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

logging.getLogger("math_verify").setLevel(logging.ERROR)  # its "timeout disabled" warning is our design

# Boxed content first; plain expressions (`1/2`, `0.5`) as a fallback.
_CONFIG = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())
# Policy knobs passed to math_verify.verify (see math.py for the reasoning behind each).
VERIFY_OPTIONS = {
    "float_rounding": 6,
    "numeric_precision": 15,
    "strict": True,
    "allow_set_relation_comp": True,
}
# LaTeX that is not prose: \text{...}-style wrappers, environment names (`\begin{pmatrix}`: "pmatrix" and
# "end" are not words of a sentence) and any other command name.
_TEXT_WRAPPERS = re.compile(
    r"\\(?:text|textbf|mathrm|mbox|operatorname)\{[^{}]*\}|\\(?:begin|end)\s*\{[^{}]*\}|\\[a-zA-Z]+"
)
_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")


# Python refuses to parse longer integers (sys.get_int_max_str_digits); math-verify then quietly keeps part of
# the number (`1e` + 5000 nines parsed as 1), which could grade a garbage answer correct.
_MAX_DIGITS = 4300
_TOO_LONG = re.compile(rf"\d{{{_MAX_DIGITS + 1}}}")


def is_prose(answer: str) -> bool:
    """A sentence such as "The answer is 5" rather than a formula: parse it with math-verify's anchors."""
    bare = _TEXT_WRAPPERS.sub(" ", answer)
    return len(_WORD.findall(bare)) >= 2


def _parse(answer: str) -> list:
    text = answer if is_prose(answer) or "$" in answer else f"${answer}$"
    return parse(text, extraction_config=list(_CONFIG), parsing_timeout=None)


@lru_cache(maxsize=8192)
def parse_gold(gold: str) -> tuple:
    """Each gold is parsed once per worker (rejection sampling grades 64 completions against it)."""
    return tuple(_parse(gold))


def compare(pair: tuple[str, str]) -> tuple[str, str]:
    """(normalised prediction, normalised gold) -> (status, reason) with status correct|wrong|unparseable."""
    pred, gold = pair
    if _TOO_LONG.search(pred):
        return (
            "unparseable",
            f"a number with over {_MAX_DIGITS} digits (math-verify would drop digits from it)",
        )
    gold_parsed = list(parse_gold(gold))
    pred_parsed = _parse(pred)
    if not gold_parsed:  # gold not understood by math-verify (free text): exact string match is the rule
        same = _squash(pred) == _squash(gold)
        return ("correct" if same else "wrong"), "string match (gold is not parseable math)"
    if not pred_parsed:
        return "unparseable", "math-verify could not parse the extracted answer"
    if verify(gold_parsed, pred_parsed, timeout_seconds=None, **VERIFY_OPTIONS):
        if _set_against_sequence(gold_parsed[0], pred_parsed[0]):
            return "wrong", "a set of values is not an interval or an ordered tuple"
        return "correct", "equivalent to gold"
    return "wrong", "not equivalent to gold"


def _set_against_sequence(gold, pred) -> bool:
    """Strict mode's rule that a set never matches a tuple: math-verify reads `(1, 2)` as an interval or a
    point and still accepts `\\{1, 2\\}` for it."""
    from sympy import FiniteSet, Interval, Tuple
    from sympy.core.relational import Relational

    def kind(obj):
        if isinstance(obj, FiniteSet) and len(obj) > 1:  # a list of assignments names its values: not a set
            return None if any(isinstance(e, Relational) for e in obj.args) else "set"
        return "sequence" if isinstance(obj, (Interval, Tuple)) else None

    return {kind(gold), kind(pred)} == {"set", "sequence"}


def _squash(s: str) -> str:
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", s)
    return re.sub(r"\s+", "", s).lower()


_WARM_UP = (  # one of each kind of object MATH answers parse to (values unlike any benchmark's)
    ("\\frac{\\sqrt{3}}{3}", "x^2+7"),
    ("x \\le 4", "(-\\infty, 4]"),
    ("\\{3,8\\}", "3, 8"),
    ("40\\%", "\\text{(B)}"),
    ("z = 9", "9"),
    ("(4,-7)", "(4,-7)"),
    ("(1,5) \\cup (5,9)", "(1,5) \\cup (5,9)"),
    ("77", "115_8"),
    ("(3,\\infty)", "2+5i"),
    ("x^5 + x^2 + 1", "\\frac{7}{3}"),
    ("2", "3 \\sqrt{7}"),
    ("8", "1-4i"),
    ("\\begin{pmatrix} 3 \\\\ 5 \\end{pmatrix}", "\\begin{pmatrix} 3 \\\\ 5 \\end{pmatrix}"),
    ("5\\pi/6", "\\frac{5\\pi}{6}"),
    ("y = 4x - 1", "y=4x-1"),
    ("\\sin t", "\\cos t"),
    ("0.25", "\\frac{1}{4}"),
    ("e^{3}", "\\log 5"),
)


def warm_up() -> None:
    """Trigger sympy's lazy imports and first-use costs (simplify alone pulls in sympy.physics.units,
    ~0.5 s; the first tuple, interval or complex comparison ~0.1 s each) before a worker counts as ready,
    so they never eat an item's deadline and a fresh worker is as fast as a seasoned one."""
    for pair in _WARM_UP:
        compare(pair)
