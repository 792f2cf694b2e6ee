"""Evaluation metrics: stateless functions, sample scoring kept apart from corpus aggregation.

Per problem: `pass_at_k(n, c, k)`, `majority_vote(...)` (the cons@k winner). Over problems: `mean`,
`bootstrap_ci`. Nothing here reads the store; `evals/aggregate.py` feeds these from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with `c` correct among `n` samples (Chen et al. 2021).

    1 - C(n-c, k) / C(n, k), computed as the product prod_{i=n-c+1}^{n} (1 - k/i): no big binomials,
    so it is exact to float precision for n in the thousands.
    """
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=np.float64)))


def pass_at_k_many(n: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """`pass_at_k` for arrays of problems (same formula, vectorised over problems with equal n)."""
    n = np.asarray(n, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    out = np.empty(len(n), dtype=np.float64)
    for n_value in np.unique(n):
        rows = n == n_value
        if k > n_value:
            out[rows] = np.nan
            continue
        ii = np.arange(1, n_value + 1, dtype=np.float64)
        # log(1 - k/i); only i > n - c >= k is ever summed, so the i <= k entries (log 0) are unused
        log_terms = np.log1p(-k / np.maximum(ii, k + 1.0))
        for c_value in np.unique(c[rows]):
            sel = rows & (c == c_value)
            if n_value - c_value < k:
                out[sel] = 1.0
            else:  # sum of log(1 - k/i) for i in (n-c, n]
                out[sel] = 1.0 - float(np.exp(log_terms[n_value - c_value :].sum()))
    return out


@dataclass(frozen=True)
class Vote:
    answer_class: int | None  # the winning equivalence class, None when no sample gave an answer
    correct: bool
    votes: int
    tied: int  # how many classes shared the top vote count


def majority_vote(classes: Sequence[int | None], correct: Sequence[bool]) -> Vote:
    """cons@k for one problem: the most common answer class among the samples, and whether it is right.

    `classes[i]` is sample i's answer equivalence class (None: no answer extracted; such samples do not
    vote), `correct[i]` its verdict. Samples are in sample_index order. Tie-break (deterministic): among
    classes with the most votes, the one whose first sample comes earliest wins — i.e. the answer the
    model reached first, which does not depend on how class ids were numbered. A class is correct when
    its earliest sample was scored correct.
    """
    if len(classes) != len(correct):
        raise ValueError(f"majority_vote: {len(classes)} classes for {len(correct)} verdicts")
    counts: dict[int, int] = {}
    first: dict[int, int] = {}
    for i, cls in enumerate(classes):
        if cls is None:
            continue
        counts[cls] = counts.get(cls, 0) + 1
        first.setdefault(cls, i)
    if not counts:
        return Vote(None, False, 0, 0)
    top = max(counts.values())
    leaders = [cls for cls, v in counts.items() if v == top]
    winner = min(leaders, key=first.__getitem__)
    return Vote(winner, bool(correct[first[winner]]), top, len(leaders))


def mean(values: Sequence[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()) if arr.size else float("nan")


def bootstrap_ci(
    values: Sequence[float], *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean over problems (resampling problems, seeded)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return float("nan"), float("nan")
    if arr.size == 1 or np.all(arr == arr[0]):
        return float(arr[0]), float(arr[0])
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot, dtype=np.float64)
    chunk = max(1, 2_000_000 // arr.size)  # bound the index matrix's memory
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, arr.size, size=(stop - start, arr.size))
        means[start:stop] = arr[idx].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
