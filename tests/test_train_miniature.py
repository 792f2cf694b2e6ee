"""R1-Zero in miniature, shortened: `r1h train r1zero-tiny` runs the pipeline config r1zero_tiny (prompts,
base, r1zero, eval) once per seed; each seed builds its base from the config's corpus, runs GRPO from it
with a held-out evaluation at step 0 (the base) and at the end, and the curves come back from SQL."""

import json

import pytest

from r1harness.cli import main
from r1harness.pipeline import load_pipeline_config
from r1harness.pipeline.miniature import curve_sql
from r1harness.pipeline.models import pretraining_documents
from r1harness.pipeline.prompts import heldout_problems
from r1harness.store import Store

SHORT = {
    "prompts.tasks": [
        {
            "task": "arithmetic",
            "train": 16,
            "heldout": 4,
            "seed": 1234,
            "params": {"digits": 2, "min_digits": 1},
        }
    ],
    "base.tiny": {"arch": "qwen2", "layers": 1, "hidden": 32, "heads": 2, "vocab_size": 400},
    "base.pretrain": {
        "docs": 200,
        "passes": 2,
        "format_share": 0.5,
        "layout": "aligned",
        "trl": {"max_steps": 3, "per_device_train_batch_size": 8, "logging_steps": 1},
    },
    "threads": 1,
    "r1zero.checkpoint_every": 10,
    "r1zero.eval": {"max_prompts": 4, "every": 2, "samples": 1, "greedy": True},
    "r1zero.rewards": [
        {"name": "accuracy", "verifier": "math", "weight": 1.0, "options": {"workers": 0}},
        {"name": "format", "verifier": "format", "weight": 0.1},
    ],
    "r1zero.trl": {
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "num_generations": 2,
        "max_completion_length": 12,
        "learning_rate": 1e-3,
    },
    "eval": {"n": 2, "k": [1, 2], "cons": [2], "max_tokens": 12, "limit": 4, "batch_size": 8},
}


def test_config_is_the_pipelines_first_stages_and_its_corpus_excludes_held_out():
    config = load_pipeline_config("r1zero_tiny", SHORT)
    assert config.stages == ("prompts", "base", "r1zero", "eval")
    task = {t.task: t.params for t in config.prompts.tasks}
    heldout = heldout_problems(config.prompts.tasks)  # the pipeline's own held-out split rule
    docs = pretraining_documents(
        config.base.pretrain, corpus_tasks=task, exclude=heldout, template=config.template, seed=0
    )
    assert len(docs) == 400 and all(d.startswith("User: What is ") for d in docs)  # user-assistant@1
    formatted = [d for d in docs if "Assistant:<think>" in d]
    assert 0.35 < len(formatted) / len(docs) < 0.65 and all(d.endswith(".</answer>") for d in formatted)
    assert len(heldout) == 4 and not any(f"User: {p}." in d for d in docs for p in heldout)


@pytest.mark.slow  # two seeds x (tiny base + 2 GRPO steps + evaluation): 12-25 s on 2 shared cores
def test_short_miniature_run_over_two_seeds_writes_bases_curves_and_evaluations(tmp_path, capsys):
    options = [x for k, v in SHORT.items() for x in ("--set", f"{k}={json.dumps(v)}")]
    store_dir, out = tmp_path / "store", tmp_path / "runs"
    argv = ["train", "r1zero-tiny", "--store", str(store_dir), "--seeds", "0,1", "--out", str(out), "--quiet"]
    assert main(argv + options) == 0
    result = {int(k): v for k, v in json.loads(capsys.readouterr().out.strip().splitlines()[-1]).items()}
    assert sorted(result) == [0, 1] and result[0]["run_id"] != result[1]["run_id"]
    for seed in (0, 1):
        assert result[seed]["complete"] and result[seed]["steps"] == 2
        assert (out / result[seed]["run_id"] / "base/model/config.json").exists()
        assert set(result[seed]["eval"]) == {"base", "r1zero"}  # the pipeline's eval stage, both models
        probe = result[seed]["base_probe"]
        assert probe["prompts"] == 4 and probe["forced_format"]["example"].startswith("<think>")
        assert all(
            0.0 <= probe[m][k] <= 1.0
            for m in ("unprompted", "forced_format")
            for k in ("format", "accuracy", "format_blind_accuracy")
        )
        assert (out / result[seed]["run_id"] / "base/base_probe.json").exists()
    store = Store.open(store_dir)
    seeds = store.sql("SELECT json_extract(config, '$.seed')::INT AS seed FROM runs WHERE kind = 'grpo'")
    assert sorted(seeds["seed"].to_list()) == [0, 1]  # what reports/r1zero_tiny/curves.py joins on
    curves = store.sql(curve_sql([result[0]["grpo_run_id"]]))
    assert sorted(set(curves["step"].to_list())) == [0, 2]
    assert set(curves["decoding"].to_list()) == {"greedy", "sampled"}
    assert curves.filter(curves["step"] == 0)["n"].to_list() == [4, 4]  # 4 held-out prompts, both decodings
    train = store.sql("SELECT count(*) AS n FROM rollouts WHERE stage = 'grpo'")["n"][0]
    assert train == 2 * 2 * 4  # seeds x steps x (prompts x generations per step)
    assert store.sql("SELECT count(DISTINCT prompt_id) AS n FROM prompts")["n"][0] == 16 + 4  # one ingest
