"""Reward adapters: every verdict status maps to the right GRPO reward; infra failures are None
and counted."""

import pytest

from r1harness.train.config import RewardSpec
from r1harness.train.rewards import RewardComponent, references, verdict_reward
from r1harness.train.store_log import total_reward
from r1harness.verify.verdict import Verdict


@pytest.mark.parametrize(
    "status,score,expected",
    [
        ("correct", 1.0, 1.0),
        ("wrong", 0.0, 0.0),
        ("unparseable", 0.0, 0.0),
        ("correct", 0.75, 0.75),  # graded verifiers (language share) keep their score
        ("timeout", None, None),
        ("error", None, None),
    ],
)
def test_verdict_reward_maps_every_status(status, score, expected):
    assert verdict_reward(Verdict(status, score, "math", "1")) == expected


class Recorder:
    def __init__(self):
        self.calls = []

    def record(self, name, verdicts, texts, ids):
        self.calls.append((name, [v.status for v in verdicts], texts, ids))


def test_component_calls_the_verifier_with_prompt_rows_and_counts_failures():
    seen = {}

    def fake_verifier(completions, refs, **options):
        seen.update(refs=refs, options=options)
        return [
            Verdict("correct", 1.0, "math", "1"),
            Verdict("timeout", None, "math", "1"),
            Verdict("unparseable", 0.0, "math", "1"),
        ]

    rec, metrics = Recorder(), []
    comp = RewardComponent(RewardSpec("accuracy", "math", options={"timeout_s": 2}), rec, fake_verifier)
    out = comp(
        prompts=["p"] * 3,
        completions=["a", "b", "c"],
        completion_ids=[[1], [2], [3]],
        answer=["1", "2", "3"],
        metadata=['{"k": 1}', None, "{}"],
        prompt_id=["x", "y", "z"],
        log_metric=lambda name, value: metrics.append((name, value)),
    )
    assert out == [1.0, None, 0.0]
    assert comp.__name__ == "accuracy" and comp.infra_failures == 1
    assert metrics == [("rewards/accuracy/infra_failures", 1.0)]
    assert seen["options"] == {"timeout_s": 2}
    assert seen["refs"][0] == {"prompt_id": "x", "answer": "1", "metadata": {"k": 1}}
    assert rec.calls == [
        ("accuracy", ["correct", "timeout", "unparseable"], ["a", "b", "c"], [[1], [2], [3]])
    ]


def test_a_verifier_that_raises_gives_none_rewards_not_zero():
    def broken(completions, refs, **options):
        raise RuntimeError("sandbox down")

    comp = RewardComponent(RewardSpec("code", "code"), None, broken)
    assert comp(prompts=["p", "q"], completions=["a", "b"]) == [None, None]
    assert comp.infra_failures == 2
    crashed = comp.score(["a"], [{}])[0]
    assert (crashed.status, crashed.verifier) == ("error", "code") and "sandbox down" in crashed.reason
    wrong_length = RewardComponent(RewardSpec("x", "x"), None, lambda c, r, **o: [])
    assert wrong_length(prompts=["p"], completions=["a"]) == [None]


def test_real_registry_verifiers_through_the_adapter():
    acc = RewardComponent(RewardSpec("accuracy", "math", options={"workers": 0}))
    fmt = RewardComponent(RewardSpec("format", "format"))
    texts = [
        "<think> 2 + 2 = 4 </think> <answer> 4 </answer>",
        "<think> hmm </think> <answer> 5 </answer>",
        "The answer is 4.",
    ]
    kwargs = {"answer": ["4"] * 3}
    assert acc(prompts=[""] * 3, completions=texts, **kwargs) == [1.0, 0.0, 0.0]
    assert fmt(prompts=[""] * 3, completions=texts, **kwargs) == [1.0, 1.0, 0.0]
    conversational = [[{"role": "assistant", "content": texts[0]}]]
    assert acc(prompts=[""], completions=conversational, answer=["4"]) == [1.0]


def test_total_reward_is_weighted_and_none_only_when_all_failed():
    v = {
        "accuracy": Verdict("correct", 1.0, "math", "1"),
        "format": Verdict("wrong", 0.0, "format.r1zero", "1"),
    }
    assert total_reward(v, {"accuracy": 1.0, "format": 0.5}) == 1.0
    v["accuracy"] = Verdict("error", None, "math", "1")
    assert total_reward(v, {"accuracy": 1.0, "format": 0.5}) == 0.0
    v["format"] = Verdict("timeout", None, "format.r1zero", "1")
    assert total_reward(v, {"accuracy": 1.0, "format": 0.5}) is None


def test_references_keep_only_verifier_columns():
    refs = references(
        {"answer": ["1"], "tests": ['[{"input": ""}]'], "prompt": ["p"], "trainer_state": None}, 1
    )
    # one shape for every verifier (r1harness.verify.reference): JSON columns decoded, metadata a dict
    assert refs == [{"answer": "1", "tests": [{"input": ""}], "metadata": {}}]


def test_a_registered_verifier_that_crashes_is_recorded_under_its_real_version(monkeypatch):
    """Old code stamped "unknown": a crash row could not be told apart from another version's verdicts."""
    from r1harness.verify import math as math_verifier

    def explode(*args, **kwargs):
        raise RuntimeError("worker pool gone")

    monkeypatch.setattr(math_verifier, "shared_verifier", explode)
    comp = RewardComponent(RewardSpec("accuracy", "math", options={"workers": 0}))
    verdicts = comp.score(["\\boxed{1}"], [{"answer": "1"}])
    assert [(v.status, v.verifier, v.version) for v in verdicts] == [
        ("error", "math", math_verifier.MATH_VERIFIER_VERSION)
    ]
    assert "worker pool gone" in verdicts[0].reason
