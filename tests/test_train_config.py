"""Configs: defaults < YAML < overrides; unknown keys raise a ConfigError naming the key and the
valid ones."""

from pathlib import Path

import pytest

from r1harness.errors import ConfigError
from r1harness.train.config import GRPORunConfig, SFTRunConfig, load_config, parse_overrides, trl_args
from r1harness.train.miniature import load_recipe

REPO = Path(__file__).resolve().parents[1]


def test_yaml_then_overrides(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "model: m\ndataset: d\ntrl: {learning_rate: 1.0e-4, beta: 0.0}\n"
        "rewards: [{name: acc, verifier: math}]\n"
    )
    config = load_config(GRPORunConfig, cfg, parse_overrides(["trl.learning_rate=3e-5", "seed=7"]))
    assert config.trl == {"learning_rate": 3e-5, "beta": 0.0}
    assert config.seed == 7 and config.rewards[0].weight == 1.0 and config.template == "r1zero"


@pytest.mark.parametrize(
    "yaml_text,needle",
    [
        ("model: m\ndataset: d\nlearning_rate: 1\n", "unknown key(s) ['learning_rate']"),
        ("model: m\ndataset: d\nrewards: [{name: a, verifier: math, wieght: 2}]\n", "wieght"),
        ("model: m\ndataset: d\neval: {dataset: x, evry: 3}\n", "evry"),
        ("dataset: d\n", "model is required"),
        ("model: m\n", "which prompts"),
        (
            "model: m\ndataset: d\nrewards: [{name: a, verifier: math}, {name: a, verifier: format}]\n",
            "unique",
        ),
    ],
)
def test_bad_configs_are_rejected_with_a_clear_message(tmp_path, yaml_text, needle):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        load_config(GRPORunConfig, cfg)
    assert needle in str(err.value)
    if "unknown" in needle:
        assert "valid keys are" in str(err.value)


def test_unknown_trl_option_names_the_trl_class():
    from trl import GRPOConfig

    with pytest.raises(ConfigError, match=r"unknown GRPOConfig option\(s\) \['num_generation'\]"):
        trl_args(GRPOConfig, {"num_generation": 4}, output_dir="/tmp/x", seed=0)
    args = trl_args(
        GRPOConfig, {"num_generations": 4, "per_device_train_batch_size": 8}, output_dir="/tmp/x", seed=3
    )
    assert args.num_generations == 4 and args.seed == 3 and args.report_to in ([], "none", ["none"])
    assert args.bf16 is False  # CPU defaults from STACK.md


def test_sft_config_requires_a_set_and_overrides_parse():
    with pytest.raises(ConfigError, match="set is required"):
        load_config(SFTRunConfig, None, {"model": "m"})
    assert parse_overrides(["a.b=[1, 2]", "c=null", "d=true"]) == {"a.b": [1, 2], "c": None, "d": True}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["nope"])


def test_shipped_recipes_parse():
    recipe = load_recipe(REPO / "datasets/recipes/r1zero_tiny.yaml")
    assert recipe.corpus["format_share"] == 0.05 and recipe.corpus["layout"] == "aligned"
    assert recipe.grpo["trl"]["scale_rewards"] == "none"
    for name in ("grpo_arithmetic.yaml", "grpo_countdown.yaml"):
        config = load_config(GRPORunConfig, REPO / "datasets/recipes" / name)
        assert [r.name for r in config.rewards] == ["accuracy", "format"]
    with pytest.raises(ConfigError, match="set by the recipe"):
        load_recipe(REPO / "datasets/recipes/r1zero_tiny.yaml", {"grpo.model": "x"})
    with pytest.raises(ConfigError, match=r"corpus: unknown key\(s\) \['docs'\]"):
        load_recipe(REPO / "datasets/recipes/r1zero_tiny.yaml", {"corpus.docs": 10})


def test_validate_tells_recipe_kinds_apart_and_names_bad_keys(tmp_path):
    from r1harness.evals.validate import validate_paths

    good = [f for f in validate_paths(kinds=["recipe"])]
    assert {Path(f.path).name for f in good} >= {"r1zero_tiny.yaml", "grpo_arithmetic.yaml", "tiny.yaml"}
    assert all(f.ok for f in good), [f.problems for f in good if not f.ok]
    bad_trl = tmp_path / "mini.yaml"
    bad_trl.write_text("task: {name: arithmetic}\ncorpus: {documents: 10}\ngrpo: {trl: {betaa: 0.1}}\n")
    bad_corpus = tmp_path / "mini2.yaml"
    bad_corpus.write_text("task: {name: arithmetic}\ncorpus: {docs: 10}\n")
    found = {
        Path(f.path).name: f.problems for f in validate_paths([str(bad_trl), str(bad_corpus)], ["recipe"])
    }
    assert "unknown GRPOConfig option(s) ['betaa']" in found["mini.yaml"][0]
    assert "corpus: unknown key(s) ['docs']" in found["mini2.yaml"][0]
