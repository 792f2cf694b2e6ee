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
- Every box outside the CoT is kept in `Extraction.boxes`: the math verifier joins the last few when the gold
  has that many values (its several-boxes policy, see math.py).
- A `$` inside a box is dropped (the box is already math, so `\\boxed{5$}` or `\\boxed{$\\frac12$}` carry
  stray delimiters); an escaped `\\$` (currency) stays.
- Presets (`PRESETS`; chosen per benchmark spec and by `r1h grade --extract`) name a whole policy: `r1` is the
  rules above (the R1 protocol, the default); `lenient` (for outputs of other harnesses and prompts) takes a
  "final answer is …" written after the last box (the box was an intermediate result), then the rules
  above, then "final answer is …", "the answer is …" / "Answer: …", `#### N`, an output that is one bare
  formula, and finally the last `$…$` math span or number, whichever comes later; `gsm8k-strict-match` and
  `gsm8k-flexible-extract` reproduce lm-eval's GSM8K filters (lm_eval/tasks/gsm8k/gsm8k.yaml: the first
  `#### N`; the last number-like token), on the whole output as lm-eval applies them.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass

SOURCES = ("boxed", "answer_tag", "summary")  # the r1 preset
LENIENT_SOURCES = ("final_answer", "answer_is", "hash_answer", "formula", "last_value")
LMEVAL_SOURCES = ("gsm8k_strict", "gsm8k_flexible")
ALL_SOURCES = ("final_after_box",) + SOURCES + LENIENT_SOURCES + LMEVAL_SOURCES
SPECIAL_TOKEN = "|special_token|"
_BOX_RE = re.compile(r"\\(?:boxed|fbox)\b\s*")
_ANSWER_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_SUMMARY_TAG_RE = re.compile(r"<summary>(.*?)(?:</summary>|$)", re.DOTALL)
_STRAY_DOLLAR = re.compile(r"(?<!\\)\$")
# lenient: a phrase that introduces the final answer (the last one wins), then the rest of its line
_FINAL_ANSWER_RE = re.compile(r"(?i)\bfinal\s+answer\s*(?:is|:|=)\s*:?[ \t]*([^\n]+)")
_ANSWER_IS_RE = re.compile(r"(?i)\b(?:the\s+(?:correct\s+)?answer\s+is|answer\s*:)[ \t]*:?[ \t]*([^\n]+)")
_HASH_ANSWER_RE = re.compile(r"####[ \t]*([^\n]+)")
# display math may span lines; inline `$…$` / `\\(…\\)` may not (a stray currency `$` must not pair with one
# paragraphs later; math-verify reads inline math the same way)
_MATH_SPAN_RE = re.compile(
    r"\$\$([\s\S]+?)\$\$|(?<!\\)\$((?:\\\$|[^$\n])+?)(?<!\\)\$|\\\(([^\n]+?)\\\)|\\\[([\s\S]+?)\\\]"
)
# a number or a simple fraction `2/3`, not glued to a word before it (not the 2 of "AZ2A")
_NUMBER_RE = re.compile(r"(?<![A-Za-z\d.])(?:-?\d+(?:\.\d+)?\s*/\s*\d+(?!\.\d)|-?\d[\d,]*(?:\.\d+)?|-?\.\d+)")
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
_NESTED_PHRASE = re.compile(r"(?i)^\s*(?:the\s+)?(?:final\s+)?answer\s*(?:is|:)\s*:?\s*")
_LIST_GAPS = re.compile(r"(?:\s|[,;\\\"']|\band\b|\bor\b)*")
_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+(?:\{[a-zA-Z*]*\})?")
# lm-eval 0.4 gsm8k.yaml filter_list: strict-match takes the first match, flexible-extract the last
# (group_select: -1); RegexFilter keeps the first non-empty group of a match.
_GSM8K_STRICT_RE = re.compile(r"#### (\-?[0-9\.\,]+)")
_GSM8K_FLEXIBLE_RE = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")


@dataclass(frozen=True)
class Extraction:
    """The answer plus where it came from (kept in verdict details for audits)."""

    answer: str | None
    source: str | None = None
    n_boxed: int = 0  # boxed answers seen outside the CoT
    think_closed: bool = True  # False when a <think> was opened and never closed (truncated reasoning)
    boxes: tuple[str, ...] = ()  # every boxed answer outside the CoT, in order


@dataclass(frozen=True)
class ExtractPreset:
    """A named extraction policy: the sources tried in order and where they look."""

    name: str
    sources: tuple[str, ...]
    allow_in_think: bool = False
    whole_text: bool = False  # search the whole output, reasoning included (lm-eval's filters do)
    summary: str = ""


PRESETS: dict[str, ExtractPreset] = {
    p.name: p
    for p in (
        ExtractPreset("r1", SOURCES, summary="last \\boxed{} outside <think>, else <answer>, else summary"),
        ExtractPreset(
            "lenient",
            ("final_after_box",) + SOURCES + LENIENT_SOURCES,
            summary="'final answer is ...' after the last box, r1's rules, then 'final answer is ...', "
            "'the answer is ...', '#### N', a bare formula, the last $math$ span or number",
        ),
        ExtractPreset(
            "gsm8k-strict-match", ("gsm8k_strict",), whole_text=True, summary="lm-eval GSM8K: first '#### N'"
        ),
        ExtractPreset(
            "gsm8k-flexible-extract",
            ("gsm8k_flexible",),
            whole_text=True,
            summary="lm-eval GSM8K: the last number-like token",
        ),
    )
}
DEFAULT_PRESET = "r1"


def get_preset(name: str) -> ExtractPreset:
    """The preset called `name`; a ValueError listing the presets when unknown."""
    preset = PRESETS.get(name)
    if preset is None:
        raise ValueError(f"unknown extraction preset {name!r}; choose from {', '.join(PRESETS)}")
    return preset


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
    return [content for _, _, content in find_boxed_spans(text)]


def find_boxed_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every box, in order; a box cut off before its closing brace ends the list."""
    out: list[tuple[int, int, str]] = []
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
            out.append((m.start(), pos, content.strip()))
        else:  # `\boxed 5`: a single token
            token = re.match(r"[^\s$]+", text[i:])
            pos = i + (token.end() if token else 1)
            if token:
                out.append((m.start(), pos, token.group(0)))


_CONNECTOR = re.compile(
    r"(?:[^A-Za-z\\]|\\(?![A-Za-z])|\\quad|\\qquad|\\text\{\s*(?:and|or|,)?\s*\}|\band\b|\bor\b)*"
)


def last_box_run(text: str) -> list[str]:
    """The trailing run of boxes written as one list answer: boxes separated by no words but "and" / "or"
    (symbols, spacing, math delimiters, `\\quad`): `\\boxed{1}, \\boxed{2}` and
    `\\(\\boxed{1}\\) and \\(\\boxed{-2}\\)` are lists, `\\boxed{1} no, \\boxed{2}` is not. Empty: no box."""
    spans = find_boxed_spans(text)
    run = spans[-1:]
    for prev in reversed(spans[:-1]):
        gap = text[prev[1] : run[0][0]]
        if not _CONNECTOR.fullmatch(gap):
            break
        run.insert(0, prev)
    return [clean_box(content) for _, _, content in run]


def clean_box(content: str) -> str:
    """A box's content without stray `$` (the box is already math); an escaped `\\$` stays."""
    return _STRAY_DOLLAR.sub("", content).strip()


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
    unknown = [s for s in sources if s not in ALL_SOURCES]
    if unknown:
        raise ValueError(f"unknown answer sources {unknown}; choose from {ALL_SOURCES}")
    _, rest = split_think(text)
    searched = text if allow_in_think else rest
    boxed = tuple(b for b in map(clean_box, find_boxed(searched)) if b)
    closed = think_is_closed(text)
    for source in sources:
        answer = _from_source(source, text, rest, searched, boxed)
        if answer:
            return Extraction(answer, source, len(boxed), closed, boxed)
    return Extraction(None, None, len(boxed), closed, boxed)


def extract_with_preset(text: str, preset: str | ExtractPreset = DEFAULT_PRESET) -> Extraction:
    """Extract with a named preset (see PRESETS)."""
    p = get_preset(preset) if isinstance(preset, str) else preset
    if p.whole_text:  # lm-eval reads the raw output: no reasoning split, no truncation rule
        for source in p.sources:
            answer = _from_source(source, text, text, text, ())
            if answer:
                return Extraction(answer, source)
        return Extraction(None)
    return extract(text, sources=p.sources, allow_in_think=p.allow_in_think)


def _from_source(source: str, text: str, rest: str, searched: str, boxed: tuple[str, ...]) -> str | None:
    if source == "boxed":
        return boxed[-1] if boxed else None
    if source == "answer_tag":
        tags = _ANSWER_TAG_RE.findall(searched)
        return tags[-1].strip() if tags else None
    if source == "summary":
        return _from_summary(text, rest)
    if source in ("final_answer", "answer_is", "hash_answer"):
        pattern = {"final_answer": _FINAL_ANSWER_RE, "answer_is": _ANSWER_IS_RE}.get(source, _HASH_ANSWER_RE)
        found = pattern.findall(searched)
        return _answer_phrase(found[-1]) if found else None
    if source == "final_after_box":  # "\\boxed{255} ... The final answer is $10,455$": the statement wins
        found = list(_FINAL_ANSWER_RE.finditer(searched))
        last_box = find_boxed_spans(searched)[-1:]
        if found and last_box and found[-1].start() > last_box[0][1]:
            return _answer_phrase(found[-1].group(1))
        return None
    if source == "formula":
        return _formula(searched)
    if source == "last_value":
        return _last_value(searched)
    if source in LMEVAL_SOURCES:
        return _lmeval_gsm8k(source, searched)
    raise AssertionError(source)  # sources are validated by the callers


def _answer_phrase(tail: str) -> str | None:
    """The answer after "the answer is": the first sentence when it is a bare formula ("1, 2"), else the
    last math span or number in it ("The largest $n$ is 34." -> 34; "$4$ apples" -> 4)."""
    tail = _NESTED_PHRASE.sub("", tail)  # "Final Answer: The final answer is $5$"
    cut = _SENTENCE_END.search(tail)
    sentence = (tail[: cut.start()] if cut else tail).strip().strip("*").strip().rstrip(".,;:").strip()
    if not sentence:
        return None
    if _formula(sentence) or _MATH_SPAN_RE.fullmatch(sentence):
        return _unwrap(sentence)
    spans = _MATH_SPAN_RE.findall(sentence)
    if len(spans) > 1 and _LIST_GAPS.fullmatch(_MATH_SPAN_RE.sub("", sentence)):  # "$12$ and $13$": a list
        return ", ".join(next(g for g in groups if g).strip() for groups in spans)
    return _last_value(sentence) or sentence


def _last_value(text: str) -> str | None:
    """The last math span or plain number (a number inside a span belongs to the span), whichever is later."""
    last_span = collections.deque(_MATH_SPAN_RE.finditer(text), maxlen=1)
    last_span = last_span[0] if last_span else None
    last_number = None
    for m in _NUMBER_RE.finditer(text, last_span.end() if last_span else 0):
        last_number = m  # the last number after the last span (earlier ones lose to the span anyway)
    if last_number is not None:
        return last_number.group(0).rstrip(",")
    return _unwrap(last_span.group(0)) or None if last_span else None


def _unwrap(span: str) -> str:
    m = _MATH_SPAN_RE.fullmatch(span.strip())
    return next(g for g in m.groups() if g is not None).strip() if m else span


def _formula(rest: str) -> str | None:
    """The whole output when it is one short line of math (`\\frac{1}{2}`, `x = 5`, `1,000`), not prose."""
    lines = [ln.strip() for ln in rest.strip().splitlines() if ln.strip()]
    if len(lines) != 1 or len(lines[0]) > 200:
        return None
    bare = _LATEX_COMMAND.sub(" ", lines[0])
    if _PROSE_WORD.search(bare) or not re.search(r"[\d\\]", lines[0]):
        return None
    return lines[0]


def _lmeval_gsm8k(source: str, text: str) -> str | None:
    matches = (_GSM8K_STRICT_RE if source == "gsm8k_strict" else _GSM8K_FLEXIBLE_RE).findall(text)
    if not matches:
        return None
    match = matches[0] if source == "gsm8k_strict" else matches[-1]
    if isinstance(match, tuple):
        match = next((m for m in match if m), "")
    return match.strip() or None


def extract_answer(
    text: str, *, sources: tuple[str, ...] = SOURCES, allow_in_think: bool = False, preset: str | None = None
) -> str | None:
    """The model's final answer, or None when it gave none outside its reasoning. A `preset` (see PRESETS)
    replaces `sources` and `allow_in_think`."""
    if preset is not None:
        return extract_with_preset(text, preset).answer
    return extract(text, sources=sources, allow_in_think=allow_in_think).answer
