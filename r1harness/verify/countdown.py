"""Countdown verifier: is the equation in `<answer>` built from the given numbers and equal to the target?

Rules (as in TinyZero / the Countdown RL literature): only + - * / and parentheses; each given number used
at most once (`use_all=True` demands every number exactly once); exact rational arithmetic, so 7/2*2 == 7.
The expression is parsed with `ast`, never `eval`ed. An equation with a trailing "= target" is accepted.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from fractions import Fraction

from r1harness.verify.verdict import Verdict

COUNTDOWN_VERIFIER_VERSION = "1"
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_OPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


class _Unparseable(ValueError):
    pass


def verify_countdown(completion: str, numbers: list[int], target: int, *, use_all: bool = False) -> Verdict:
    """Verdict for one completion; score 1.0 correct, 0.0 otherwise."""
    equation = _extract(completion)
    if equation is None:
        return _verdict("unparseable", None, "no <answer>...</answer> with an equation")
    try:
        value, used = _evaluate(equation)
    except (_Unparseable, SyntaxError, RecursionError) as exc:
        return _verdict("unparseable", equation, f"not an arithmetic expression: {exc}")
    except ZeroDivisionError:
        return _verdict("wrong", equation, "division by zero")
    missing = Counter(used) - Counter(numbers)
    if missing:
        return _verdict(
            "wrong", equation, f"uses numbers not given (or too often): {sorted(missing.elements())}"
        )
    if use_all and Counter(used) != Counter(numbers):
        return _verdict("wrong", equation, "does not use every number exactly once")
    if value != target:
        return _verdict("wrong", equation, f"evaluates to {_fmt(value)}, not {target}", value=_fmt(value))
    return _verdict("correct", equation, "reaches the target", value=_fmt(value))


def verify_countdown_batch(
    completions: list[str], references: list[dict], *, use_all: bool = False, **_options
) -> list[Verdict]:
    """Registry signature: references are `prompts` rows; numbers/target come from their metadata."""
    out = []
    for completion, ref in zip(completions, references, strict=True):
        try:
            meta = ref.get("metadata") or {}
            meta = json.loads(meta) if isinstance(meta, str) else meta
            target = int(meta.get("target", ref.get("answer")))
            out.append(
                verify_countdown(completion, [int(x) for x in meta["numbers"]], target, use_all=use_all)
            )
        except (KeyError, TypeError, ValueError) as exc:
            # A malformed reference is our failure, not the model's: no score.
            out.append(
                Verdict(
                    "error",
                    None,
                    "countdown",
                    COUNTDOWN_VERIFIER_VERSION,
                    reason=f"reference lacks numbers/target: {exc!r}",
                )
            )
    return out


def _extract(completion: str) -> str | None:
    tags = _ANSWER_TAG.findall(completion)
    if not tags:
        return None
    text = tags[-1].strip()
    if "=" in text:  # "(3 + 4) * 5 = 35": keep the left-hand side
        text = text.split("=")[0].strip()
    return text or None


def _evaluate(equation: str) -> tuple[Fraction, list[int]]:
    if len(equation) > 200:
        raise _Unparseable("expression longer than 200 characters")
    tree = ast.parse(equation.replace("×", "*").replace("÷", "/"), mode="eval")
    used: list[int] = []
    return _eval_node(tree.body, used), used


def _eval_node(node, used: list[int]) -> Fraction:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        used.append(node.value)
        return Fraction(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval_node(node.left, used), _eval_node(node.right, used))
    raise _Unparseable(f"{type(node).__name__} is not allowed (only integers, + - * / and parentheses)")


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _verdict(status: str, extracted: str | None, reason: str, **details) -> Verdict:
    return Verdict(
        status,
        1.0 if status == "correct" else 0.0,
        "countdown",
        COUNTDOWN_VERIFIER_VERSION,
        extracted=extracted,
        reason=reason,
        details=details,
    )
