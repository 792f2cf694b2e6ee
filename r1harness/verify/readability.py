"""Readability filters for rejection sampling (DeepSeek-R1 §2.3.3 drops "chain-of-thought with mixed
languages, long paragraphs, and code blocks"; we add truncation and degenerate repetition).

Each check returns a Verdict: "correct" (score 1.0) = the completion passes the filter, "wrong" (0.0) = it
should be dropped. The measured value is always in `details["value"]` (with the threshold next to it), so
curation can filter in SQL with its own cut-off, e.g.
`json_extract(details, '$.value')::DOUBLE < 0.1 WHERE verifier = 'readability.repetition'`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from r1harness.configs import check_keys, field_names
from r1harness.errors import ConfigError
from r1harness.verify.extract import extract_answer, split_think, think_is_closed
from r1harness.verify.language import TARGETS, word_counts
from r1harness.verify.verdict import Verdict

READABILITY_VERIFIER_VERSION = "1"
CHECKS = ("mixed_language", "long_paragraph", "code_in_cot", "truncated", "repetition")
_FENCE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)
_TOKENS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|\w+|[^\w\s]")


@dataclass(frozen=True)
class ReadabilityThresholds:
    max_other_language_share: float = 0.05  # words outside the CoT's dominant language
    max_paragraph_chars: int = 3000  # one paragraph (blank-line separated) longer than this fails
    max_code_blocks: int = 0  # fenced code blocks allowed in the CoT
    repetition_ngram: int = 10  # n of the token n-grams used to measure repetition
    max_repeated_ngram_share: float = 0.3  # share of n-grams that repeat an earlier one

    def __post_init__(self):
        for name in ("max_other_language_share", "max_repeated_ngram_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(
                    f"readability threshold {name} is a share between 0 and 1, got {getattr(self, name)}"
                )
        for name in ("max_paragraph_chars", "max_code_blocks", "repetition_ngram"):
            if getattr(self, name) < (1 if name == "repetition_ngram" else 0):
                raise ConfigError(
                    f"readability threshold {name} must be a positive count, got {getattr(self, name)}"
                )

    @classmethod
    def from_options(cls, options: dict) -> ReadabilityThresholds:
        check_keys(options, field_names(cls), "", noun="readability thresholds", label="known:")
        return cls(**options)


def _verdict(check: str, passed: bool, value, reason: str, **extra) -> Verdict:
    return Verdict(
        "correct" if passed else "wrong",
        1.0 if passed else 0.0,
        f"readability.{check}",
        READABILITY_VERIFIER_VERSION,
        None,
        reason,
        {"value": value, **extra},
    )


def mixed_language(cot: str, t: ReadabilityThresholds) -> Verdict:
    counts = word_counts(cot)
    total = sum(counts.values())
    if not total:
        return _verdict("mixed_language", True, 0.0, "no words to measure", dominant=None)
    dominant, best = max(
        ((lang, sum(counts[c] for c in classes)) for lang, classes in TARGETS.items()), key=lambda kv: kv[1]
    )
    other = 1.0 - best / total
    ok = other <= t.max_other_language_share
    return _verdict(
        "mixed_language",
        ok,
        round(other, 6),
        f"{other:.1%} of words are not {dominant}",
        dominant=dominant,
        threshold=t.max_other_language_share,
    )


def long_paragraph(text: str, t: ReadabilityThresholds) -> Verdict:
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    longest = max((len(p.strip()) for p in paragraphs), default=0)
    ok = longest <= t.max_paragraph_chars
    return _verdict(
        "long_paragraph",
        ok,
        longest,
        f"longest paragraph has {longest} characters",
        n_paragraphs=len(paragraphs),
        threshold=t.max_paragraph_chars,
    )


def code_in_cot(cot: str, t: ReadabilityThresholds) -> Verdict:
    blocks = (len(_FENCE.findall(cot)) + 1) // 2  # an unclosed fence still opens a block
    ok = blocks <= t.max_code_blocks
    return _verdict(
        "code_in_cot", ok, blocks, f"{blocks} code block(s) in the reasoning", threshold=t.max_code_blocks
    )


def truncated(text: str, rest: str, finish_reason: str | None) -> Verdict:
    closed = think_is_closed(text)
    has_answer = extract_answer(text) is not None or bool(rest.strip())
    cut = finish_reason == "length" or not closed or not has_answer
    why = (
        "stopped at the length limit"
        if finish_reason == "length"
        else "reasoning never closed"
        if not closed
        else "no final answer"
        if not has_answer
        else "complete"
    )
    return _verdict(
        "truncated",
        not cut,
        bool(cut),
        why,
        finish_reason=finish_reason,
        think_closed=closed,
        has_answer=has_answer,
    )


def repetition(text: str, t: ReadabilityThresholds) -> Verdict:
    tokens = _TOKENS.findall(text)
    n = t.repetition_ngram
    grams = [tuple(tokens[i : i + n]) for i in range(max(0, len(tokens) - n + 1))]
    share = 1.0 - len(set(grams)) / len(grams) if grams else 0.0
    ok = share <= t.max_repeated_ngram_share
    return _verdict(
        "repetition",
        ok,
        round(share, 6),
        f"{share:.1%} of {n}-grams repeat an earlier one",
        n_tokens=len(tokens),
        threshold=t.max_repeated_ngram_share,
    )


def readability_checks(
    completion: str, *, finish_reason: str | None = None, **thresholds
) -> dict[str, Verdict]:
    """Every readability check on one completion, keyed by check name (see CHECKS)."""
    t = ReadabilityThresholds.from_options(thresholds)
    text = completion or ""
    cot, rest = split_think(text)
    return {
        "mixed_language": mixed_language(cot or rest, t),
        "long_paragraph": long_paragraph(text, t),
        "code_in_cot": code_in_cot(cot, t),
        "truncated": truncated(text, rest, finish_reason),
        "repetition": repetition(text, t),
    }


def combine(checks: dict[str, Verdict]) -> Verdict:
    """One verdict for all checks: correct only when every check passes; details keep each measured value."""
    failed = [name for name, v in checks.items() if v.status != "correct"]
    details = {"failed": failed, "checks": {name: v.details for name, v in checks.items()}}
    reason = (
        "passes every readability check"
        if not failed
        else "; ".join(f"{name}: {checks[name].reason}" for name in failed)
    )
    return Verdict(
        "wrong" if failed else "correct",
        0.0 if failed else 1.0,
        "readability",
        READABILITY_VERIFIER_VERSION,
        None,
        reason,
        details,
    )
