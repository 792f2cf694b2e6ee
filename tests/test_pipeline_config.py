"""Pipeline configs: the shipped ones validate, bad ones fail with the file and key named, and the
pipeline's stage configs go through the trainers' own config classes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from r1harness.errors import ConfigError
from r1harness.pipeline import config_from_dict, load_pipeline_config, pipeline_run_id
from r1harness.pipeline.context import Context
from r1harness.pipeline.models import prompt_chat_template
from r1harness.pipeline.prompts import task_rows
from r1harness.pipeline.training import grpo_config, sft_config
from r1harness.pipeline.validate import validate_pipeline_file

REPO = Path(__file__).resolve().parents[1]
MINIMAL = {"name": "t", "prompts": {"tasks": [{"task": "arithmetic", "train": 10, "heldout": 5}]}}


@pytest.mark.parametrize("name", ["tiny", "r1", "r1zero_tiny"])
def test_shipped_configs_validate(name):
    assert validate_pipeline_file(REPO / "datasets" / "pipelines" / f"{name}.yaml") == []


def test_r1_config_is_the_full_scale_one():
    cfg = load_pipeline_config("r1")
    assert cfg.backend == "vllm" and cfg.rejection.recipe == "r1"
    assert cfg.base.model == "deepseek-ai/DeepSeek-V3-Base" and not cfg.base.is_tiny
    assert cfg.eval.n == 64 and cfg.eval.cons == (64,)
    assert cfg.r1zero["trl"]["num_generations"] == 16 and cfg.r1zero["trl"]["use_vllm"] is True


def _write(tmp_path, data) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "change, words",
    [
        ({"bogus": 1}, ["unknown key(s) ['bogus']", "valid keys are"]),
        ({"eval": {"n": 2, "k": [1, 4]}}, ["eval: k must include 1", "1..n=2"]),
        ({"base": {"model": "org/model", "pretrain": {"docs": 1}}}, ["apply only to model: tiny"]),
        ({"base": {"pretrain": {"steps": 3}}}, ["pretrain: unknown key(s) ['steps']"]),
        ({"prompts": {"tasks": [{"task": "sudoku"}]}}, ["unknown task 'sudoku'"]),
        (
            {"prompts": {"tasks": [], "train": ["math_train"]}},
            ["must also be listed under prompts.benchmarks"],
        ),
        ({"backend": "tgi"}, ["backend must be one of"]),
        ({"template": "r1-zero@2"}, ["unknown template 'r1-zero@2'", "r1-zero@1"]),
        ({"template": "r1-math@1"}, ["renders chat messages", "need a raw-text template"]),
        ({"template": "plain"}, ["is now named user-assistant@1", "plain@1"]),
        ({"eval_template": "r1-zero@1"}, ["eval_template is gone", "remove eval_template"]),
    ],
)
def test_bad_configs_name_the_key(tmp_path, change, words):
    path = _write(tmp_path, {**MINIMAL, **change})
    with pytest.raises(ConfigError) as err:
        load_pipeline_config(path)
    assert str(path) in str(err.value)
    for w in words:
        assert w in str(err.value)


def test_validator_checks_stage_options_against_the_trainers(tmp_path):
    path = _write(
        tmp_path,
        {
            **MINIMAL,
            "r1zero": {"trl": {"learning_rat": 1e-4}, "rewards": [{"name": "accuracy", "verifier": "mathh"}]},
            "sft2": {"epochs": 3},
            "rejection": {"recipe": "no_such_recipe"},
        },
    )
    problems = "\n".join(validate_pipeline_file(path))
    assert "r1zero.trl: unknown GRPOConfig option(s) ['learning_rat']" in problems
    assert "verifier 'mathh' is not registered" in problems
    assert "sft2" in problems and "unknown key(s) ['epochs']" in problems
    assert "rejection.recipe" in problems and "no_such_recipe" in problems
    assert all(p.startswith(str(path)) for p in problems.splitlines() if p and not p.startswith(" "))


def test_run_id_follows_the_config():
    a, b = config_from_dict(MINIMAL), config_from_dict({**MINIMAL, "seed": 1})
    assert pipeline_run_id(a) == pipeline_run_id(config_from_dict(dict(MINIMAL)))
    assert pipeline_run_id(a) != pipeline_run_id(b)


def test_stage_configs_layer_pipeline_defaults_under_yaml(tmp_path):
    cfg = config_from_dict(
        {
            **MINIMAL,
            "threads": 2,
            "r1zero": {"trl": {"max_steps": 7}},
            "sft2": {"trl": {"max_steps": 3}, "max_samples": 50},
        }
    )
    ctx = Context(None, cfg, "pipeline-x", tmp_path, progress=False)
    g = grpo_config(ctx, "r1zero", "/models/base")
    assert g.model == "/models/base" and g.dataset == "arithmetic_train" and g.trl == {"max_steps": 7}
    assert [r.name for r in g.rewards] == ["accuracy", "format"] and g.eval.dataset == "arithmetic_heldout"
    assert g.output_dir == str(tmp_path / "r1zero") and g.threads == 2 and g.run_name == "t/r1zero"
    assert [r.name for r in grpo_config(ctx, "reasoning_rl", "m").rewards] == ["accuracy", "language"]
    s = sft_config(ctx, "sft2", "/models/base", "t_sft@v1")
    assert s.set == "t_sft@v1" and s.max_samples == 50 and s.trl == {"max_steps": 3}


def test_heldout_problems_are_not_train_problems():
    cfg = config_from_dict(
        {
            **MINIMAL,
            "prompts": {
                "tasks": [{"task": "arithmetic", "train": 2000, "heldout": 200, "params": {"digits": 2}}]
            },
        }
    )
    train, heldout = task_rows(cfg.prompts.tasks[0])
    assert len(heldout) == 200 and len(train) == 2000
    assert not {r["problem"] for r in train} & {r["problem"] for r in heldout}
    assert len({r["problem"] for r in train}) == len(train)


def test_chat_template_renders_the_training_prompt():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    from r1harness.templates import render_text

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()), eos_token="<eos>")
    tok.chat_template = prompt_chat_template("user-assistant@1")
    msgs = [
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": "<think> 5 </think>"},
    ]
    text = tok.apply_chat_template(msgs, tokenize=False)
    assert text == render_text("user-assistant@1", "What is 2 + 3?") + " <think> 5 </think><eos>"
    assert text.startswith("User: What is 2 + 3?. Assistant: <think>")


def test_one_template_name_means_one_text_for_training_and_generation():
    """Training (GRPO prompts, corpus, chat template) and generation read one registry: the pipeline's
    template renders the same text on both sides, for every raw template."""
    from r1harness.templates import TEMPLATES, get_template, render_text
    from r1harness.train.data import grpo_dataset

    for key, template in TEMPLATES.items():
        if template.raw:
            rows = [{"prompt_id": "p", "problem": "What is 1 + 2?", "answer": "3", "verifier": "math"}]
            trained = grpo_dataset(rows, key)["prompt"][0]
            assert trained == get_template(key).render("What is 1 + 2?") == render_text(key, "What is 1 + 2?")
    assert get_template("plain@1").render("x") == "x"  # never the training side's old "User: x. Assistant:"


def test_stage_names_are_the_runners_stages_and_a_config_may_run_a_prefix(tmp_path):
    from r1harness.pipeline.config import STAGE_NAMES
    from r1harness.pipeline.stages import STAGES

    assert tuple(STAGES) == STAGE_NAMES
    assert config_from_dict({**MINIMAL, "stages": ["prompts", "base"]}).stages == ("prompts", "base")
    with pytest.raises(ConfigError, match="choose from"):
        config_from_dict({**MINIMAL, "stages": ["prompts", "pretrain"]})
    with pytest.raises(ConfigError, match="pipeline order"):
        config_from_dict({**MINIMAL, "stages": ["base", "prompts"]})
