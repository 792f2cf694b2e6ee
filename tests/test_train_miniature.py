"""R1-Zero in miniature, shortened: a seed builds its base from the recipe's corpus, runs GRPO from it with a
held-out evaluation at step 0 (the base) and at the end, and the curves come back from SQL over the store."""

from r1harness.store import Store
from r1harness.train.miniature import base_corpus, curve_sql, load_recipe, run_miniature, task_prompts

SHORT = {
    "train_prompts": 16,
    "heldout_prompts": 4,
    "corpus": {"documents": 200, "passes": 2, "format_share": 0.5, "layout": "aligned"},
    "model": {"arch": "qwen2", "layers": 1, "hidden": 32, "heads": 2, "vocab_size": 400},
    "pretrain": {"max_steps": 3, "per_device_train_batch_size": 8, "logging_steps": 1},
    "pretrain_threads": 1,
    "grpo_time_limit_s": None,
    "grpo.threads": 1,
    "grpo.checkpoint_every": 10,
    "grpo.eval": {"max_prompts": 4, "every": 2, "samples": 1, "greedy": True},
    "grpo.rewards": [
        {"name": "accuracy", "verifier": "math", "weight": 1.0, "options": {"workers": 0}},
        {"name": "format", "verifier": "format", "weight": 0.1},
    ],
    "grpo.trl": {
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "num_generations": 2,
        "max_completion_length": 12,
        "learning_rate": 1e-3,
    },
}


def test_recipe_corpus_uses_the_grpo_template_layout_and_excludes_held_out():
    recipe = load_recipe("datasets/recipes/r1zero_tiny.yaml", SHORT)
    docs = base_corpus(recipe, 0, 0.5)
    assert len(docs) == 400 and all(d.startswith("User: What is ") for d in docs)  # the `plain` template
    formatted = [d for d in docs if "Assistant:<think>" in d]
    assert 0.35 < len(formatted) / len(docs) < 0.65 and all(d.endswith(".</answer>") for d in formatted)
    heldout = {r["problem"] for r in task_prompts(recipe)[1]}
    assert not any(f"User: {p}." in d for d in docs for p in heldout)


def test_short_miniature_run_writes_base_and_final_curves(tmp_path):
    recipe = load_recipe("datasets/recipes/r1zero_tiny.yaml", SHORT)
    store = Store.open(tmp_path / "store")
    result = run_miniature(store, recipe, seeds=[0], out_dir=tmp_path / "runs")
    assert (tmp_path / "runs/seed0/base/config.json").exists()
    assert result[0]["steps"] == 2
    probe = result[0]["base_probe"]
    assert probe["prompts"] == 4 and probe["forced_format"]["example"].startswith("<think>")
    assert all(
        0.0 <= probe[m][k] <= 1.0
        for m in ("unprompted", "forced_format")
        for k in ("format", "accuracy", "format_blind_accuracy")
    )
    assert (tmp_path / "runs/seed0/base_probe.json").exists()
    curves = store.sql(curve_sql())
    assert sorted(set(curves["step"].to_list())) == [0, 2]
    assert set(curves["decoding"].to_list()) == {"greedy", "sampled"}
    assert curves.filter(curves["step"] == 0)["n"].to_list() == [4, 4]  # 4 held-out prompts, both decodings
    train = store.sql("SELECT count(*) AS n FROM rollouts WHERE stage = 'grpo'")["n"][0]
    assert train == 2 * 4  # steps x (prompts x generations per step)
