"""GRPO's store log survives kills: an eval step cut short is completed on resume (never left with rollouts
but no rewards or metrics), a resumed run does not evaluate again at its checkpoint step, and no
`train_metrics` row is written twice."""

from __future__ import annotations

import json

import pytest

from r1harness.store.ids import prompt_id
from r1harness.tasks import arithmetic
from r1harness.train.config import EvalSpec, GRPORunConfig, RewardSpec
from r1harness.train.grpo import run_grpo
from r1harness.train.tiny_model import init_tiny_model

REWARDS = (RewardSpec("accuracy", "math", 1.0, {"workers": 0}), RewardSpec("format", "format", 0.5))
N_TEST = 3


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "model"
    corpus = [f"What is {r['metadata']['expression']}? {r['answer']}" for r in arithmetic.generate(200, 0)]
    return init_tiny_model(out, layers=1, hidden=32, heads=2, vocab_size=320, corpus=corpus)


def _prompts(store):
    for split, n, seed in (("train", 8, 0), ("test", N_TEST, 7)):
        rows = arithmetic.generate(n, seed, digits=1)
        store.append(
            "prompts",
            [
                {
                    "prompt_id": prompt_id(f"arith-{split}", r["problem"]),
                    "dataset": "arith",
                    "split": split,
                    "domain": "math",
                    "problem": r["problem"],
                    "answer": r["answer"],
                    "metadata": json.dumps(r["metadata"]),
                }
                for r in rows
            ],
        )


def _config(model, out, *, steps, every):
    return GRPORunConfig(
        model=str(model),
        dataset="arith",
        split="train",
        output_dir=str(out),
        seed=0,
        rewards=REWARDS,
        eval=EvalSpec(dataset="arith", split="test", every=every, samples=1, max_prompts=N_TEST),
        checkpoint_every=1,
        trl=dict(
            max_steps=steps,
            per_device_train_batch_size=4,
            num_generations=2,
            max_completion_length=6,
            learning_rate=1e-3,
            beta=0.0,
        ),
    )


def _eval_steps(store, run_id) -> list[int]:
    return store.sql(
        "SELECT DISTINCT step FROM rollouts WHERE run_id = ? AND stage = 'eval' ORDER BY 1", [run_id]
    )["step"].to_list()


def _assert_complete_and_unique(store, run_id):
    orphans = store.sql(
        "SELECT r.step, count(*) AS n FROM rollouts r WHERE r.run_id = ? AND r.stage = 'eval' AND "
        "(SELECT count(*) FROM rewards w WHERE w.rollout_id = r.rollout_id) <> ? GROUP BY 1",
        [run_id, len(REWARDS)],
    ).to_dicts()
    assert orphans == []  # every eval rollout has one verdict per reward component
    per_step = store.sql(
        "SELECT step, count(*) AS n FROM rollouts WHERE run_id = ? AND stage = 'eval' GROUP BY 1", [run_id]
    )
    assert set(per_step["n"]) == {2 * N_TEST}  # greedy + 1 sample per prompt
    with_metrics = store.sql(
        "SELECT DISTINCT step FROM train_metrics WHERE run_id = ? AND name LIKE 'eval/%' ORDER BY 1", [run_id]
    )["step"].to_list()
    assert with_metrics == _eval_steps(store, run_id)
    dup = store.sql("SELECT count(*) - count(DISTINCT metric_id) AS d FROM train_metrics")["d"][0]
    assert dup == 0  # old code: the trainer's end-of-run log wrote (last step, "epoch") twice


def test_an_eval_step_cut_short_by_a_kill_is_completed_on_resume(store, tiny, tmp_path, monkeypatch):
    _prompts(store)
    out = tmp_path / "run"
    append = store.append

    def killed_at_first_rewards(table, rows, **kwargs):
        if table == "rewards":  # the step-0 evaluation: its rollouts are stored, its rewards not
            raise KeyboardInterrupt("killed between the eval rollouts and their rewards")
        return append(table, rows, **kwargs)

    monkeypatch.setattr(store, "append", killed_at_first_rewards)
    with pytest.raises(KeyboardInterrupt):
        run_grpo(store, _config(tiny, out, steps=1, every=1))
    monkeypatch.setattr(store, "append", append)
    run_id = json.loads((out / "r1h_run.json").read_text())["run_id"]
    assert _eval_steps(store, run_id) == [0] and store.count("rewards") == 0

    run_grpo(store, _config(tiny, out, steps=1, every=1), resume=True)
    assert _eval_steps(store, run_id) == [0, 1]
    _assert_complete_and_unique(store, run_id)


def test_resume_does_not_evaluate_again_at_its_checkpoint_step(store, tiny, tmp_path):
    from transformers import TrainerCallback

    class KillAfterSaving(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise KeyboardInterrupt("killed after checkpoint-3")

    _prompts(store)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_grpo(store, _config(tiny, out, steps=4, every=2), callbacks=[KillAfterSaving()])
    run_id = json.loads((out / "r1h_run.json").read_text())["run_id"]
    assert _eval_steps(store, run_id) == [0, 2]

    summary = run_grpo(store, _config(tiny, out, steps=4, every=2), resume=True)
    assert summary["resumed_from"].endswith("checkpoint-3")
    assert _eval_steps(store, run_id) == [0, 2, 4]  # old code also evaluated step 3 on resuming
    _assert_complete_and_unique(store, run_id)


def test_a_run_logs_each_metric_once(store, tiny, tmp_path):
    _prompts(store)
    run_grpo(store, _config(tiny, tmp_path / "run", steps=2, every=5))
    dup = store.sql(
        "SELECT step, name, count(*) AS n FROM train_metrics GROUP BY ALL HAVING count(*) > 1"
    ).to_dicts()
    assert dup == []  # old code: the trainer's end-of-run summary wrote (2, "epoch") a second time
