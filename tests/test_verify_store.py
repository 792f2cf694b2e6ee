"""`r1h verify`: rollouts in the store -> rewards rows; resumable; infrastructure failures stored unscored."""

from __future__ import annotations

import json

import pytest

from r1harness.cli import main as r1h
from r1harness.errors import VerifierError
from r1harness.scoring.verify_store import verify_store
from r1harness.store import ids
from r1harness.verify import registry
from r1harness.verify.math import MATH_VERIFIER_VERSION

PROBLEMS = [("What is 2+2?", "4"), ("What is half of one?", "\\frac{1}{2}"), ("Largest x with x <= 1?", "1")]
ANSWERS = [["4", "5", None], ["0.5", "1/2", "\\frac{2}{4}"], ["1", "10^{10^{10^{10}}}", "2"]]


def completion(answer: str | None) -> str:
    if answer is None:
        return "<think>\nI keep thinking and never finish"
    return f"<think>\nLet me work it out.\n</think>\nThe answer is $\\boxed{{{answer}}}$."


@pytest.fixture
def filled(store):
    prompts, rollouts = [], []
    for (problem, gold), answers in zip(PROBLEMS, ANSWERS):
        pid = ids.prompt_id("toy", problem)
        prompts.append(
            {"prompt_id": pid, "dataset": "toy", "problem": problem, "answer": gold, "domain": "math"}
        )
        for k, answer in enumerate(answers):
            run = "gen-a" if k < 2 else "gen-b"
            rollouts.append(
                {
                    "rollout_id": ids.rollout_id(pid, "m", "t", {}, 0, k),
                    "prompt_id": pid,
                    "run_id": run,
                    "model": "m",
                    "completion": completion(answer),
                    "sample_index": k,
                    "finish_reason": "length" if answer is None else "stop",
                }
            )
    store.append("prompts", prompts)
    store.append("rollouts", rollouts)
    return store


def rewards(store, verifier: str):
    return store.sql(
        "SELECT r.*, o.sample_index FROM rewards r JOIN rollouts o USING (rollout_id) "
        "WHERE verifier = ? ORDER BY o.prompt_id, o.sample_index",
        [verifier],
    )


def test_verify_cli_appends_rewards_and_resumes(filled, capsys):
    store = filled
    args = [
        "verify",
        "--store",
        str(store.root),
        "--verifier",
        "math,format.r1zero,readability",
        "--opt",
        "math:timeout_s=1.0",
        "--json",
    ]
    assert r1h(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["candidates"] == 9
    math = summary["verifiers"]["math"]
    assert math["verified"] == 9 and math["skipped_existing"] == 0
    assert math["counts"] == {"correct": 5, "wrong": 2, "unparseable": 1, "timeout": 1}
    assert summary["infra_failures"] == 1

    rows = rewards(store, "math")
    assert rows.height == 9
    timeout = rows.filter(rows["status"] == "timeout")
    assert timeout["score"].to_list() == [None]  # stored, never scored as wrong
    for row in rows.to_dicts():
        assert row["reward_id"] == ids.reward_id(row["rollout_id"], "math", MATH_VERIFIER_VERSION)
        assert row["verifier_version"] == MATH_VERIFIER_VERSION
        assert row["run_id"] == summary["run_id"]
    assert json.loads(rows["details"][0])["source"] == "boxed"
    assert rewards(store, "format.r1zero")["status"].to_list().count("wrong") == 9  # no <answer> tags
    readability = rewards(store, "readability")
    truncated = [json.loads(d)["failed"] for d in readability["details"]]
    assert ["truncated"] in truncated

    assert r1h(args) == 0  # resume: every verdict is kept; only the timeout (no verdict) is tried again
    again = json.loads(capsys.readouterr().out)
    assert again["verifiers"]["math"] | {"counts": None} == {
        "stored_as": "math",
        "version": MATH_VERIFIER_VERSION,
        "verified": 1,
        "retried": 1,
        "skipped_existing": 8,
        "counts": None,
    }
    assert again["verifiers"]["math"]["counts"] == {"timeout": 1}  # 10^10^10^10 still exceeds 1 s
    others = [v for name, v in again["verifiers"].items() if name != "math"]
    assert all(v["verified"] == 0 and v["skipped_existing"] == 9 for v in others)
    assert store.count("rewards") == 28  # the retry is stored beside the first timeout, under its own id
    run = store.sql("SELECT status, kind FROM runs WHERE run_id = ?", [summary["run_id"]]).to_dicts()
    assert run == [{"status": "finished", "kind": "verify"}]


def test_run_and_where_select_rollouts(filled):
    s = verify_store(filled, ["format.r1"], run_id="gen-b")
    assert s.candidates == 3
    s = verify_store(filled, ["format.r1"], where="p.answer = '4'")
    assert s.candidates == 3 and s.per_verifier["format.r1"]["skipped_existing"] == 1


_FLAKY_CALLS = {"n": 0}


def flaky_format(completions, references, **options):
    """A verifier whose second batch fails, like a sandbox going away mid-run."""
    _FLAKY_CALLS["n"] += 1
    if _FLAKY_CALLS["n"] == 2:
        raise RuntimeError("sandbox went away")
    return registry.get_verifier("format.r1")(completions, references)


flaky_format.version, flaky_format.stored_name = "1", lambda options: "format.r1"


def test_crash_mid_run_keeps_finished_batches_and_resume_completes(filled, monkeypatch):
    _FLAKY_CALLS["n"] = 0
    monkeypatch.setitem(registry.VERIFIERS, "flaky", f"{__name__}:flaky_format")
    with pytest.raises(VerifierError, match="re-run the same command to resume"):
        verify_store(filled, ["flaky"], batch_size=4)
    assert filled.count("rewards") == 4  # the first batch is stored, the failed one is not
    failed = filled.sql("SELECT status, error FROM runs WHERE kind = 'verify'").to_dicts()
    assert failed[0]["status"] == "failed" and "sandbox went away" in failed[0]["error"]
    summary = verify_store(filled, ["flaky"], batch_size=4)
    assert summary.per_verifier["flaky"]["skipped_existing"] == 4
    assert summary.per_verifier["flaky"]["verified"] == 5
    assert filled.sql("SELECT count(DISTINCT rollout_id) AS n, count(*) AS m FROM rewards").to_dicts() == [
        {"n": 9, "m": 9}
    ]


def test_unknown_verifier_fails_before_any_work(filled, capsys):
    assert r1h(["verify", "--store", str(filled.root), "--verifier", "math,nope"]) == 1
    err = capsys.readouterr().err
    assert "unknown verifier 'nope'" in err and "math" in err
    assert filled.count("rewards") == 0
    assert filled.sql("SELECT count(*) AS n FROM runs WHERE kind = 'verify'")["n"][0] == 0


def test_options_must_name_a_requested_verifier(filled, capsys):
    assert (
        r1h(["verify", "--store", str(filled.root), "--verifier", "math", "--opt", "format:layout=r1"]) == 1
    )
    assert "not in --verifier" in capsys.readouterr().err
