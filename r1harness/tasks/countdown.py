"""Countdown: reach a target number from given numbers with + - * / (each number at most once).

Difficulty: `n_numbers` (how many are given), `max_number` (their size), `use_all` (whether the
hidden solution uses every number). The target is built from a random expression over the numbers,
so every problem has at least one solution (kept in metadata["solution"]).
"""

from __future__ import annotations

import random
from fractions import Fraction

from r1harness.errors import ConfigError

MAX_TARGET = 1000


def generate(
    n: int,
    seed: int,
    *,
    n_numbers: int = 3,
    max_number: int = 20,
    use_all: bool = True,
    ops: tuple[str, ...] | list[str] = ("+", "-", "*", "/"),
) -> list[dict]:
    if n < 0 or not 2 <= n_numbers <= 6 or max_number < 2:
        raise ConfigError(
            f"countdown: need n >= 0, 2 <= n_numbers <= 6, max_number >= 2 "
            f"(got n={n}, n_numbers={n_numbers}, max_number={max_number})"
        )
    rng = random.Random(seed)
    rows, seen, tries = [], set(), 0
    while len(rows) < n:
        tries += 1
        if tries > 100 * n + 1000:
            raise ConfigError(
                f"countdown: cannot draw {n} distinct problems with n_numbers={n_numbers}, "
                f"max_number={max_number}"
            )
        nums = [rng.randint(1, max_number) for _ in range(n_numbers)]
        used = nums if use_all else rng.sample(nums, rng.randint(2, n_numbers))
        solution, value = _random_expression(rng, list(used), list(ops))
        if value is None or value.denominator != 1 or not 0 < value <= MAX_TARGET:
            continue
        target = int(value)
        if (tuple(nums), target) in seen:
            continue
        seen.add((tuple(nums), target))
        rows.append(
            {
                "problem": (
                    f"Using the numbers {nums}, create an equation that equals {target}. "
                    "You may use + - * / and each number at most once."
                ),
                "answer": str(target),
                "metadata": {"numbers": nums, "target": target, "solution": solution},
            }
        )
    return rows


def _random_expression(rng: random.Random, nums: list[int], ops: list[str]):
    """Combine the numbers pairwise in random order; returns (expression text, exact value)."""
    items = [(str(x), Fraction(x)) for x in nums]
    rng.shuffle(items)
    while len(items) > 1:
        (ta, va), (tb, vb) = items.pop(), items.pop()
        op = rng.choice(ops)
        if op == "/" and vb == 0:
            return None, None
        value = {"+": va + vb, "-": va - vb, "*": va * vb, "/": va / vb if vb else None}[op]
        items.append((f"({ta} {op} {tb})" if items else f"{ta} {op} {tb}", value))
    return items[0]
