"""How a worked solution is written in the pretraining corpus: at once, step by step, or checked.

The R1-Zero self-evolution miniature (datasets/pipelines/r1zero_evolve.yaml) needs a base that has seen,
rarely, the behaviours RL should grow: a tiny model that answers a multi-digit sum at once often slips on a
carry; working column by column is longer and more often right; and a trace that first answers, then says
"wait, let me check", works the columns and corrects itself is longer still. Three styles of one sum:

- "direct": `478 + 356 = 834.`
- "steps":  `8 + 6 + 0 = 14, 4. 7 + 5 + 1 = 13, 34. 4 + 3 + 1 = 8, 834.` — column by column, each line
  also writing the answer so far (its units digit before the last line's), so the answer is copied, not
  assembled from reversed column sums: with arithmetic.py's scratchpad (sums only) a 1.1M-parameter base
  pretrained 1,000 steps answered 0 of 100 held-out 3-digit sums even when its column sums were right.
- "check":  `478 + 356 = 824. wait, let me check: 8 + 6 + 0 = 14, 4. ... 4 + 3 + 1 = 8, 834. so it is
  834.` — the first answer is a typical slip (a dropped carry) in `CHECK_SLIP_SHARE` of check traces and
  right in the others, so "let me check" is not a signal that the first answer was wrong.

Only two-term sums have these styles; any other row (products, Countdown) is always written step by step.
"""

from __future__ import annotations

import random

from r1harness.errors import ConfigError

STYLES = ("direct", "steps", "check")
CHECK_SLIP_SHARE = 0.5  # of "check" traces whose first answer is wrong (the rest confirm a right one)
REFLECTION = "wait, let me check:"


def check_shares(traces: dict | None) -> dict[str, float]:
    """`{steps: p, check: q}` validated; the rest of the documents answer at once ("direct")."""
    if traces is None:
        return {"steps": 1.0, "check": 0.0}
    if not isinstance(traces, dict):
        raise ConfigError(
            f"pretrain.traces must be a mapping like {{steps: 0.2, check: 0.05}}, got {traces!r}"
        )
    unknown = sorted(set(traces) - {"steps", "check"})
    if unknown:
        raise ConfigError(
            f"pretrain.traces: unknown keys {unknown}; use steps and check (the rest is direct)"
        )
    shares = {k: float(traces.get(k, 0.0)) for k in ("steps", "check")}
    if any(v < 0 for v in shares.values()) or sum(shares.values()) > 1.0:
        raise ConfigError(f"pretrain.traces: shares must be >= 0 and sum to <= 1, got {traces}")
    return shares


def draw_style(rng: random.Random, shares: dict[str, float]) -> str:
    u = rng.random()
    if u < shares["check"]:
        return "check"
    return "steps" if u < shares["check"] + shares["steps"] else "direct"


def trace(row: dict, style: str, rng: random.Random | None = None) -> str:
    """The worked solution of an arithmetic row in `style` (without the closing "the answer is N")."""
    if style not in STYLES:
        raise ConfigError(f"trace style must be one of {STYLES}, got {style!r}")
    meta = row["metadata"]
    nums, ops = meta.get("numbers"), meta.get("ops")
    if not nums or ops != ["+"] or len(nums) != 2:
        return meta.get("solution", "")
    a, b = nums
    if style == "steps":
        return columns(a, b)
    if style == "direct":
        return f"{a} + {b} = {a + b}."
    rng = rng or random.Random(f"{a}+{b}")
    first = slipped_sum(a, b, rng) if rng.random() < CHECK_SLIP_SHARE else a + b
    return f"{a} + {b} = {first}. {REFLECTION} {columns(a, b)} so it is {a + b}."


def columns(a: int, b: int) -> str:
    """Column addition, lowest column first, each line with the answer so far: `x + y + c = s, P.`."""
    da, db = str(a)[::-1], str(b)[::-1]
    carry, so_far, parts = 0, "", []
    for i in range(max(len(da), len(db))):
        x, y = _digit(da, i), _digit(db, i)
        s = x + y + carry
        so_far = str(s % 10) + so_far
        parts.append(f"{x} + {y} + {carry} = {s}, {so_far}.")
        carry = s // 10
    if carry:
        parts.append(f"carry 1, 1{so_far}.")
    return " ".join(parts)


def slipped_sum(a: int, b: int, rng: random.Random) -> int:
    """A plausible wrong sum: one carry dropped (the commonest slip), or one digit off by one if no carry."""
    da, db = str(a)[::-1], str(b)[::-1]
    carries = [
        i for i in range(max(len(da), len(db))) if _digit(da, i) + _digit(db, i) + _carry_in(a, b, i) >= 10
    ]
    if carries:
        return a + b - 10 ** (rng.choice(carries) + 1)
    place = rng.randrange(len(str(a + b)))
    delta = 10**place
    return a + b + delta if (a + b) // delta % 10 < 9 else a + b - delta


def _digit(reversed_digits: str, i: int) -> int:
    return int(reversed_digits[i]) if i < len(reversed_digits) else 0


def _carry_in(a: int, b: int, i: int) -> int:
    mod = 10**i
    return 1 if i and (a % mod + b % mod) >= mod else 0


__all__ = [
    "CHECK_SLIP_SHARE",
    "REFLECTION",
    "STYLES",
    "check_shares",
    "columns",
    "draw_style",
    "slipped_sum",
    "trace",
]
