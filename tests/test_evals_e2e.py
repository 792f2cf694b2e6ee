"""End-to-end evaluation on the scripted fake backend, against golden numbers computed by hand.

Five AIME 2024 problems (golds 204, 25, 809, 116, 104), eight samples each:
  P0 all correct                                   c=8  cons right
  P1 correct at samples 3 and 6, else "1"          c=2  cons wrong ("1" has 6 votes)
  P2 no boxed answer at all                        c=0  cons wrong
  P3 "116" x3 and "116.0" x2 (correct), "7" x3      c=5  cons right ONLY by equivalence classes: as strings
     "7" and "116" tie 3-3 and "7" comes first
  P4 correct only at sample 7, else "0"            c=1  cons wrong
pass@1 = (8+2+0+5+1)/40 = 0.4
pass@4 = (1 + (1 - C(6,4)/C(8,4)) + 0 + 1 + (1 - C(7,4)/C(8,4))) / 5 = (1 + 55/70 + 0 + 1 + 35/70) / 5
pass@8 = 4/5; cons@8 = 2/5
cons_gain@8 per problem (cons - c/8) = 0, -2/8, 0, +3/8, -1/8: mean 0, spread both sides of 0
"""

from __future__ import annotations

import json

import pytest

from r1harness.errors import R1HarnessError
from r1harness.evals.leaderboard import build
from r1harness.evals.runner import EvalError, run_eval
from r1harness.evals.spec import spec_from_dict
from r1harness.generate import get_backend
from r1harness.verify.verdict import Verdict

B = "\\boxed{%s}"
SCRIPT = {
    "Every morning Aya": [B % 204] * 8,
    "There exist real numbers $x$ and $y$": [B % 1] * 3 + [B % 25] + [B % 1] * 2 + [B % 25] + [B % 1],
    "Alice and Bob play": ["I am not sure."] * 8,
    "Jen enters a lottery": [B % a for a in ("7", "116", "7", "116.0", "7", "116", "116.0", "116")],
    "Rectangles $ABCD$": [B % 0] * 7 + [B % 104],
}
GOLDEN = {
    "pass@1": 0.4,
    "pass@4": (1 + 55 / 70 + 0 + 1 + 35 / 70) / 5,
    "pass@8": 0.8,
    "cons@8": 0.4,
    "cons_gain@8": 0.0,
}


def spec(**over):
    raw = {
        "name": "aime24_mini",
        "version": 1,
        "dataset": "aime24",
        "template": "r1-math@1",
        "verifier": "math",
        "n": 8,
        "k": [1, 4, 8],
        "cons": [8],
        "sampling": {"temperature": 0.6, "top_p": 0.95, "max_tokens": 4096},
    }
    return spec_from_dict({**raw, **over})


def fake(script=SCRIPT):
    return get_backend("fake", "fake-r1", script=dict(script), default="no idea")


def overall(outcome):
    return {r.metric: r.value for r in outcome.results if r.breakdown is None}


@pytest.mark.usefixtures("shared_data")  # AIME/MATH-500 from the benchmark data folder
def test_fake_backend_eval_matches_golden_numbers(store):
    outcome = run_eval(store, fake(), spec(), limit=5, progress=False)
    got = overall(outcome)
    for metric, value in GOLDEN.items():
        assert got[metric] == pytest.approx(value, abs=1e-12), metric
    assert got["infra_failures"] == 0 and got["unverified"] == 0
    gain = next(r for r in outcome.results if r.metric == "cons_gain@8" and r.breakdown is None)
    assert -0.25 <= gain.ci_low < 0 < gain.ci_high <= 0.375  # a bootstrap of the per-problem differences
    rows = store.sql(
        "SELECT metric, value, benchmark_version, protocol, n_problems, n_samples FROM eval_results "
        "WHERE metric = 'pass@1'"
    ).to_dicts()
    assert len(rows) == 1 and rows[0]["n_problems"] == 5 and rows[0]["n_samples"] == 40
    protocol = json.loads(rows[0]["protocol"])
    assert protocol["n"] == 8 and protocol["sampling"]["temperature"] == 0.6 and protocol["limit"] == 5
    assert protocol["verifier_versions"] and rows[0]["benchmark_version"] == "v1"
    # the same pass@1 / pass@4 / pass@8 from SQL over the store
    sql = store.sql("SELECT pass_at_1, pass_at_4 FROM eval_pass_at_k WHERE model = 'fake-r1'").to_dicts()[0]
    assert sql["pass_at_1"] == pytest.approx(GOLDEN["pass@1"]) and sql["pass_at_4"] == pytest.approx(
        GOLDEN["pass@4"]
    )


@pytest.mark.usefixtures("shared_data")  # AIME/MATH-500 from the benchmark data folder
def test_rollouts_carry_protocol_fields(store):
    run_eval(store, fake(), spec(), limit=2, progress=False)
    rows = store.sql("SELECT * FROM rollouts ORDER BY prompt_id, sample_index").to_dicts()
    assert len(rows) == 16 and [r["sample_index"] for r in rows[:8]] == list(range(8))
    first = rows[0]
    assert first["stage"] == "eval" and first["backend"] == "fake" and first["template"] == "r1-math@1"
    assert json.loads(first["sampling"])["top_p"] == 0.95 and first["seed"] == 0
    assert first["finish_reason"] == "stop" and first["completion_tokens"] >= 1
    assert "Please reason step by step" in first["prompt_text"]


class DiesAfter:
    """A fake backend that is 'killed' after `calls` backend calls."""

    def __init__(self, inner, calls):
        self.inner, self.left = inner, calls
        self.name, self.version, self.model = inner.name, inner.version, inner.model
        self.render = inner.render

    def generate(self, requests, sampling):
        if self.left == 0:
            raise KeyboardInterrupt("simulated kill")
        self.left -= 1
        return self.inner.generate(requests, sampling)


@pytest.mark.usefixtures("shared_data")  # AIME/MATH-500 from the benchmark data folder
def test_eval_resumes_after_kill_without_duplicates(store):
    with pytest.raises(KeyboardInterrupt):
        run_eval(store, DiesAfter(fake(), 1), spec(), limit=5, batch_size=2, progress=False)
    assert store.count("rollouts") == 16  # the first batch (2 prompts x 8) was committed
    status = store.sql("SELECT status FROM runs WHERE kind = 'eval'")["status"].to_list()
    assert status == ["interrupted"]
    backend = fake()
    outcome = run_eval(store, backend, spec(), limit=5, batch_size=2, progress=False)
    assert outcome.generated == 24 and sum(len(r) for r in [backend.calls]) == 2  # 3 prompts in 2 calls
    assert overall(outcome)["pass@1"] == pytest.approx(GOLDEN["pass@1"])
    again = run_eval(store, fake(), spec(), limit=5, progress=False)
    assert (again.generated, again.verified) == (0, 0)
    assert store.count("rollouts") == 40 and store.count("rewards") == 40


@pytest.mark.usefixtures("shared_data")  # AIME/MATH-500 from the benchmark data folder
def test_larger_n_reuses_existing_samples(store):
    small = run_eval(store, fake(), spec(n=4, k=[1, 4], cons=[4]), limit=5, progress=False)
    big = run_eval(store, fake(), spec(), limit=5, progress=False)
    assert (small.generated, big.generated) == (20, 20)
    assert overall(big)["pass@1"] == pytest.approx(GOLDEN["pass@1"])


@pytest.mark.usefixtures("shared_data")  # AIME/MATH-500 from the benchmark data folder
def test_infra_failures_fail_the_run_and_are_never_wrong(store):
    def flaky(completions, refs, **_):
        return [
            Verdict("timeout", None, "math", "t1", reason="deadline")
            if i % 4 == 0
            else Verdict("correct", 1.0, "math", "t1")
            for i in range(len(completions))
        ]

    with pytest.raises(EvalError, match="could not be verified"):
        run_eval(store, fake(), spec(), limit=5, verifier_fn=flaky, progress=False)
    assert store.sql("SELECT status FROM runs WHERE kind = 'eval'")["status"].to_list() == ["failed"]
    # A re-run retries only the 10 timed-out samples; 3 of them (items 0, 4, 8) time out again.
    ok = run_eval(store, fake(), spec(max_infra_failure_rate=0.5), limit=5, verifier_fn=flaky, progress=False)
    got = overall(ok)
    assert (ok.generated, ok.verified) == (0, 10)
    assert got["infra_failures"] == 3 and got["pass@1"] == 1.0  # the timeouts were dropped, not scored 0


@pytest.mark.usefixtures("shared_data")  # AIME/MATH-500 from the benchmark data folder
def test_breakdowns_by_subject_and_level(store):
    script = {"": ["\\boxed{0}"]}  # every prompt: answer 0
    math_spec = spec_from_dict(
        {
            "name": "math500_mini",
            "version": 1,
            "dataset": "math500",
            "template": "r1-math@1",
            "verifier": "math",
            "n": 1,
            "breakdowns": ["subject", "level"],
        }
    )
    outcome = run_eval(store, get_backend("fake", "zero", script=script), math_spec, limit=40, progress=False)
    levels = {r.breakdown: r for r in outcome.results if r.breakdown and r.breakdown.startswith("level=")}
    subjects = [r for r in outcome.results if r.breakdown and r.breakdown.startswith("subject=")]
    assert sum(r.n_problems for r in levels.values()) == 40 == sum(r.n_problems for r in subjects)
    zeros = store.sql(
        "SELECT count(*) AS n FROM prompts WHERE dataset = 'math500' AND answer = '0' AND source_index < 40"
    )["n"][0]
    assert overall(outcome)["pass@1"] == pytest.approx(zeros / 40)


@pytest.mark.usefixtures("shared_data")  # AIME/MATH-500 from the benchmark data folder
def test_leaderboard_keeps_protocols_apart(store):
    run_eval(store, fake(), spec(), limit=5, progress=False)
    run_eval(store, get_backend("fake", "other-model", script=dict(SCRIPT)), spec(), limit=5, progress=False)
    board = build(store)
    assert board.warnings == () and board.wide.columns == ["model", "aime24_mini@v1"]
    assert board.wide.height == 2 and board.wide["aime24_mini@v1"][0].startswith("40.0 [")
    run_eval(store, fake(), spec(n=4, k=[1, 4], cons=[4]), limit=5, progress=False)
    board = build(store)
    assert len(board.warnings) == 1 and "2 different protocols" in board.warnings[0]
    assert len(board.wide.columns) == 3  # model + one column per protocol


def test_unknown_bench_and_bad_spec_errors(store, tmp_path):
    from r1harness.evals.spec import load_spec

    with pytest.raises(R1HarnessError, match="no benchmark spec 'nope'"):
        load_spec("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ndataset: aime24\ntemplate: r1-math@1\nverifier: math\nn: 4\nk: [1, 8]\n")
    with pytest.raises(R1HarnessError, match=r"k values \[8\] must lie in 1..n"):
        load_spec(bad)
    bad.write_text("version: 1\ndataset: aime24\ntemplate: r1-math@1\nverifier: math\ntemprature: 0.6\n")
    with pytest.raises(R1HarnessError, match="unknown key"):
        load_spec(bad)


@pytest.mark.usefixtures("shared_data")  # AIME/MATH-500 from the benchmark data folder
def test_a_new_verifier_version_reverifies_without_regenerating(store):
    def judge_v1(completions, refs, **_):
        return [Verdict("wrong", 0.0, "math", "v1") for _ in completions]

    def judge_v2(completions, refs, **_):
        return [Verdict("correct", 1.0, "math", "v2") for _ in completions]

    judge_v1.version, judge_v2.version = "v1", "v2"
    first = run_eval(store, fake(), spec(), limit=2, verifier_fn=judge_v1, progress=False)
    same = run_eval(store, fake(), spec(), limit=2, verifier_fn=judge_v1, progress=False)
    bumped = run_eval(store, fake(), spec(), limit=2, verifier_fn=judge_v2, progress=False)
    assert (first.verified, same.verified, bumped.verified, bumped.generated) == (16, 0, 16, 0)
    assert (first.value("pass@1"), bumped.value("pass@1")) == (0.0, 1.0)
    protocol = json.loads(
        store.sql(
            "SELECT protocol FROM eval_results WHERE metric = 'pass@1' ORDER BY created_at DESC LIMIT 1"
        )["protocol"][0]
    )
    assert protocol["verifier_versions"] == ["v2"]
