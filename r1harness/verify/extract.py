"""Answer extraction: which part of a completion is the model's final answer.

Policy (every verifier that needs "the answer" goes through here):
- The reasoning (CoT) is what sits inside `<think>…</think>` (or, in R1's cold-start layout, between the two
  `|special_token|` markers). Answers written inside it do not count unless `allow_in_think=True`: a model
  that boxes a guess mid-thought and then changes its mind must be graded on what it finally says.
- When a completion has a `</think>` but no `<think>` (the chat template pre-filled `<think>`), everything
  before `</think>` is the CoT. An opened but never closed `<think>` means the output was cut off inside its
  reasoning: there is no final answer.
- Sources are tried in the order given: "boxed" (the LAST `\\boxed{}`/`\\fbox{}` outside the CoT: models
  restate and correct themselves, and the last statement is the final one), "answer_tag" (the content of the
  last `<answer>…</answer>`), "summary" (the last non-empty line of the cold-start summary: the
  `<summary>…</summary>` tag, or the text after the second `|special_token|`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SOURCES = ("boxed", "answer_tag", "summary")
SPECIAL_TOKEN = "|special_token|"
_BOX_RE = re.compile(r"\\(?:boxed|fbox)\b\s*")
_ANSWER_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_SUMMARY_TAG_RE = re.compile(r"<summary>(.*?)(?:</summary>|$)", re.DOTALL)


@dataclass(frozen=True)
class Extraction:
    """The answer plus where it came from (kept in verdict details for audits)."""

    answer: str | None
    source: str | None = None
    n_boxed: int = 0  # boxed answers seen outside the CoT
    think_closed: bool = True  # False when a <think> was opened and never closed (truncated reasoning)


def split_think(text: str) -> tuple[str, str]:
    """Split a completion into (cot, rest): the reasoning and everything the model said after it.

    Handles `<think>…</think>` (pre-filled or not), an unclosed `<think>` (all of it is CoT, rest is what came
    before it), R1's `|special_token|reasoning|special_token|summary` layout, and text with no markers at all
    (no CoT; everything is `rest`)."""
    end = text.rfind("</think>")
    if end >= 0:
        cot = text[:end]
        start = cot.find("<think>")
        if start >= 0:
            cot = cot[start + len("<think>") :]
        return cot.replace("<think>", "").strip(), text[end + len("</think>") :].strip()
    start = text.find("<think>")
    if start >= 0:
        return text[start + len("<think>") :].strip(), text[:start].strip()
    if text.count(SPECIAL_TOKEN) >= 2:
        _, cot, rest = text.split(SPECIAL_TOKEN, 2)
        return cot.strip(), rest.replace(SPECIAL_TOKEN, "").strip()
    return "", text.strip()


def think_is_closed(text: str) -> bool:
    """False when the reasoning was opened but never closed (the output stopped mid-thought)."""
    return not ("<think>" in text and "</think>" not in text)


def find_boxed(text: str) -> list[str]:
    """Contents of every `\\boxed{…}` / `\\fbox{…}` (balanced braces; `\\boxed 5` too), in order."""
    out: list[str] = []
    pos = 0
    while True:
        m = _BOX_RE.search(text, pos)
        if not m:
            return out
        i = m.end()
        if i < len(text) and text[i] == "{":
            content, pos = _balanced(text, i)
            if content is None:  # unbalanced: the output was cut off inside the box
                return out
            out.append(content.strip())
        else:  # `\boxed 5`: a single token
            token = re.match(r"[^\s$]+", text[i:])
            pos = i + (token.end() if token else 1)
            if token:
                out.append(token.group(0))


def _balanced(text: str, open_at: int) -> tuple[str | None, int]:
    depth = 0
    i = open_at
    while i < len(text):
        ch = text[i]
        if ch == "\\":  # skip escaped characters such as \{ and \}
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i], i + 1
        i += 1
    return None, len(text)


def _from_summary(text: str, rest: str) -> str | None:
    tags = _SUMMARY_TAG_RE.findall(rest)
    if tags:
        rest = tags[-1]
    elif SPECIAL_TOKEN not in text:
        return None
    lines = [ln.strip() for ln in rest.splitlines() if ln.strip()]
    return lines[-1] if lines else None


def extract(text: str, *, sources: tuple[str, ...] = SOURCES, allow_in_think: bool = False) -> Extraction:
    """Extract the final answer with provenance. See the module docstring for the policy."""
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown answer sources {unknown}; choose from {SOURCES}")
    cot, rest = split_think(text)
    searched = text if allow_in_think else rest
    boxed = find_boxed(searched)
    closed = think_is_closed(text)
    for source in sources:
        answer = None
        if source == "boxed" and boxed:
            answer = boxed[-1]
        elif source == "answer_tag":
            tags = _ANSWER_TAG_RE.findall(searched)
            answer = tags[-1].strip() if tags else None
        elif source == "summary":
            answer = _from_summary(text, rest)
        if answer:
            return Extraction(answer, source, len(boxed), closed)
    return Extraction(None, None, len(boxed), closed)


def extract_answer(
    text: str, *, sources: tuple[str, ...] = SOURCES, allow_in_think: bool = False
) -> str | None:
    """The model's final answer, or None when it gave none outside its reasoning."""
    return extract(text, sources=sources, allow_in_think=allow_in_think).answer
