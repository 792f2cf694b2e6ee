"""Format rewards: does the completion follow the layout the training stage asks for?

Layouts:
- "r1zero": R1-Zero's `<think> reasoning </think> <answer> answer </answer>`: each tag exactly once, in that
  order, nothing but whitespace outside them, reasoning and answer non-empty.
- "coldstart": R1's cold-start `|special_token|<reasoning_process>|special_token|<summary>`: the marker
  exactly twice, the first at the start, non-empty reasoning and summary. The summary may be wrapped in
  `<summary>…</summary>`.
- "r1": the released R1 chat format, `<think> reasoning </think>` followed by a non-empty summary.

`think_prefilled=True` says the chat template already emitted the opening tag (`<think>` or the first
`|special_token|`), so the completion starts inside the reasoning; a repeated opening tag is then an error.
Scores are 1.0 (correct) or 0.0 (wrong); the reason names the first rule broken.
"""

from __future__ import annotations

import re

from r1harness.verify.extract import SPECIAL_TOKEN
from r1harness.verify.verdict import Verdict

FORMAT_VERIFIER_VERSION = "1"
LAYOUTS = ("r1zero", "coldstart", "r1")
_TAGS = ("<think>", "</think>", "<answer>", "</answer>")
_R1ZERO = re.compile(r"\s*<think>(.*)</think>\s*<answer>(.*)</answer>\s*", re.DOTALL)
_R1 = re.compile(r"\s*<think>(.*)</think>(.*)", re.DOTALL)


def check_format(completion: str, *, layout: str = "r1zero", think_prefilled: bool = False) -> Verdict:
    """1.0 when `completion` follows `layout`, else 0.0 with the broken rule as the reason."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown format layout {layout!r}; choose one of {LAYOUTS}")
    text = completion or ""
    problem = {"r1zero": _r1zero_problem, "coldstart": _coldstart_problem, "r1": _r1_problem}[layout](
        text, think_prefilled
    )
    status = "wrong" if problem else "correct"
    return Verdict(
        status,
        0.0 if problem else 1.0,
        f"format.{layout}",
        FORMAT_VERIFIER_VERSION,
        None,
        problem or f"follows the {layout} layout",
        {"layout": layout, "think_prefilled": think_prefilled},
    )


def _prefill(text: str, opener: str, prefilled: bool) -> tuple[str, str | None]:
    if not prefilled:
        return text, None
    if text.lstrip().startswith(opener):
        return text, f"{opener} was pre-filled by the template but the completion opens it again"
    return opener + text, None


def _r1zero_problem(text: str, prefilled: bool) -> str | None:
    text, problem = _prefill(text, "<think>", prefilled)
    if problem:
        return problem
    for tag in _TAGS:
        n = text.count(tag)
        if n != 1:
            return f"{tag} appears {n} times (expected exactly once)"
    m = _R1ZERO.fullmatch(text)
    if not m:
        return "tags out of order or text outside <think>…</think><answer>…</answer>"
    if not m.group(1).strip():
        return "empty reasoning inside <think>"
    if not m.group(2).strip():
        return "empty <answer>"
    return None


def _r1_problem(text: str, prefilled: bool) -> str | None:
    text, problem = _prefill(text, "<think>", prefilled)
    if problem:
        return problem
    for tag in ("<think>", "</think>"):
        n = text.count(tag)
        if n != 1:
            return f"{tag} appears {n} times (expected exactly once)"
    m = _R1.fullmatch(text)
    if not m:
        return "text before <think>"
    if not m.group(1).strip():
        return "empty reasoning inside <think>"
    if not m.group(2).strip():
        return "no summary after </think>"
    return None


def _coldstart_problem(text: str, prefilled: bool) -> str | None:
    text, problem = _prefill(text, SPECIAL_TOKEN, prefilled)
    if problem:
        return problem
    n = text.count(SPECIAL_TOKEN)
    if n != 2:
        return f"{SPECIAL_TOKEN} appears {n} times (expected exactly twice)"
    head, reasoning, summary = text.split(SPECIAL_TOKEN)
    if head.strip():
        return f"text before the first {SPECIAL_TOKEN}"
    if not reasoning.strip():
        return "empty reasoning process"
    summary = summary.strip()
    if summary.startswith("<summary>"):
        if not summary.endswith("</summary>"):
            return "<summary> is not closed"
        summary = summary[len("<summary>") : -len("</summary>")]
    if not summary.strip():
        return "empty summary"
    return None
