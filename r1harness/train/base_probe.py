"""Before spending GRPO time on a base: can it answer correctly *in the format*?

R1-Zero's accuracy reward needs the answer inside `<answer>` tags, so GRPO can only raise accuracy through
the samples in which the base happens to use the format. If the base's formatted mode is incompetent, those
samples are wrong and the reward has nothing to reinforce — which is how the first two R1-Zero miniatures
failed (reports/r1zero_tiny/README.md). This probe decodes the base greedily twice on held-out prompts: as it
answers unprompted, and with its completion forced to open `<think>`; it grades both with the same verifiers
the rewards use.
"""

from __future__ import annotations

from pathlib import Path


def probe_base(
    model_dir: str | Path,
    rows: list[dict],
    template: str,
    *,
    opener: str = "<think>",
    max_new_tokens: int = 64,
    batch_size: int = 50,
) -> dict:
    """{"unprompted": {...}, "forced_format": {...}} with format, accuracy (math verifier on `<answer>`) and
    format-blind accuracy (last integer) over `rows` (prompts rows with "problem" and "answer")."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1harness.templates import render_text
    from r1harness.train.evaluate import generate_texts
    from r1harness.verify.batch import format_batch
    from r1harness.verify.final_number import verify_final_number_batch
    from r1harness.verify.math import verify_math_batch

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    greedy = {"greedy": True, "max_new_tokens": max_new_tokens}
    result = {}
    for mode, prefix in (("unprompted", ""), ("forced_format", opener)):
        completions = []
        for i in range(0, len(rows), batch_size):
            prompts = [render_text(template, r["problem"]) + prefix for r in rows[i : i + batch_size]]
            completions += [prefix + t for t in generate_texts(model, tokenizer, prompts, greedy, 1)[0]]
        result[mode] = {
            "format": _mean(format_batch(completions, rows)),
            "accuracy": _mean(verify_math_batch(completions, rows, workers=0)),
            "format_blind_accuracy": _mean(verify_final_number_batch(completions, rows)),
            "example": completions[0][:200],
        }
    return {"prompts": len(rows), "template": template, **result}


def _mean(verdicts) -> float:
    scores = [v.score or 0.0 for v in verdicts]
    return round(sum(scores) / len(scores), 4) if scores else 0.0
