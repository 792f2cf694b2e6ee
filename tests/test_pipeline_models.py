"""Tiny starting models: R1's cold-start marker is one token of the tiny tokenizer, as in DeepSeek's."""

from __future__ import annotations

from r1harness.pipeline.config import ModelSpec
from r1harness.pipeline.models import DONE_FILE, LAYOUT_TOKENS, prepare_model


def test_tiny_base_has_one_token_for_the_cold_start_marker(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = ModelSpec(model="tiny", tiny={"layers": 1, "hidden": 32, "heads": 2, "vocab_size": 320})
    path = prepare_model(
        spec,
        tmp_path,
        corpus_tasks={"arithmetic": {}},
        exclude=set(),
        template="user-assistant@1",
        chat_template=True,
        seed=0,
        threads=1,
    )
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    marker = LAYOUT_TOKENS[0]
    text = f" {marker}1 + 2 = 3.{marker}<answer> 3 </answer>"
    pieces = tok.tokenize(text)
    assert pieces.count(marker) == 2  # one piece each, not 14 bytes
    assert tok.decode(tok(text)["input_ids"], skip_special_tokens=True) == text  # rewards still see it
    assert model.get_input_embeddings().weight.shape[0] == len(tok)
    assert (tmp_path / "model" / DONE_FILE).exists()
    # idempotent: a second call reuses the finished model and adds nothing
    assert (
        prepare_model(
            spec,
            tmp_path,
            corpus_tasks={"arithmetic": {}},
            exclude=set(),
            template="user-assistant@1",
            chat_template=True,
            seed=0,
            threads=1,
        )
        == path
    )
    assert len(AutoTokenizer.from_pretrained(path)) == len(tok)
