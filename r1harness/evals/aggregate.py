"""From the store's rollouts + rewards to benchmark numbers (the corpus-level side of evaluation).

`load_samples` reads one row per (rollout, verifier) with the latest reward; `compute_results` turns those
into result rows: pass@k, cons@k, cons_gain@k (cons@k - pass@1, paired), breakdowns, with bootstrap CIs
and infrastructure-failure counts.
Infrastructure failures (verdict timeout/error) are never scored as wrong: they are dropped from the
samples of their problem and counted in the `infra_failures` metric.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from r1harness.evals import metrics

INFRA = ("timeout", "error")


@dataclass(frozen=True)
class MetricValue:
    metric: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n_problems: int | None = None
    n_samples: int | None = None
    breakdown: str | None = None
    protocol_extra: dict | None = None  # merged into this row's protocol JSON (e.g. a rating's method)


def load_samples(store, rollout_ids: Sequence[str], verifier: str):
    """A polars frame: rollout_id, prompt_id, sample_index, finish_reason, completion_tokens, status,
    score, extracted, metadata (of the prompt). Rollouts without a reward have a null status."""
    query = """
        WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS rollout_id),
        latest AS (
            SELECT rollout_id, status, score, extracted, verifier_version FROM rewards
            WHERE verifier = ? AND rollout_id IN (SELECT rollout_id FROM wanted)
            QUALIFY row_number() OVER (PARTITION BY rollout_id ORDER BY created_at DESC) = 1)
        SELECT r.rollout_id, r.prompt_id, r.sample_index, r.finish_reason, r.completion_tokens,
               l.status, l.score, l.extracted, l.verifier_version, p.metadata
        FROM rollouts r
        JOIN wanted USING (rollout_id)
        LEFT JOIN latest l USING (rollout_id)
        LEFT JOIN prompts p USING (prompt_id)
        ORDER BY r.prompt_id, r.sample_index
    """
    return store.sql(query, [list(rollout_ids), verifier])


def compute_results(
    samples,
    *,
    k_values: Sequence[int],
    cons_values: Sequence[int] = (),
    breakdowns: Sequence[str] = (),
    cluster: Callable | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    verifier: Any = None,
) -> list[MetricValue]:
    """Every metric of one benchmark run from `load_samples`' frame."""
    import polars as pl

    scored = samples.filter(pl.col("status").is_not_null() & ~pl.col("status").is_in(INFRA))
    per_problem = scored.group_by("prompt_id", maintain_order=True).agg(
        n=pl.len(), c=(pl.col("status") == "correct").sum()
    )
    n_arr, c_arr = per_problem["n"].to_numpy(), per_problem["c"].to_numpy()
    out = [
        _mean_metric(f"pass@{k}", metrics.pass_at_k_many(n_arr, c_arr, k), n_arr, n_boot, seed)
        for k in k_values
    ]
    if cons_values:
        votes = cons_votes(scored, cons_values, cluster, verifier)
        out += [_mean_metric(f"cons@{k}", values, n_arr, n_boot, seed) for k, values in votes.items()]
        # What voting adds, paired per problem (cons@k - pass@1): its CI is much narrower than the two
        # metrics' separate CIs, which overlap almost always, so "does voting help?" gets a real answer.
        pass1 = c_arr / n_arr
        out += [
            _mean_metric(f"cons_gain@{k}", values - pass1, n_arr, n_boot, seed) for k, values in votes.items()
        ]
    out += _breakdowns(scored, breakdowns, n_boot, seed)
    out += _health(samples)
    return out


def cons_votes(
    scored, cons_values: Sequence[int], cluster: Callable | None = None, verifier: Any = None
) -> dict[int, np.ndarray]:
    """Per problem, 1.0 when the majority answer class of its first k samples is correct.

    Answers vote as equivalence classes, not strings, so `0.5` and `\\frac{1}{2}` vote together (see
    `_vote`). Wrong answers that need math-verify to be grouped are grouped by `cluster` (one call per
    problem) when given, else in one batch over all problems (`BatchedClusters`).
    """
    normalise = _normaliser()
    groups = []
    for _, group in scored.group_by("prompt_id", maintain_order=True):
        group = group.sort("sample_index")
        groups.append((group["extracted"].to_list(), (group["status"] == "correct").to_list()))
    if cluster is None:
        batched = BatchedClusters(verifier)
        for answers, correct in groups:  # pass 1: collect what needs math-verify
            for k in cons_values:
                _vote(answers[:k], correct[:k], batched.record, normalise)
        batched.compute()
        cluster = batched.lookup
    results: dict[int, list[float]] = {k: [] for k in cons_values}
    for answers, correct in groups:
        for k in cons_values:
            vote = _vote(answers[:k], correct[:k], cluster, normalise)
            results[k].append(1.0 if vote.correct else 0.0)
    return {k: np.asarray(v, dtype=np.float64) for k, v in results.items()}


class BatchedClusters:
    """`verify.math.cluster_answers` for many problems at once: every pair of distinct answers of a problem
    is graded in ONE math-verify batch (spread over its worker pool), then cluster_answers' own rule is
    replayed per problem (each new answer joins the first earlier class representative it matches), so
    the classes are the same as calling cluster_answers problem by problem, without a pool round trip per
    distinct answer."""

    def __init__(self, verifier: Any = None):
        self.verifier = verifier
        self.wanted: dict[tuple, None] = {}
        self.done: dict[tuple, list[int | None]] = {}
        self.comparisons = 0  # pairs math-verify had to grade

    def record(self, answers: list) -> list[int | None]:
        self.wanted[tuple(answers)] = None
        return [None] * len(answers)  # placeholder; pass 2 reads the real classes

    def lookup(self, answers: list) -> list[int | None]:
        return self.done[tuple(answers)]

    def compute(self) -> None:
        normalise = _normaliser()
        forms_by_problem, preds, golds = {}, [], []
        for answers in self.wanted:
            first: dict[str, str] = {}
            for a in answers:
                if a is not None:
                    first.setdefault(normalise(a), a)
            forms = list(first.values())
            forms_by_problem[answers] = forms
            values = [numeric_value(normalise(f)) for f in forms]
            for i in range(1, len(forms)):
                for j in range(i):
                    if not _numbers_decide(values[i], values[j]):
                        preds.append(forms[i])
                        golds.append(forms[j])
        self.comparisons = len(preds)
        graded = iter(())
        if preds:
            from r1harness.verify.math import shared_verifier

            verifier = self.verifier or shared_verifier()
            graded = iter(verifier.grade_answers(preds, golds))
        for answers, forms in forms_by_problem.items():
            values = [numeric_value(normalise(f)) for f in forms]
            same = {}
            for i in range(1, len(forms)):
                for j in range(i):
                    same[(i, j)] = (
                        values[i] == values[j]
                        if _numbers_decide(values[i], values[j])
                        else next(graded).status == "correct"
                    )
            self.done[answers] = _replay(answers, forms, same, normalise)


def _numbers_decide(a: Fraction | None, b: Fraction | None) -> bool:
    """Two plain numbers further apart than math-verify's 6-decimal rounding are decided without it."""
    return a is not None and b is not None and (a == b or abs(a - b) > Fraction(1, 10**6) * max(1, abs(a)))


def _replay(answers: tuple, forms: list, same: dict, normalise: Callable) -> list[int | None]:
    reps: list[int] = []  # form index of each class representative
    form_class: dict[int, int] = {}
    for i in range(len(forms)):
        match = next((c for c, rep in enumerate(reps) if same[(i, rep)]), None)
        if match is None:
            reps.append(i)
            match = len(reps) - 1
        form_class[i] = match
    index = {normalise(f): i for i, f in enumerate(forms)}
    return [None if a is None else form_class[index[normalise(a)]] for a in answers]


def _vote(answers: list, correct: list, cluster: Callable, normalise: Callable) -> metrics.Vote:
    """One problem's cons@k vote. Classes: the correct samples form one class (each was judged equivalent
    to the gold by the verifier); wrong answers are grouped among themselves (by value for plain numbers,
    else by math-verify via `cluster`). Then `metrics.majority_vote` decides, ties to the earliest class.
    Exact shortcuts skip math-verify when it cannot change the outcome: fewer wrong votes than correct
    ones (the correct class wins), or one group of identical wrong answers already outnumbering the
    correct class (a wrong class wins)."""
    present = [i for i, a in enumerate(answers) if a not in (None, "")]
    if not present:
        return metrics.Vote(None, False, 0, 0)
    right = [i for i in present if correct[i]]
    wrong = [i for i in present if not correct[i]]
    if len(wrong) < len(right):
        return metrics.Vote(0, True, len(right), 1)
    keys = [normalise(answers[i]) for i in wrong]
    values = [numeric_value(k) for k in keys]
    groups: dict = {}
    for key, value in zip(keys, values):
        group = value if value is not None else key
        groups[group] = groups.get(group, 0) + 1
    biggest = max(groups.values())
    if biggest > len(right):
        return metrics.Vote(1, False, biggest, 1)
    wrong_classes = equivalence_classes([answers[i] for i in wrong], keys, cluster)
    classes: list[int | None] = [None] * len(answers)
    for i in right:
        classes[i] = 0
    for i, cls in zip(wrong, wrong_classes):
        classes[i] = None if cls is None else cls + 1
    return metrics.majority_vote(classes, correct)


_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_FRACTION = re.compile(r"^(-?)\\[dt]?frac\{(-?\d+)\}\{(\d+)\}$|^(-?\d+)/(\d+)$")


def numeric_value(key: str | None) -> Fraction | None:
    """The exact value of a normalised answer that is a plain number or fraction, else None."""
    if key is None:
        return None
    if _NUMBER.match(key):
        return Fraction(key)
    m = _FRACTION.match(key)
    if not m:
        return None
    if m.group(2) is not None:
        num, den = int(m.group(2)) * (-1 if m.group(1) else 1), int(m.group(3))
    else:
        num, den = int(m.group(4)), int(m.group(5))
    return Fraction(num, den) if den else None


def equivalence_classes(answers: list, keys: list, cluster: Callable) -> list[int | None]:
    """Answer classes for a vote. Plain numbers are grouped by exact value first ("116", "116.0" and
    "\\frac{232}{2}" are one class) — measurably cheaper than math-verify and the same decision, since
    math-verify also equates equal numbers and separates numbers that differ beyond its 6-decimal rounding.
    Only when some answer is not a plain number, or two numbers are that close, does math-verify (`cluster`)
    decide, over one representative per numeric value."""
    values = [numeric_value(k) for k in keys]
    present = [v for k, v in zip(keys, values) if k is not None]
    if present and all(v is not None for v in present):
        distinct = sorted(set(present))
        close = any(abs(b - a) <= Fraction(1, 10**6) * max(1, abs(b)) for a, b in zip(distinct, distinct[1:]))
        if not close:
            order = {v: i for i, v in enumerate(dict.fromkeys(present))}
            return [order[v] if v is not None else None for v in values]
    first_form: dict[Fraction, str] = {}
    for answer, value in zip(answers, values):
        if value is not None:
            first_form.setdefault(value, answer)
    merged = [
        None if k is None else (first_form[v] if v is not None else a)
        for a, k, v in zip(answers, keys, values)
    ]
    return cluster(merged)


def _mean_metric(
    name: str, values: np.ndarray, n_arr: np.ndarray, n_boot: int, seed: int, breakdown: str | None = None
) -> MetricValue:
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    kept = values[keep]
    low, high = metrics.bootstrap_ci(kept, n_boot=n_boot, seed=seed)
    return MetricValue(
        name, metrics.mean(kept), low, high, int(keep.sum()), int(n_arr[keep].sum()), breakdown
    )


def _breakdowns(scored, fields: Sequence[str], n_boot: int, seed: int) -> list[MetricValue]:
    import polars as pl

    if not fields or scored.is_empty():
        return []
    per_problem = scored.group_by("prompt_id", maintain_order=True).agg(
        n=pl.len(), c=(pl.col("status") == "correct").sum(), metadata=pl.col("metadata").first()
    )
    meta = [_json(m) for m in per_problem["metadata"].to_list()]
    n_arr, c_arr = per_problem["n"].to_numpy(), per_problem["c"].to_numpy()
    pass1 = c_arr / n_arr
    out = []
    for field in fields:
        labels = np.asarray([str(m.get(field)) for m in meta], dtype=object)
        for label in sorted(set(labels)):
            sel = labels == label
            out.append(_mean_metric("pass@1", pass1[sel], n_arr[sel], n_boot, seed, f"{field}={label}"))
    return out


def _health(samples) -> list[MetricValue]:
    import polars as pl

    total = samples.height
    infra = samples.filter(pl.col("status").is_in(INFRA)).height
    unverified = samples.filter(pl.col("status").is_null()).height
    truncated = samples.filter(pl.col("finish_reason") == "length").height
    tokens = samples["completion_tokens"].drop_nulls()
    out = [
        MetricValue("infra_failures", float(infra), n_samples=total),
        MetricValue("unverified", float(unverified), n_samples=total),
        MetricValue("truncated_rate", truncated / total if total else float("nan"), n_samples=total),
    ]
    if len(tokens):
        out.append(MetricValue("mean_completion_tokens", float(tokens.mean()), n_samples=len(tokens)))
    return out


def _json(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    try:
        data = json.loads(value) if value else {}
    except (TypeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _normaliser() -> Callable[[str], str]:
    from r1harness.verify.math import normalize_answer

    return normalize_answer
