"""Starting models for a pipeline: a hub id / local folder as is, or a tiny *base* model built here.

A tiny base model is built with the tiny-model kit (`r1harness.train.tiny_model`) and pretrained briefly on
the plain-text corpus (`r1harness.tasks.corpus`, held-out problems excluded), so it has seen the tasks in
prose and only rarely in the `<think>/<answer>` layout: R1-Zero has a format to discover.

Its chat template is set to the pipeline's prompt template (user turn = the template around the problem,
assistant turn after it), so an SFT on chat messages (cold start, second SFT, distillation) trains exactly
the text GRPO prompts with and evaluation samples from: one prompt distribution through every stage, as
the paper's model sees one chat format.
"""

from __future__ import annotations

import json
from pathlib import Path

from r1harness.pipeline.config import ModelSpec

DONE_FILE = "r1h_model_ready.json"
LAYOUT_TOKENS = ("|special_token|",)  # R1's cold-start layout marker (r1harness/curate/messages.py)


def prompt_chat_template(template: str) -> str:
    """A chat template rendering [user, assistant] as the prompt template around the user's problem,
    followed by " " + the answer + EOS (the assistant turn is marked for completion-only loss)."""
    from r1harness.templates import text_template

    prefix, suffix = text_template(template).around()
    return (
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'user' -%}"
        "{{ " + json.dumps(prefix) + " + message['content'] + " + json.dumps(suffix) + " }}"
        "{%- elif message['role'] == 'assistant' -%}"
        "{% generation %}{{ ' ' + message['content'] + eos_token }}{% endgeneration %}"
        "{%- endif -%}"
        "{%- endfor -%}"
    )


def prepare_model(
    spec: ModelSpec,
    out_dir: Path,
    *,
    corpus_tasks: dict[str, dict],
    exclude: set[str],
    template: str,
    chat_template: bool,
    seed: int,
    threads: int | None,
) -> str:
    """The path (or hub id) of the starting model; builds and pretrains a tiny one when asked.

    Idempotent: a finished build leaves a marker file and is reused; a half-built folder is rebuilt."""
    if not spec.is_tiny:
        return spec.model
    final = out_dir / "model"
    if (final / DONE_FILE).exists():
        return str(final)
    from r1harness.train.tiny_model import init_tiny_model

    init_dir = out_dir / "init"
    docs = None
    if spec.pretrain is not None:
        docs = pretraining_documents(
            spec.pretrain, corpus_tasks=corpus_tasks, exclude=exclude, template=template, seed=seed
        )
    # tokenizer_docs: train the tokenizer on the first N corpus documents (the aligned layout relies on the
    # prose words it replaces being single tokens); default: the tiny-model kit's own corpus.
    tok_docs = int((spec.pretrain or {}).get("tokenizer_docs", 0))
    init_tiny_model(init_dir, seed=seed, corpus=docs[:tok_docs] if docs and tok_docs else None, **spec.tiny)
    model_dir = init_dir
    if docs is not None:
        from r1harness.train.pretrain import pretrain

        trl = spec.pretrain.get("trl", {})
        model_dir = pretrain(init_dir, docs, final, seed=seed, threads=threads, **trl)
    _finish(Path(model_dir), final, template if chat_template else None)
    return str(final)


def pretraining_documents(
    opts: dict, *, corpus_tasks: dict[str, dict], exclude: set[str], template: str, seed: int
) -> list[str]:
    """A tiny base's pretraining corpus (`pretrain:` keys of a ModelSpec): the tasks in prose, a
    `format_share` of documents in the R1 layout, each after the pipeline's prompt, held-out problems out."""
    from r1harness.tasks.corpus import pretraining_corpus

    return pretraining_corpus(
        int(opts.get("docs", 4000)),
        int(opts.get("seed", seed)),
        format_share=float(opts.get("format_share", 0.05)),
        layout=opts.get("layout", "spaced"),
        passes=int(opts.get("passes", 1)),
        traces=opts.get("traces"),
        tasks=corpus_tasks,
        template=template,
        exclude_problems=frozenset(exclude),
    )


def _finish(model_dir: Path, final: Path, template: str | None) -> None:
    from transformers import AutoTokenizer

    if model_dir != final:  # no pretraining: the initialised model is the base
        import shutil

        shutil.copytree(model_dir, final, dirs_exist_ok=True)
    add_layout_tokens(final)
    if template:
        tok = AutoTokenizer.from_pretrained(final)
        tok.chat_template = prompt_chat_template(template)
        tok.save_pretrained(final)
    (final / DONE_FILE).write_text(json.dumps({"chat_template": template}) + "\n")


def add_layout_tokens(model_dir: Path) -> int:
    """Give R1's cold-start marker one token of its own, as it has in DeepSeek's vocabulary (the tiny
    tokenizer already has `<think>`/`<answer>` as single tokens). Byte-level BPE splits `|special_token|`
    into 14 pieces; a cold-start SFT of the 1M-parameter base on them garbled the marker at lr 3e-4, and at
    lr 1e-3 learned it but forgot its arithmetic (held-out greedy 0.00); as one new token (embedding
    initialised at the mean) the same SFT scored 0.52 (reports/LOG.md, 2026-11-26). Returns tokens added."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    missing = [t for t in LAYOUT_TOKENS if t not in tok.get_vocab()]
    if not missing:
        return 0
    tok.add_tokens(missing, special_tokens=False)  # not special: decoding keeps it, rewards see it
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    model.resize_token_embeddings(len(tok))
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    return len(missing)
