"""The one scoring path (r1harness.scoring): one reference shape, one retry rule, one reward-id rule, one
crash rule, whichever caller (r1h verify, evaluation, GRPO) drives it; verify/ never touches the store."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from r1harness.errors import VerifierError, VerifierInputError
from r1harness.scoring.pending import Selection
from r1harness.scoring.rows import reward_row_id
from r1harness.scoring.score import score_rollouts
from r1harness.scoring.scorer import Scorer
from r1harness.scoring.verify_store import verify_store
from r1harness.store import ids
from r1harness.train.config import RewardSpec
from r1harness.train.rewards import RewardComponent
from r1harness.verify import registry
from r1harness.verify.reference import verifier_reference
from r1harness.verify.verdict import Verdict

META = {"numbers": [3, 4], "target": 7}
SEEN: list[dict] = []


def recording_verifier(completions, references, **options):
    """Correct when the completion equals the answer; remembers every reference it was given."""
    SEEN.extend(references)
    return [
        Verdict("correct" if c == r.get("answer") else "wrong", float(c == r.get("answer")), "rec", "1")
        for c, r in zip(completions, references)
    ]


recording_verifier.version = "1"

_CALLS = {"n": 0}


def timeout_once(completions, references, **options):
    """Times out on every completion the first time it runs, then grades like recording_verifier."""
    _CALLS["n"] += 1
    if _CALLS["n"] == 1:
        return [Verdict("timeout", None, "flaky", "1", reason="deadline") for _ in completions]
    return [Verdict("correct", 1.0, "flaky", "1") for _ in completions]


timeout_once.version = "1"


def broken(completions, references, **options):
    raise RuntimeError("sandbox went away")


broken.version = "3"


@pytest.fixture
def toy(store, monkeypatch):
    SEEN.clear()
    _CALLS["n"] = 0
    for name in ("recording_verifier", "timeout_once", "broken"):
        monkeypatch.setitem(registry.VERIFIERS, name, f"{__name__}:{name}")
    prompts, rollouts = [], []
    for k in range(3):
        pid = ids.prompt_id("toy", f"problem {k}")
        prompts.append(
            {
                "prompt_id": pid,
                "dataset": "toy",
                "problem": f"problem {k}",
                "answer": str(k),
                "metadata": json.dumps(META),
                "tests": json.dumps([{"input": "1", "output": "2"}]),
                "domain": "math",
            }
        )
        for s in range(2):
            rollouts.append(
                {
                    "rollout_id": ids.rollout_id(pid, "m", "t", {}, 0, s),
                    "prompt_id": pid,
                    "run_id": "gen",
                    "model": "m",
                    "completion": str(k) if s == 0 else "nope",
                    "sample_index": s,
                    "finish_reason": "stop",
                }
            )
    store.append("prompts", prompts)
    store.append("rollouts", rollouts)
    return store


def test_every_caller_hands_verifiers_the_same_reference_shape(toy):
    """Old code: r1h verify passed metadata and tests as JSON strings, GRPO decoded metadata only."""
    verify_store(toy, ["recording_verifier"])
    from_store = SEEN[0]
    assert from_store["metadata"] == META and from_store["tests"] == [{"input": "1", "output": "2"}]
    assert "completion" not in from_store and from_store["finish_reason"] == "stop"

    SEEN.clear()
    component = RewardComponent(RewardSpec("acc", "recording_verifier"))
    component(
        prompts=["p"],
        completions=["0"],
        answer=["0"],
        metadata=[json.dumps(META)],
        tests=[json.dumps([{"input": "1", "output": "2"}])],
    )
    assert SEEN[0]["metadata"] == META and SEEN[0]["tests"] == from_store["tests"]


def test_reference_builder_decodes_json_and_rejects_bad_metadata():
    ref = verifier_reference({"prompt_id": "p", "answer": "4", "metadata": None, "completion": "x"})
    assert ref == {"prompt_id": "p", "answer": "4", "metadata": {}}
    with pytest.raises(VerifierInputError, match="prompt 'p': metadata is not valid JSON"):
        verifier_reference({"prompt_id": "p", "metadata": "{not json"})
    with pytest.raises(VerifierInputError, match="must be a JSON object"):
        verifier_reference({"prompt_id": "p", "metadata": "[1, 2]"})


def test_r1h_verify_retries_timeouts_and_keeps_both_rows(toy):
    """Old code never retried a timeout in r1h verify (only evaluation did)."""
    first = verify_store(toy, ["timeout_once"])
    assert first.per_verifier["timeout_once"]["counts"] == {"timeout": 6}
    again = verify_store(toy, ["timeout_once"])
    assert again.per_verifier["timeout_once"] | {"counts": None} == {
        "stored_as": "timeout_once",
        "version": "1",
        "verified": 6,
        "retried": 6,
        "skipped_existing": 0,
        "counts": None,
    }
    rows = toy.sql("SELECT rollout_id, reward_id, status FROM rewards ORDER BY created_at").to_dicts()
    assert len(rows) == 12 and len({r["reward_id"] for r in rows}) == 12
    for row in rows[6:]:  # the retry is attempt 1, stored beside the timeout (the latest counts)
        assert row["reward_id"] == reward_row_id(row["rollout_id"], "timeout_once", "1", 1)
    third = verify_store(toy, ["timeout_once"])  # a verdict was reached: nothing more to do
    assert third.per_verifier["timeout_once"]["verified"] == 0 and toy.count("rewards") == 12


def test_reward_id_rule_is_the_stores_for_first_attempts():
    assert reward_row_id("r", "math", "2") == ids.reward_id("r", "math", "2")
    assert reward_row_id("r", "math", "2", 1) not in {
        ids.reward_id("r", "math", "2"),
        reward_row_id("r", "math", "2", 2),
    }


def test_a_crash_raises_or_is_recorded_under_the_real_identity(toy):
    scorer = Scorer.resolve("broken")
    with pytest.raises(VerifierError, match="re-run the same command to resume"):
        score_rollouts(toy, [scorer], Selection(run_id="gen"), run_id=None)
    assert toy.count("rewards") == 0
    recorded = scorer.score(["a", "b"], [{}, {}], on_crash="record")
    assert [(v.status, v.score, v.verifier, v.version) for v in recorded] == [
        ("error", None, "broken", "3")
    ] * 2
    assert "sandbox went away" in recorded[0].reason
    short = Scorer("short", lambda c, r, **o: [], version="1")
    assert short.score(["a"], [{}], on_crash="record")[0].reason.endswith(
        "returned 0 verdicts for 1 completions"
    )


def test_verdicts_are_stored_under_the_declared_name(toy):
    """A verifier registered as "recording_verifier" that calls itself "rec" is stored (and found on
    resume) under its registry name, as evaluation always did."""
    verify_store(toy, ["recording_verifier"])
    assert toy.sql("SELECT DISTINCT verifier FROM rewards")["verifier"].to_list() == ["recording_verifier"]
    again = verify_store(toy, ["recording_verifier"])
    assert again.per_verifier["recording_verifier"]["skipped_existing"] == 6


def test_verify_package_never_imports_the_store():
    root = Path(__file__).resolve().parents[1] / "r1harness" / "verify"
    offenders = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offenders += [
                f"{path.name}: {n}" for n in names if n.startswith(("r1harness.store", "r1harness.scoring"))
            ]
    assert offenders == []
