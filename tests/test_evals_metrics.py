"""Metrics: pass@k against brute-force enumeration and case files, cons@k over equivalence classes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from r1harness.evals import metrics
from r1harness.evals.aggregate import _vote

CASES = Path(__file__).parent / "cases"


def brute_force_pass_at_k(outcomes: list[bool], k: int) -> float:
    """Share of all k-subsets of the samples that contain at least one correct sample."""
    subsets = list(itertools.combinations(range(len(outcomes)), k))
    return sum(any(outcomes[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", [1, 2, 5, 8, 10])
def test_pass_at_k_matches_enumeration(n):
    for c in range(n + 1):
        outcomes = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            assert metrics.pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(outcomes, k), abs=1e-12)


def test_pass_at_k_case_file():
    data = json.loads((CASES / "metrics_pass_at_k.json").read_text())
    for case in data["cases"]:
        got = metrics.pass_at_k(case["n"], case["c"], case["k"])
        assert got == pytest.approx(case["expected"], abs=data["tolerance"]), case


def test_pass_at_k_stable_up_to_1024():
    # naive comb(n-c,k)/comb(n,k) in floats overflows here; the product form stays in [0, 1]
    values = [metrics.pass_at_k(1024, c, 512) for c in range(0, 1025, 7)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values == sorted(values)  # more correct samples never lower pass@k


def test_pass_at_k_vectorised_equals_scalar():
    rng = np.random.default_rng(0)
    n = rng.choice([4, 16, 64], size=300)
    c = np.array([rng.integers(0, m + 1) for m in n])
    for k in (1, 4, 16, 64):
        got = metrics.pass_at_k_many(n, c, k)
        want = [metrics.pass_at_k(a, b, k) if k <= a else np.nan for a, b in zip(n, c)]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_pass_at_k_rejects_bad_arguments():
    with pytest.raises(ValueError, match="c <= n"):
        metrics.pass_at_k(4, 5, 1)
    with pytest.raises(ValueError, match="k <= n"):
        metrics.pass_at_k(4, 1, 8)


def test_pass_at_1_is_mean_correctness():
    assert metrics.pass_at_k(64, 16, 1) == pytest.approx(16 / 64)


def test_cons_case_file_with_math_verify_classes():
    from r1harness.verify.math import cluster_answers, normalize_answer

    data = json.loads((CASES / "metrics_cons.json").read_text())
    for case in data["cases"]:
        vote = _vote(case["answers"], case["correct"], cluster_answers, normalize_answer)
        assert vote.correct == case["expected_correct"], case["name"]
        assert vote.votes == case["expected_votes"], case["name"]


def test_string_majority_differs_from_class_majority():
    # The point of equivalence classes: by strings "3" wins 2-1-1-1; by classes 1/2 wins 3-2.
    from r1harness.verify.math import cluster_answers

    answers = ["3", "\\frac12", "0.5", "3", "\\dfrac{1}{2}"]
    correct = [False, True, True, False, True]
    by_string = metrics.majority_vote([{"3": 0}.get(a, i + 1) for i, a in enumerate(answers)], correct)
    by_class = metrics.majority_vote(cluster_answers(answers), correct)
    assert (by_string.correct, by_class.correct) == (False, True)


def test_majority_vote_tie_break_is_first_appearance():
    # classes numbered against first appearance must not matter: relabel and get the same answer
    vote = metrics.majority_vote([5, 9, 9, 5], [False, True, True, False])
    assert (vote.answer_class, vote.tied, vote.correct) == (5, 2, False)
    vote = metrics.majority_vote([9, 5, 5, 9], [True, False, False, True])
    assert (vote.answer_class, vote.correct) == (9, True)


def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    values = np.random.default_rng(3).random(200)
    a = metrics.bootstrap_ci(values, seed=1)
    assert a == metrics.bootstrap_ci(values, seed=1)
    assert a != metrics.bootstrap_ci(values, seed=2)
    assert a[0] < values.mean() < a[1]
    # the half-width is about 1.96 standard errors for a mean of 200 uniforms
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert (a[1] - a[0]) / 2 == pytest.approx(1.96 * se, rel=0.15)


def test_bootstrap_ci_degenerate_inputs():
    assert metrics.bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    low, high = metrics.bootstrap_ci([])
    assert np.isnan(low) and np.isnan(high)


def test_numeric_prepass_agrees_with_math_verify():
    """The exact-number grouping in aggregate.equivalence_classes makes the same classes math-verify does."""
    from r1harness.evals.aggregate import equivalence_classes
    from r1harness.verify.math import cluster_answers, normalize_answer

    groups = [
        ["116", "7", "116.0", None, "\\frac{232}{2}", "7.0", "-3", "1,000", "1000"],
        ["0.5", "1/2", "\\frac{1}{2}", "2", "0.25", "\\dfrac{2}{4}"],
        ["0.333333", "\\frac13", "3", "x=3", "\\sqrt{9}"],
    ]
    for answers in groups:
        keys = [normalize_answer(a) if a else None for a in answers]
        assert equivalence_classes(answers, keys, cluster_answers) == cluster_answers(answers), answers


def test_batched_clusters_equal_cluster_answers():
    from r1harness.evals.aggregate import BatchedClusters
    from r1harness.verify.math import cluster_answers

    problems = [
        ["0.5", "3", "\\frac12", None, "3", "1/2"],
        ["x^2+1", "1+x^2", "\\sqrt{8}", "2\\sqrt{2}", "7"],
        [None, None],
        ["(1,2)", "(1, 2)", "\\left(1,2\\right)", "(2,1)"],
    ]
    batched = BatchedClusters()
    for answers in problems:
        batched.record(answers)
    batched.compute()
    for answers in problems:
        assert batched.lookup(answers) == cluster_answers(answers), answers
