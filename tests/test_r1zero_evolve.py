"""R1-Zero's self-evolution in miniature (datasets/pipelines/r1zero_evolve.yaml): the corpus's trace styles,
the shuffled-reward control, and a shortened end-to-end run whose curves and "aha" query come back by SQL.
Structure only: learning is measured in reports/r1zero_evolve, not asserted here."""

import json
import random
import re

import pytest

from r1harness.cli import main
from r1harness.errors import ConfigError
from r1harness.pipeline import load_pipeline_config
from r1harness.pipeline.miniature import aha_sql, evolve_sql
from r1harness.pipeline.models import pretraining_documents
from r1harness.pipeline.prompts import heldout_problems
from r1harness.store import Store
from r1harness.tasks import arithmetic
from r1harness.tasks.corpus import pretraining_corpus
from r1harness.tasks.traces import check_shares, slipped_sum, trace
from r1harness.train.config import RewardSpec
from r1harness.train.rewards import RewardComponent
from r1harness.verify.verdict import Verdict

ROW = arithmetic.generate(1, 0, digits=3, min_digits=3)[0]


def _columns_sum(text: str) -> int:
    """The sum a column scratchpad spells: each line "x + y + c = s, P." (P: the answer so far, whose new
    digit is s's units digit; a final carry prepends 1), checked line by line."""
    lines = re.findall(r"(\d) \+ (\d) \+ (\d) = (\d+), (\d+)\.", text)
    so_far = ""
    for x, y, c, s, p in lines:
        assert int(x) + int(y) + int(c) == int(s) and p == str(int(s) % 10) + so_far
        so_far = p
    return int("1" + so_far) if re.search(rf"carry 1, 1{so_far}\.", text) else int(so_far)


def test_each_style_spells_the_right_sum_and_check_traces_correct_a_slip():
    a, b = ROW["metadata"]["numbers"]
    assert trace(ROW, "direct") == f"{a} + {b} = {a + b}."
    assert _columns_sum(trace(ROW, "steps")) == a + b
    firsts, rng = set(), random.Random(0)
    for _ in range(40):
        text = trace(ROW, "check", rng)
        first = int(re.match(rf"{a} \+ {b} = (\d+)\. wait, let me check:", text).group(1))
        assert _columns_sum(text) == a + b and text.endswith(f"so it is {a + b}.")
        firsts.add(first == a + b)
    assert firsts == {True, False}  # some checks confirm, some correct: "wait" alone does not mean wrong


def test_slipped_sums_are_wrong_and_plausible():
    rng = random.Random(1)
    for row in arithmetic.generate(200, 3, digits=3, min_digits=3):
        a, b = row["metadata"]["numbers"]
        wrong = slipped_sum(a, b, rng)
        assert wrong != a + b and abs(wrong - (a + b)) in (1, 10, 100, 1000)


def test_corpus_styles_follow_the_shares_and_no_traces_keeps_the_old_corpus():
    kw = dict(
        template="user-assistant@1", tasks={"arithmetic": {"digits": 3, "min_digits": 3}}, layout="aligned"
    )
    docs = pretraining_corpus(2000, 5, format_share=0.5, traces={"steps": 0.2, "check": 0.1}, **kw)
    check = sum("wait, let me check:" in d for d in docs) / len(docs)
    steps = sum(bool(re.search(r"\d \+ \d \+ \d = \d+, ", d)) for d in docs) / len(docs) - check
    assert 0.07 < check < 0.13 and 0.16 < steps < 0.24
    plain = pretraining_corpus(300, 5, format_share=0.5, **kw)
    assert all(re.search(r"Assistant:(<think>)? ?\d \+ \d \+ \d = ", d) for d in plain)  # all step by step
    with pytest.raises(ConfigError, match="traces"):
        check_shares({"steps": 0.8, "check": 0.4})
    with pytest.raises(ConfigError, match="unknown keys"):
        check_shares({"reflect": 0.1})


def test_shuffled_reward_permutes_rewards_but_records_true_verdicts():
    verdicts = [
        Verdict("correct" if i % 3 == 0 else "wrong", 1.0 if i % 3 == 0 else 0.0, "t", "1") for i in range(24)
    ]

    class Recorder:
        def record(self, name, got, texts, ids):
            self.got = got

    recorder = Recorder()
    plain = RewardComponent(RewardSpec("accuracy", "math"), verifier_fn=lambda t, r, **o: verdicts)
    shuffled = RewardComponent(
        RewardSpec("accuracy", "math", shuffle=True), recorder, verifier_fn=lambda t, r, **o: verdicts
    )
    texts = [str(i) for i in range(24)]
    a, b = plain([""] * 24, texts, answer=["1"] * 24), shuffled([""] * 24, texts, answer=["1"] * 24)
    assert sorted(a) == sorted(b) and a != b
    assert [v.score for v in recorder.got] == [v.score for v in verdicts]  # the store: true verdicts


SHORT = {
    "prompts.tasks": [
        {
            "task": "arithmetic",
            "train": 16,
            "heldout": 4,
            "seed": 4321,
            "params": {"digits": 3, "min_digits": 3},
        }
    ],
    "base.tiny": {"arch": "qwen2", "layers": 1, "hidden": 32, "heads": 2, "vocab_size": 400},
    "base.pretrain": {
        "docs": 200,
        "passes": 1,
        "format_share": 0.5,
        "layout": "aligned",
        "traces": {"steps": 0.3, "check": 0.3},
        "trl": {"max_steps": 3, "per_device_train_batch_size": 8, "logging_steps": 1},
    },
    "r1zero.checkpoint_every": 10,
    "r1zero.eval": {"max_prompts": 4, "every": 2, "samples": 1, "greedy": True},
    "r1zero.rewards": [
        {"name": "accuracy", "verifier": "math", "weight": 1.0, "options": {"workers": 0}},
        {"name": "format", "verifier": "format", "weight": 0.1},
        {"name": "final_number", "verifier": "final_number", "weight": 0.0},
    ],
    "r1zero.trl": {
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "num_generations": 2,
        "max_completion_length": 16,
        "learning_rate": 1e-3,
    },
    "eval": {"n": 2, "k": [1, 2], "cons": [2], "max_tokens": 16, "limit": 4, "batch_size": 8},
}


def test_config_corpus_has_the_three_styles_and_excludes_held_out():
    config = load_pipeline_config("r1zero_evolve", SHORT)
    assert config.stages == ("prompts", "base", "r1zero", "eval")
    heldout = heldout_problems(config.prompts.tasks)
    tasks = {t.task: t.params for t in config.prompts.tasks}
    docs = pretraining_documents(
        config.base.pretrain, corpus_tasks=tasks, exclude=heldout, template=config.template, seed=0
    )
    assert any("wait, let me check:" in d for d in docs) and any(
        re.search(r"\d{3} = \d+\. Ther", d) for d in docs
    )
    assert not any(f"User: {p}." in d for d in docs for p in heldout)
    full = load_pipeline_config("r1zero_evolve")  # the committed config: rewards say nothing of length/words
    assert {r["verifier"] for r in full.r1zero["rewards"]} == {"math", "format", "final_number"}
    assert full.base.pretrain["traces"]["check"] < full.base.pretrain["traces"]["steps"] < 0.5


@pytest.mark.slow  # tiny base + 2 GRPO steps + evaluation, twice (the no-check-traces control): ~15-30 s
def test_short_run_and_its_control_write_curves_readable_by_sql(tmp_path, capsys):
    store_dir, out = tmp_path / "store", tmp_path / "runs"
    options = [x for k, v in SHORT.items() for x in ("--set", f"{k}={json.dumps(v)}")]
    argv = ["train", "r1zero-tiny", "--config", "r1zero_evolve", "--store", str(store_dir), "--seeds", "0"]
    argv += ["--out", str(out), "--quiet", *options]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["0"]
    shuffled = [{**r, "shuffle": True} for r in SHORT["r1zero.rewards"]]
    control_set = ["--set", "base.pretrain.traces.check=0", "--set", f"r1zero.rewards={json.dumps(shuffled)}"]
    assert main([*argv, *control_set]) == 0
    control = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["0"]
    assert first["complete"] and control["complete"] and first["run_id"] != control["run_id"]
    runs = [first["grpo_run_id"], control["grpo_run_id"]]
    with Store(store_dir).reader() as con:
        rows = con.sql(evolve_sql(runs)).fetchall()
        cols = [c[0] for c in con.sql(evolve_sql(runs)).description]
        train = con.sql(evolve_sql(runs, stage="grpo")).fetchall()
        con.sql(aha_sql(runs)).fetchall()  # runs; finding one is for the report, not this test
        shuffle_cfg = con.sql(f"SELECT config FROM runs WHERE run_id = '{runs[1]}'").fetchall()[0][0]
    by = {(r[0], r[1], r[2]): dict(zip(cols, r)) for r in rows}
    for run in runs:
        assert {(s, d) for (rid, s, d) in by if rid == run} == {
            (0, "greedy"),
            (0, "sampled"),
            (2, "greedy"),
            (2, "sampled"),
        }
    for row in by.values():
        assert row["n"] == 4 and 0 <= row["reflection_share"] <= 1 and row["mean_completion_tokens"] > 0
    assert {r[1] for r in train} == {1, 2}
    assert '"shuffle": true' in json.dumps(
        json.loads(shuffle_cfg) if isinstance(shuffle_cfg, str) else shuffle_cfg
    )
