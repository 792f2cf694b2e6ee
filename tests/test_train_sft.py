"""SFT over a set in the store: loss goes down, loss is on assistant turns only, the run links to the set."""

import json

import pytest

from r1harness.errors import ConfigError
from r1harness.store.ids import sample_id
from r1harness.train.config import SFTRunConfig
from r1harness.train.sft import run_sft
from r1harness.train.tiny_model import init_tiny_model


def _add_set(store, name="coldstart", version=1, n=16, status="ready"):
    rows = []
    for i in range(n):
        a, b = i % 7, (3 * i) % 5
        msgs = [
            {"role": "user", "content": f"What is {a} + {b}?"},
            {
                "role": "assistant",
                "content": f"<think> {a} + {b} = {a + b} </think> <answer> {a + b} </answer>",
            },
        ]
        rows.append(
            {
                "sample_id": sample_id(name, version, str(i)),
                "set_name": name,
                "set_version": version,
                "messages": json.dumps(msgs),
                "domain": "math",
            }
        )
    store.append("sft_samples", rows)
    store.catalog_insert("sets", [{"name": name, "version": version, "status": status, "n_samples": n}])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    corpus = [
        f"What is {a} + {b}? <think> {a} + {b} = {a + b} </think> <answer> {a + b} </answer>"
        for a in range(10)
        for b in range(10)
    ]
    return init_tiny_model(
        tmp_path_factory.mktemp("m") / "tiny", layers=1, hidden=32, heads=2, vocab_size=320, corpus=corpus
    )


def test_sft_lowers_the_loss_and_links_the_run_to_the_set(store, tiny, tmp_path):
    _add_set(store)
    config = SFTRunConfig(
        model=str(tiny),
        set="coldstart@v1",
        output_dir=str(tmp_path / "out"),
        trl={"max_steps": 30, "per_device_train_batch_size": 8, "learning_rate": 3e-3},
    )
    summary = run_sft(store, config)
    assert summary["n_samples"] == 16 and summary["steps"] == 30
    assert summary["last_loss"] < 0.7 * summary["first_loss"], summary
    run = store.sql(
        "SELECT kind, status, config FROM runs WHERE run_id = $1", [summary["run_id"]]
    ).to_dicts()[0]
    cfg = json.loads(run["config"])
    assert run["kind"] == "sft" and run["status"] == "finished"
    assert (cfg["set_name"], cfg["set_version"]) == ("coldstart", 1)
    assert cfg["resolved_trl"]["assistant_only_loss"] is True
    losses = store.sql(
        "SELECT step, value FROM train_metrics WHERE run_id = $1 AND name = 'loss' ORDER BY step",
        [summary["run_id"]],
    )
    assert losses.height == 30
    assert (tmp_path / "out" / "config.json").exists()


def test_assistant_only_mask_covers_just_the_completion(tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny)
    msgs = [
        {"role": "user", "content": "What is 1 + 2?"},
        {"role": "assistant", "content": "<answer> 3 </answer>"},
    ]
    out = tok.apply_chat_template(msgs, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tok.decode(masked) == "<answer> 3 </answer><|im_end|>"


def test_set_references_are_checked(store, tiny, tmp_path):
    _add_set(store, name="draft", status="building")
    for ref, needle in [
        ("draft@v1", "not a ready set"),
        ("missing", "no ready version"),
        ("x@vq", "version"),
    ]:
        with pytest.raises(ConfigError, match=needle):
            run_sft(store, SFTRunConfig(model=str(tiny), set=ref, output_dir=str(tmp_path / "o")))
    assert store.count("runs") == 0  # nothing started for a bad reference
