"""Tiny-model kit: a local tokenizer + causal LM that load with the Auto classes, fast enough for fixtures."""

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from r1harness.errors import ConfigError
from r1harness.train.tiny_model import FORMAT_TOKENS, init_tiny_model

CORPUS = [
    f"User: What is {a} + {b}?. Assistant: The answer is {a + b}." for a in range(30) for b in range(0, 90, 7)
]


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_init_saves_a_loadable_hf_folder(tmp_path, arch):
    out = init_tiny_model(
        tmp_path / arch, arch=arch, layers=2, hidden=64, heads=4, vocab_size=400, corpus=CORPUS
    )
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.model_type == arch and model.config.num_hidden_layers == 2
    assert model.config.vocab_size == len(tok) and tok.eos_token and tok.pad_token
    assert tok.pad_token_id != tok.eos_token_id
    # digits are single tokens: arithmetic stays learnable
    pieces = [tok.decode([i]) for i in tok("12345", add_special_tokens=False)["input_ids"]]
    assert pieces == ["1", "2", "3", "4", "5"]
    # format tags are ordinary tokens: they survive skip_special_tokens (TRL decodes completions that way)
    text = " <think> 2 + 2 = 4 </think> <answer> 4 </answer>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids + [tok.eos_token_id], skip_special_tokens=True) == text
    for tag in FORMAT_TOKENS:
        assert len(tok(tag, add_special_tokens=False)["input_ids"]) == 1
    chat = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert chat.endswith("<|im_start|>assistant\n")
    with torch.no_grad():
        out_ids = model.generate(
            **tok(["What is 1 + 2?"], return_tensors="pt"), max_new_tokens=3, do_sample=False
        )
    assert out_ids.shape[1] >= 3
    assert json.loads((out / "r1h_tiny_model.json").read_text())["arch"] == arch


def test_same_seed_same_weights_and_default_corpus(tmp_path):
    a = init_tiny_model(tmp_path / "a", layers=1, hidden=32, heads=2, corpus=CORPUS, seed=5)
    b = init_tiny_model(tmp_path / "b", layers=1, hidden=32, heads=2, corpus=CORPUS, seed=5)
    wa, wb = (AutoModelForCausalLM.from_pretrained(p).state_dict() for p in (a, b))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    default = init_tiny_model(tmp_path / "d", layers=1, hidden=32, heads=2)  # synthetic task corpus
    assert len(AutoTokenizer.from_pretrained(default)) > 300


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"arch": "gpt9"}, "arch must be one of"),
        ({"hidden": 30, "heads": 4}, "divisible"),
        ({"vocab_size": 100}, "vocab_size"),
        ({"corpus": []}, "corpus is empty"),
    ],
)
def test_bad_sizes_are_rejected(tmp_path, kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        init_tiny_model(tmp_path / "x", **kwargs)
