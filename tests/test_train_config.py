"""Configs: defaults < YAML < overrides; unknown keys raise a ConfigError naming the key and the
valid ones."""

from pathlib import Path

import pytest

from r1harness.configs import parse_overrides
from r1harness.errors import ConfigError
from r1harness.train.config import GRPORunConfig, SFTRunConfig, load_config, trl_args

REPO = Path(__file__).resolve().parents[1]


def test_yaml_then_overrides(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "model: m\ndataset: d\ntrl: {learning_rate: 1.0e-4, beta: 0.0}\n"
        "rewards: [{name: acc, verifier: math}]\n"
    )
    config = load_config(GRPORunConfig, cfg, parse_overrides(["trl.learning_rate=3e-5", "seed=7"]))
    assert config.trl == {"learning_rate": 3e-5, "beta": 0.0}
    assert config.seed == 7 and config.rewards[0].weight == 1.0 and config.template == "r1-zero@1"


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
    assert args.bf16 is False  # CPU defaults (train/config.py CPU_TRL_DEFAULTS)


def test_sft_config_requires_a_set_and_overrides_parse():
    with pytest.raises(ConfigError, match="set is required"):
        load_config(SFTRunConfig, None, {"model": "m"})
    assert parse_overrides(["a.b=[1, 2]", "c=null", "d=true"]) == {"a.b": [1, 2], "c": None, "d": True}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["nope"])


def test_shipped_training_configs_parse():
    for name in ("grpo_arithmetic.yaml", "grpo_countdown.yaml"):
        config = load_config(GRPORunConfig, REPO / "datasets/training" / name)
        assert [r.name for r in config.rewards] == ["accuracy", "format"] and config.template == "r1-zero@1"


@pytest.mark.parametrize(
    "template, needle",
    [
        ("r1zero", "is now named r1-zero@1"),  # the training side's old name, refused with its new one
        ("plain", "user-assistant@1"),  # the old training `plain` is not today's plain@1
        ("r1-math@1", "need a raw-text template"),  # chat messages cannot be a GRPO prompt string
        ("r1-zero@7", "unknown template 'r1-zero@7'"),
    ],
)
def test_grpo_config_refuses_a_template_it_cannot_render(template, needle):
    with pytest.raises(ConfigError, match="template") as err:
        load_config(GRPORunConfig, None, {"model": "m", "dataset": "d", "template": template})
    assert needle in str(err.value)


def test_validate_gives_each_datasets_folder_one_kind(tmp_path):
    """datasets/recipes/ holds curation recipes, datasets/training/ trainer configs, datasets/pipelines/
    pipeline configs: each folder is checked by its own kind's validator."""
    from r1harness.validate import validate_paths

    found = validate_paths(kinds=["recipe", "training"])
    names = {
        kind: sorted(Path(f.path).name for f in found if f.kind == kind) for kind in ("recipe", "training")
    }
    assert names == {
        "recipe": ["r1.yaml", "tiny.yaml"],
        "training": ["grpo_arithmetic.yaml", "grpo_countdown.yaml"],
    }
    assert all(f.ok for f in found), [f.problems for f in found if not f.ok]
    bad_trl = tmp_path / "grpo.yaml"
    bad_trl.write_text("model: m\ndataset: d\ntrl: {betaa: 0.1}\n")
    bad_key = tmp_path / "sft.yaml"
    bad_key.write_text("model: m\nset: s@v1\nepochs: 3\n")
    found = {
        Path(f.path).name: f.problems for f in validate_paths([str(bad_trl), str(bad_key)], ["training"])
    }
    assert "unknown GRPOConfig option(s) ['betaa']" in found["grpo.yaml"][0]
    assert "epochs" in found["sft.yaml"][0]
    curation = validate_paths([str(REPO / "datasets/training/grpo_arithmetic.yaml")], ["recipe"])
    assert not curation[0].ok  # a training config is not a curation recipe
