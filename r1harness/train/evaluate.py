"""Held-out evaluation during (and before) training: sample k completions per prompt, grade them with the
run's reward components; store_log.EvalLog writes them to the store as `eval`-stage rollouts with their
step, so SQL over the store reproduces accuracy-vs-step curves on prompts the policy never trained on."""

from __future__ import annotations

from r1harness.templates import render_text


def evaluate_policy(
    model,
    tokenizer,
    prompts: list[dict],
    components,
    *,
    template: str,
    samples: int,
    temperature: float,
    top_p: float,
    greedy: bool,
    max_new_tokens: int,
    batch_size: int = 256,
) -> list[dict]:
    """Generate and grade; returns one dict per completion (prompt row, text, ids, finish, verdicts)."""
    out = []
    decodings = ([{"greedy": True, "max_new_tokens": max_new_tokens}] if greedy else []) + (
        [{"temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens}] if samples else []
    )
    for decoding in decodings:
        k = 1 if decoding.get("greedy") else samples
        for start in range(0, len(prompts), max(1, batch_size // k)):
            chunk = prompts[start : start + max(1, batch_size // k)]
            texts, ids, finished = generate_texts(
                model, tokenizer, [render_text(template, p["problem"]) for p in chunk], decoding, k
            )
            rows = [p for p in chunk for _ in range(k)]
            verdicts = {c.spec.name: c.score(texts, _refs(rows)) for c in components}
            for i, (row, text) in enumerate(zip(rows, texts)):
                out.append(
                    {
                        "prompt": row,
                        "text": text,
                        "tokens": ids[i],
                        "finished": finished[i],
                        "sample_index": i % k,
                        "sampling": decoding,
                        "verdicts": {name: v[i] for name, v in verdicts.items()},
                    }
                )
    return out


def generate_texts(model, tokenizer, prompt_texts: list[str], decoding: dict, k: int):
    """k completions per prompt text (left-padded batch): texts, token ids, whether each ended with EOS."""
    import torch

    enc = tokenizer(
        prompt_texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
    ).to(model.device)
    kwargs = dict(
        max_new_tokens=decoding["max_new_tokens"],
        num_return_sequences=k,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    if decoding.get("greedy"):
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    else:
        kwargs.update(do_sample=True, temperature=decoding["temperature"], top_p=decoding["top_p"], top_k=0)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            seqs = model.generate(**enc, **kwargs)
    finally:
        model.train(was_training)
    completion = seqs[:, enc["input_ids"].shape[1] :]
    texts, ids, finished = [], [], []
    for row in completion.tolist():
        if tokenizer.eos_token_id in row:
            row = row[: row.index(tokenizer.eos_token_id)]
            finished.append(True)
        else:
            row = [t for t in row if t != tokenizer.pad_token_id]
            finished.append(False)
        ids.append(row)
        texts.append(tokenizer.decode(row, skip_special_tokens=True))
    return texts, ids, finished


def _refs(rows: list[dict]) -> list[dict]:
    from r1harness.train.rewards import REFERENCE_COLUMNS, references

    cols = {c: [r.get(c) for r in rows] for c in REFERENCE_COLUMNS}
    return references(cols, len(rows))
