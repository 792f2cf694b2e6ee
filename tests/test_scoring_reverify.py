"""`r1h verify --reverify`: verdicts from an older verifier version are graded again at the current one,
and the `verdict_changes` view counts old -> new verdicts per dataset and verifier."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from r1harness.cli import main as r1h
from r1harness.errors import ConfigError
from r1harness.scoring.rows import reward_rows
from r1harness.scoring.verify_store import verdict_changes, verify_store
from r1harness.store import ids
from r1harness.verify.math import MATH_VERIFIER_VERSION
from r1harness.verify.verdict import Verdict

OLD = "0-before-the-fix"
# (gold, the completion's boxed answer, the verdict an older verifier version stored or None)
CASES = [
    ("4", "4", "correct"),  # stays correct
    ("4", "5", "correct"),  # a false positive the fix removes
    ("\\frac{1}{2}", "0.5", "wrong"),  # a false negative the fix removes
    ("7", "7", None),  # never verified: --reverify leaves it alone
]


@pytest.fixture
def graded(store):
    prompts, rollouts, old = [], [], []
    for k, (gold, answer, verdict) in enumerate(CASES):
        pid = ids.prompt_id("toy", f"problem {k}")
        rid = ids.rollout_id(pid, "m", "t", {}, 0, 0)
        prompts.append({"prompt_id": pid, "dataset": "toy", "problem": f"problem {k}", "answer": gold})
        rollouts.append(
            {
                "rollout_id": rid,
                "prompt_id": pid,
                "model": "m",
                "completion": f"<think>\nok\n</think>\nSo $\\boxed{{{answer}}}$.",
                "sample_index": 0,
                "finish_reason": "stop",
            }
        )
        if verdict:
            old.append((rid, Verdict(verdict, float(verdict == "correct"), "math", OLD)))
    store.append("prompts", prompts)
    store.append("rollouts", rollouts)
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    store.append("rewards", reward_rows(*zip(*old), "verify-old", now=earlier))
    return store


def test_reverify_regrades_old_versions_only_and_the_view_counts_the_changes(graded):
    summary = verify_store(graded, None, reverify=True, options={"math": {"timeout_s": 5.0}})
    math = summary.per_verifier["math"]
    assert (math["version"], math["verified"], math["skipped_existing"]) == (MATH_VERIFIER_VERSION, 3, 1)
    assert math["counts"] == {"correct": 2, "wrong": 1}
    never = graded.sql(
        "SELECT count(*) AS n FROM rewards r JOIN rollouts o USING (rollout_id) "
        "JOIN prompts p USING (prompt_id) WHERE p.problem = 'problem 3'"
    )["n"][0]
    assert never == 0

    changes = {
        (r["old_status"], r["new_status"]): r["n"]
        for r in graded.sql("SELECT * FROM verdict_changes").to_dicts()
        if r["dataset"] == "toy" and r["verifier"] == "math" and r["old_version"] == OLD
    }
    assert changes == {("correct", "correct"): 1, ("correct", "wrong"): 1, ("wrong", "correct"): 1}
    rows = verdict_changes(graded, summary).to_dicts()
    assert sum(r["n"] for r in rows if r["changed"]) == 2
    assert {r["new_version"] for r in rows} == {MATH_VERIFIER_VERSION}

    again = verify_store(graded, ["math"], reverify=True)  # nothing stale is left
    assert again.per_verifier["math"]["verified"] == 0


def test_reverify_with_nothing_stale_says_so(store):
    with pytest.raises(ConfigError, match="no verdict in the store comes from an older verifier version"):
        verify_store(store, None, reverify=True)


def test_reverify_cli_prints_the_changes(graded, capsys):
    assert r1h(["verify", "--store", str(graded.root), "--reverify", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    pairs = {(r["old_status"], r["new_status"]): r["n"] for r in out["verdict_changes"]}
    assert pairs == {("correct", "correct"): 1, ("correct", "wrong"): 1, ("wrong", "correct"): 1}
    assert r1h(["verify", "--store", str(graded.root)]) == 1  # neither --verifier nor --reverify
    assert "--verifier" in capsys.readouterr().err
