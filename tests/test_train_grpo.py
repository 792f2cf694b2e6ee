"""A few real GRPO steps (trl.GRPOTrainer) on a tiny model: parameters move, every rollout lands in the
store with all reward components, metrics per step, a finished run row; resume duplicates nothing."""

import json

import pytest
import torch

from r1harness.store.ids import prompt_id
from r1harness.tasks import arithmetic
from r1harness.train.config import EvalSpec, GRPORunConfig, RewardSpec
from r1harness.train.grpo import run_grpo
from r1harness.train.tiny_model import init_tiny_model

PROMPTS_PER_STEP, GENERATIONS = 2, 4
# math and format are ~always 0 for a random model; the digit-share probe varies, so advantages are non-zero
DIGITS = f"{__name__}:_digit_share_verifier"
DEFAULT_REWARDS = (
    RewardSpec("accuracy", "math", 1.0, {"workers": 0}),
    RewardSpec("format", "format", 0.5),
    RewardSpec("digits", DIGITS, 1.0),
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "model"
    corpus = [f"What is {r['metadata']['expression']}? {r['answer']}" for r in arithmetic.generate(200, 0)]
    return init_tiny_model(out, layers=1, hidden=32, heads=2, vocab_size=320, corpus=corpus)


def _add_prompts(store, n=12, dataset="arith", split="train", seed=0):
    rows = arithmetic.generate(n, seed, digits=1)
    store.append(
        "prompts",
        [
            {
                "prompt_id": prompt_id(dataset, r["problem"]),
                "dataset": dataset,
                "split": split,
                "domain": "math",
                "problem": r["problem"],
                "answer": r["answer"],
                "verifier": "math",
                "metadata": json.dumps(r["metadata"]),
            }
            for r in rows
        ],
    )


def _config(model, out, *, steps, rewards=None, eval_spec=None, **trl):
    return GRPORunConfig(
        model=str(model),
        dataset="arith",
        split="train",
        output_dir=str(out),
        seed=0,
        rewards=rewards or DEFAULT_REWARDS,
        eval=eval_spec or EvalSpec(),
        checkpoint_every=1,
        trl=dict(
            max_steps=steps,
            per_device_train_batch_size=PROMPTS_PER_STEP * GENERATIONS,
            num_generations=GENERATIONS,
            max_completion_length=8,
            learning_rate=5e-3,
            beta=0.0,
            temperature=1.0,
            **trl,
        ),
    )


def _weights(path):
    from transformers import AutoModelForCausalLM

    return {k: v.clone() for k, v in AutoModelForCausalLM.from_pretrained(path).state_dict().items()}


def test_grpo_steps_write_every_rollout_and_move_the_parameters(store, tiny, tmp_path):
    _add_prompts(store)
    _add_prompts(store, n=4, split="test", seed=9)
    before = _weights(tiny)
    steps = 3
    summary = run_grpo(
        store,
        _config(
            tiny,
            tmp_path / "run",
            steps=steps,
            eval_spec=EvalSpec(dataset="arith", split="test", every=2, samples=2, max_prompts=4),
        ),
    )
    run_id = summary["run_id"]
    after = _weights(tmp_path / "run" / "final")
    assert any(not torch.equal(before[k], after[k]) for k in before), "GRPO did not change the weights"

    per_step = store.sql(
        "SELECT step, count(*) AS n, count(DISTINCT prompt_id) AS p FROM rollouts "
        "WHERE run_id = $1 AND stage = 'grpo' GROUP BY step ORDER BY step",
        [run_id],
    ).to_dicts()
    assert per_step == [
        {"step": s, "n": PROMPTS_PER_STEP * GENERATIONS, "p": PROMPTS_PER_STEP} for s in range(1, steps + 1)
    ]
    assert summary["rollouts_written"] == steps * PROMPTS_PER_STEP * GENERATIONS

    rollouts = store.sql("SELECT * FROM rollouts WHERE run_id = $1 AND stage = 'grpo'", [run_id])
    assert rollouts["advantage"].null_count() == 0 and rollouts["reward"].null_count() == 0
    assert set(rollouts["finish_reason"].unique()) <= {"stop", "length"}
    assert (rollouts["completion_tokens"] <= 8).all() and (rollouts["prompt_tokens"] > 0).all()
    assert sorted(rollouts["sample_index"].unique().to_list()) == list(range(GENERATIONS))
    # advantages are group-relative: they sum to ~0 within each (step, group)
    sums = store.sql(
        "SELECT step, prompt_id, sum(advantage) AS s FROM rollouts WHERE run_id = $1 "
        "AND stage = 'grpo' GROUP BY ALL",
        [run_id],
    )
    assert sums["s"].abs().max() < 1e-4

    comps = store.sql(
        "SELECT w.verifier, count(*) AS n, count(DISTINCT w.status) AS k FROM rewards w JOIN rollouts r "
        "USING (rollout_id) WHERE r.run_id = $1 AND r.stage = 'grpo' GROUP BY 1 ORDER BY 1",
        [run_id],
    )
    assert comps["verifier"].to_list() == ["digits", "format.r1zero", "math"]
    assert comps["n"].to_list() == [steps * PROMPTS_PER_STEP * GENERATIONS] * 3
    # the stored total reward is the weighted sum of the stored component scores
    check = store.sql(
        """SELECT r.reward, sum(CASE w.verifier WHEN 'format.r1zero' THEN 0.5 ELSE 1.0 END * w.score) AS s
                         FROM rollouts r JOIN rewards w USING (rollout_id)
                         WHERE r.run_id = $1 AND r.stage = 'grpo'
                         GROUP BY r.rollout_id, r.reward""",
        [run_id],
    )
    assert (check["reward"] - check["s"]).abs().max() < 1e-9
    assert rollouts["advantage"].abs().max() > 0

    names = set(store.sql("SELECT DISTINCT name FROM train_metrics WHERE run_id = $1", [run_id])["name"])
    for name in (
        "loss",
        "rewards/accuracy/mean",
        "rewards/format/mean",
        "frac_reward_zero_std",
        "completions/mean_length",
        "rewards/accuracy/infra_failures",
        "eval/accuracy/greedy",
    ):
        assert name in names, name
    metric_steps = store.sql(
        "SELECT DISTINCT step FROM train_metrics WHERE run_id = $1 AND name = 'loss' ORDER BY 1", [run_id]
    )["step"].to_list()
    assert metric_steps == [1, 2, 3]
    evals = store.sql(
        "SELECT step, count(*) AS n FROM rollouts WHERE run_id = $1 AND stage = 'eval' GROUP BY 1 ORDER BY 1",
        [run_id],
    ).to_dicts()
    assert evals == [{"step": s, "n": 4 * 3} for s in (0, 2, 3)]  # base, every 2, last; greedy + 2 samples
    run = store.sql("SELECT kind, status, config, versions FROM runs WHERE run_id = $1", [run_id]).to_dicts()[
        0
    ]
    assert run["kind"] == "grpo" and run["status"] == "finished"
    assert json.loads(run["config"])["trl"]["num_generations"] == GENERATIONS
    assert "trl" in json.loads(run["versions"])
    curve = store.sql(
        "SELECT * FROM rollout_stats_by_step WHERE run_id = $1 AND stage = 'grpo' ORDER BY step", [run_id]
    )
    assert curve["n_rollouts"].to_list() == [8, 8, 8] and curve["accuracy"].null_count() == 0


def test_resume_continues_from_the_checkpoint_without_duplicates(store, tiny, tmp_path):
    _add_prompts(store)
    out = tmp_path / "run"
    first = run_grpo(store, _config(tiny, out, steps=2))
    assert (out / "checkpoint-2").exists()
    again = run_grpo(store, _config(tiny, out, steps=4), resume=True)
    assert again["run_id"] == first["run_id"] and again["resumed_from"].endswith("checkpoint-2")
    counts = store.sql(
        "SELECT step, count(*) AS n, count(DISTINCT rollout_id) AS u FROM rollouts "
        "WHERE run_id = $1 GROUP BY step ORDER BY step",
        [first["run_id"]],
    ).to_dicts()
    assert counts == [{"step": s, "n": 8, "u": 8} for s in (1, 2, 3, 4)]
    dup = store.sql(
        "SELECT count(*) - count(DISTINCT reward_id) AS d, count(*) AS n FROM rewards"
    ).to_dicts()[0]
    assert dup == {"d": 0, "n": 4 * 8 * 3}
    # a second resume of a finished run writes nothing new
    n_before = store.count("rollouts")
    run_grpo(store, _config(tiny, out, steps=4), resume=True)
    assert store.count("rollouts") == n_before
    assert store.sql("SELECT count(*) AS n FROM runs")["n"][0] == 1


def test_verifier_failures_become_none_rewards_and_are_counted(store, tiny, tmp_path, monkeypatch):
    _add_prompts(store)
    from r1harness.verify import registry

    monkeypatch.setitem(registry.VERIFIERS, "always_error", f"{__name__}:_erroring_verifier")
    rewards = (RewardSpec("accuracy", "math", 1.0, {"workers": 0}), RewardSpec("broken", "always_error", 1.0))
    summary = run_grpo(store, _config(tiny, tmp_path / "run", steps=1, rewards=rewards))
    assert summary["infra_failures"] == PROMPTS_PER_STEP * GENERATIONS
    broken = store.sql("SELECT status, score FROM rewards WHERE verifier = 'always_error'")
    assert broken.height == 8 and set(broken["status"]) == {"error"} and broken["score"].null_count() == 8
    failures = store.sql("SELECT value FROM train_metrics WHERE name = 'rewards/broken/infra_failures'")
    assert failures["value"].to_list() == [8.0]


def test_resume_without_a_previous_run_is_a_clear_error(store, tiny, tmp_path):
    from r1harness.errors import ConfigError

    _add_prompts(store)
    with pytest.raises(ConfigError, match="no r1h_run.json"):
        run_grpo(store, _config(tiny, tmp_path / "nothing", steps=1), resume=True)
    with pytest.raises(ConfigError, match="no prompts match"):
        run_grpo(store, GRPORunConfig(model=str(tiny), dataset="nope", output_dir=str(tmp_path / "x")))


def _erroring_verifier(completions, references, **options):
    from r1harness.verify.verdict import Verdict

    return [Verdict("error", None, "always_error", "1", reason="infrastructure down") for _ in completions]


def _digit_share_verifier(completions, references, **options):
    from r1harness.verify.verdict import Verdict

    return [
        Verdict("correct", sum(ch.isdigit() for ch in c) / max(1, len(c)), "digits", "1") for c in completions
    ]


def test_eval_view_gives_held_out_curves(store, tiny, tmp_path):
    _add_prompts(store)
    _add_prompts(store, n=3, split="test", seed=5)
    run_grpo(
        store,
        _config(
            tiny,
            tmp_path / "run",
            steps=2,
            eval_spec=EvalSpec(dataset="arith", split="test", every=1, samples=2, max_prompts=3),
        ),
    )
    view = store.sql(
        "SELECT step, decoding, verifier, n, infra_failures FROM eval_scores_by_step "
        "ORDER BY step, decoding, verifier"
    )
    assert view["step"].unique().sort().to_list() == [0, 1, 2]
    assert set(view["verifier"]) == {"digits", "format.r1zero", "math"}
    n_test = store.sql("SELECT count(*) AS n FROM prompts WHERE split = 'test'")["n"][0]
    assert n_test >= 2  # a test problem that is also a train problem keeps its train row (same id)
    assert view.filter(view["decoding"] == "greedy")["n"].to_list() == [n_test] * 9
    assert view.filter(view["decoding"] == "sampled")["n"].to_list() == [2 * n_test] * 9
    assert view["infra_failures"].sum() == 0
