"""The "final_number" verifier: a format-blind probe for the synthetic arithmetic task.

R1-Zero's accuracy reward needs the answer in `<answer>` tags, so it rises with format adoption alone; this
verifier asks only whether the last integer of the completion is the gold answer.
"""

from __future__ import annotations

import re

from r1harness.verify.verdict import Verdict

FINAL_NUMBER_VERSION = "1"
_INT = re.compile(r"-?\d+")


def verify_final_number_batch(completions: list[str], references: list[dict], **_options) -> list:
    """Format-blind skill probe: is the LAST integer in the completion the gold answer?

    R1-Zero's accuracy reward needs the answer in `<answer>` tags, so it rises with format adoption alone.
    This measures whether the arithmetic itself got better (verifier name "final_number")."""
    out = []
    for text, ref in zip(completions, references, strict=True):
        numbers = _INT.findall(text or "")
        if not numbers:
            out.append(Verdict("unparseable", 0.0, "final_number", FINAL_NUMBER_VERSION, reason="no integer"))
            continue
        ok = ref.get("answer") is not None and numbers[-1] == str(ref["answer"]).strip()
        out.append(
            Verdict(
                "correct" if ok else "wrong",
                1.0 if ok else 0.0,
                "final_number",
                FINAL_NUMBER_VERSION,
                extracted=numbers[-1],
            )
        )
    return out


verify_final_number_batch.version = FINAL_NUMBER_VERSION  # what scoring stamps on its verdicts
