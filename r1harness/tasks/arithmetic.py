"""Multi-digit arithmetic: `a op b` with a digit-by-digit worked solution (the scratchpad a model can learn).

Difficulty: `digits` (operand length), `ops` (any of + - *), `terms` (numbers per problem).
"""

from __future__ import annotations

import random

from r1harness.errors import ConfigError

OPS = ("+", "-", "*")


def generate(
    n: int,
    seed: int,
    *,
    digits: int = 2,
    ops: tuple[str, ...] | list[str] = ("+",),
    terms: int = 2,
    min_digits: int | None = None,
) -> list[dict]:
    """`n` distinct problems; same (n, seed, params) -> same rows (and generate(m) is a prefix of
    generate(n) for m < n). Operands have `min_digits`..`digits` digits."""
    _check(n, digits, ops, terms, min_digits)
    rng = random.Random(seed)
    lo_digits = min_digits or digits
    rows, seen, tries = [], set(), 0
    while len(rows) < n:
        tries += 1
        if tries > 50 * n + 1000:
            raise ConfigError(
                f"arithmetic: cannot draw {n} distinct problems with digits={digits}, "
                f"terms={terms}; ask for fewer or raise digits"
            )
        nums = [_operand(rng, rng.randint(lo_digits, digits)) for _ in range(terms)]
        chosen = [rng.choice(list(ops)) for _ in range(terms - 1)]
        expr = " ".join(_interleave(nums, chosen))
        if expr in seen:  # distinct problems: duplicates would merge in the store anyway
            continue
        seen.add(expr)
        value = _evaluate(nums, chosen)
        rows.append(
            {
                "problem": f"What is {expr}?",
                "answer": str(value),
                "metadata": {
                    "numbers": nums,
                    "ops": chosen,
                    "digits": digits,
                    "expression": expr,
                    "solution": worked_solution(nums, chosen),
                },
            }
        )
    return rows


def worked_solution(nums: list[int], ops: list[str]) -> str:
    """A short scratchpad: column addition with carries for two-term sums, left-to-right steps otherwise."""
    if len(nums) == 2 and ops == ["+"]:
        return _column_addition(nums[0], nums[1])
    # Multiplications first (standard precedence), then + and - left to right.
    nums, ops, steps = list(nums), list(ops), []
    for phase in (("*",), ("+", "-")):
        i = 0
        while i < len(ops):
            if ops[i] in phase:
                new = _apply(nums[i], ops[i], nums[i + 1])
                steps.append(f"{nums[i]} {ops[i]} {nums[i + 1]} = {new}.")
                nums[i : i + 2], ops[i : i + 1] = [new], []
            else:
                i += 1
    return " ".join(steps)


def _column_addition(a: int, b: int) -> str:
    da, db = str(a)[::-1], str(b)[::-1]
    carry, parts = 0, []
    for i in range(max(len(da), len(db))):
        x = int(da[i]) if i < len(da) else 0
        y = int(db[i]) if i < len(db) else 0
        s = x + y + carry
        parts.append(f"{x} + {y} + {carry} = {s}.")
        carry = s // 10
    if carry:
        parts.append(f"carry {carry}.")
    return " ".join(parts)


def _operand(rng: random.Random, digits: int) -> int:
    return rng.randint(10 ** (digits - 1) if digits > 1 else 0, 10**digits - 1)


def _interleave(nums, ops):
    out = [str(nums[0])]
    for op, b in zip(ops, nums[1:]):
        out += [op, str(b)]
    return out


def _apply(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


def _evaluate(nums, ops) -> int:
    # Standard precedence: * before + and -.
    expr = " ".join(_interleave(nums, ops))
    return int(eval(expr, {"__builtins__": {}}, {}))  # only digits and + - * from this module


def _check(n, digits, ops, terms, min_digits):
    if n < 0:
        raise ConfigError(f"arithmetic: n must be >= 0, got {n}")
    if not 1 <= digits <= 12:
        raise ConfigError(f"arithmetic: digits must be 1..12, got {digits}")
    if min_digits is not None and not 1 <= min_digits <= digits:
        raise ConfigError(f"arithmetic: min_digits must be 1..digits ({digits}), got {min_digits}")
    if terms < 2:
        raise ConfigError(f"arithmetic: terms must be >= 2, got {terms}")
    bad = [o for o in ops if o not in OPS]
    if bad or not ops:
        raise ConfigError(f"arithmetic: ops must be a non-empty subset of {OPS}, got {list(ops)}")
