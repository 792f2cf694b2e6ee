"""CodeElo-style rating on a hand-computable fixture (see tests/fixtures/codeforces_standings/README.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from r1harness.errors import ConfigError
from r1harness.evals import codeforces as cf

STANDINGS = Path(__file__).parent / "fixtures" / "codeforces_standings"
ATTEMPTS = {
    "9001A": [False, True],
    "9001B": [True],
    "9001C": [False] * 8,
    "9002A": [True],
    "9002B": [False, False, True],
}


def test_fixture_rating_matches_hand_computation():
    contests = cf.load_standings(STANDINGS)
    rating = cf.rate(contests, ATTEMPTS)
    by_id = {r.contest_id: r for r in rating.contests}
    assert (by_id["9001"].solved, by_id["9001"].penalty, by_id["9001"].rank) == (2, 10.0, 2.5)
    assert by_id["9001"].rating == pytest.approx(1500.0, abs=1e-4)
    assert (by_id["9002"].score, by_id["9002"].rank) == (1400.0, 1.5)
    assert by_id["9002"].rating == pytest.approx(1200 + 400 * math.log10(3), abs=1e-4)
    assert rating.rating == pytest.approx((1500 + 1200 + 400 * math.log10(3)) / 2, abs=1e-4)
    assert rating.label() == {"rating_method": "codeelo@1", "contests": ["9001", "9002"]}


def test_expected_rank_inverts():
    opponents = [800, 1200, 1500, 1900, 2400]
    for rank in (1.3, 2.0, 3.7, 5.5):
        assert cf.expected_rank(cf.rating_for_rank(rank, opponents), opponents) == pytest.approx(
            rank, abs=1e-6
        )


def test_solving_everything_first_try_beats_everyone():
    contests = cf.load_standings(STANDINGS)
    perfect = cf.rate(contests[:1], {"9001A": [True], "9001B": [True], "9001C": [True]})
    nothing = cf.rate(contests[:1], {})
    assert perfect.contests[0].rank == 1.0 and nothing.contests[0].rank == 4.0
    assert perfect.rating > 1500 > nothing.rating


def test_percentile_from_histograms(shared_data):
    assert cf.percentile(1445.4243, {1000: 1, 1400: 1, 1500: 2}) == pytest.approx(50.0)
    hist = cf.load_histogram(shared_data / "code_stdio" / "codeforces_ratings_2024_histogram.json")
    assert sum(hist.values()) == 89352
    low, mid, high = (cf.percentile(r, hist) for r in (800, 1445.4243, 3000))
    assert 0 < low < mid < high < 100
    below = sum(c for r, c in hist.items() if r < 1445.4243)
    assert mid == pytest.approx(100 * below / 89352)


def test_bad_standings_name_the_file_and_field(tmp_path):
    bad = tmp_path / "c.json"
    bad.write_text(
        json.dumps(
            {
                "contest_id": 1,
                "problems": [{"problem_id": "1A"}],
                "participants": [{"handle": "x", "solved": 1}],
            }
        )
    )
    with pytest.raises(ConfigError, match=r"c.json: participants\[0\] lacks \['rating'\]"):
        cf.load_standings(tmp_path)
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON at line 1"):
        cf.load_standings(tmp_path)


def test_rating_through_run_eval(store):
    """The eval runner turns per-sample verdicts into attempts, in sample order, and stamps the method."""
    from r1harness.evals.runner import run_eval
    from r1harness.evals.spec import spec_from_dict
    from r1harness.generate import get_backend
    from r1harness.store import ids
    from r1harness.verify.verdict import Verdict

    problems = list(ATTEMPTS)
    store.append(
        "prompts",
        [
            {
                "prompt_id": ids.prompt_id("cf_fixture", f"problem {p}"),
                "dataset": "cf_fixture",
                "problem": f"problem {p}",
                "source_index": i,
                "metadata": json.dumps({"problem_id": p}),
            }
            for i, p in enumerate(problems)
        ],
    )
    # sample i of problem p passes exactly when ATTEMPTS says so (missing attempts fail)
    script = {
        f"problem {p}": ["PASS" if i < len(a) and a[i] else "FAIL" for i in range(8)]
        for p, a in ATTEMPTS.items()
    }

    def judge(completions, refs, **_):
        return [
            Verdict("correct" if c == "PASS" else "wrong", float(c == "PASS"), "code", "t")
            for c in completions
        ]

    spec = spec_from_dict(
        {
            "name": "cf_mini",
            "version": 1,
            "dataset": "cf_fixture",
            "template": "plain@1",
            "verifier": "code",
            "n": 8,
            "k": [1, 8],
            "rating": {"attempts": 8},
        }
    )
    outcome = run_eval(
        store,
        get_backend("fake", "coder", script=script),
        spec,
        standings=str(STANDINGS),
        verifier_fn=judge,
        progress=False,
    )
    assert outcome.value("codeforces_rating") == pytest.approx(
        (1500 + 1200 + 400 * math.log10(3)) / 2, abs=1e-3
    )
    row = store.sql("SELECT protocol FROM eval_results WHERE metric = 'codeforces_rating'")["protocol"][0]
    assert json.loads(row)["rating_method"] == "codeelo@1" and json.loads(row)["contests"] == ["9001", "9002"]
