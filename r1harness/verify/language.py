"""Language consistency: the share of the CoT's words that are in the target language (DeepSeek-R1 §2.3.3).

Fast and offline: words are classified by Unicode script, no model. A Latin word counts once, a Han, kana or
Hangul character counts once (those scripts do not separate words with spaces). Left out before counting,
because they are not prose in any language: LaTeX commands, inline and display math (`$…$`, `\\(…\\)`,
`\\[…\\]`), code blocks, numbers, single Latin letters (variables) and Greek letters (math symbols).

Limit: languages that share a script are not told apart: for target "en" any unaccented Latin word counts as
English (a French CoT without accents would pass); accented Latin words count as "latin_other".
"""

from __future__ import annotations

import re
from collections import Counter

from r1harness.verify.extract import split_think
from r1harness.verify.verdict import Verdict

LANGUAGE_VERIFIER_VERSION = "2"  # 2: a CoT of only math/symbols is consistent, not unparseable
DEFAULT_THRESHOLD = 0.95

_NOT_PROSE = re.compile(
    r"```.*?(?:```|$)|\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]|\\[a-zA-Z]+", re.DOTALL
)
_LATIN_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_TOKEN = re.compile(
    rf"(?P<latin>[{_LATIN_LETTERS}]+(?:'[a-z]+)?)"
    r"|(?P<zh>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])"
    r"|(?P<ja>[\u3040-\u30ff])"
    r"|(?P<ko>[\uac00-\ud7af\u1100-\u11ff])"
    r"|(?P<ru>[\u0400-\u04ff]+)"
    r"|(?P<ar>[\u0600-\u06ff]+)"
)


def _classify(match: re.Match) -> str | None:
    kind = match.lastgroup
    if kind != "latin":
        return kind
    word = match.group(0)
    if word.isascii():
        return "en" if len(word) > 1 else None  # single letters are variables
    return "latin_other"


# Which token classes count as each target language.
TARGETS: dict[str, frozenset[str]] = {
    "en": frozenset({"en"}),
    "zh": frozenset({"zh"}),
    "ja": frozenset({"ja", "zh"}),  # Japanese is written with kana and kanji
    "ko": frozenset({"ko"}),
    "ru": frozenset({"ru"}),
    "ar": frozenset({"ar"}),
    "latin": frozenset({"en", "latin_other"}),  # any Latin-script language (fr, de, es, ...)
}


def word_counts(text: str) -> Counter:
    """Counts of prose words per script class ("en", "zh", "ru", ...)."""
    prose = _NOT_PROSE.sub(" ", text)
    return Counter(kind for kind in map(_classify, _TOKEN.finditer(prose)) if kind)


def language_share(text: str, target: str = "en") -> tuple[float | None, Counter]:
    """Share of `text`'s prose words in `target` (None when it has no words) and the per-script counts."""
    if target not in TARGETS:
        raise ValueError(f"unknown target language {target!r}; supported: {sorted(TARGETS)}")
    counts = word_counts(text)
    total = sum(counts.values())
    if not total:
        return None, counts
    return sum(counts[c] for c in TARGETS[target]) / total, counts


def language_consistency(
    completion: str, target: str = "en", *, threshold: float = DEFAULT_THRESHOLD
) -> Verdict:
    """Score = share of the CoT's words in `target`; correct when the share reaches `threshold`. A completion
    without a think block is measured whole. Text without prose words (only arithmetic, math or code) mixes no
    languages, so it is consistent (score 1): scoring it 0, as version 1 did, made the GRPO reward pay for
    adding words to arithmetic. Only a completion with no text at all is unparseable (score 0)."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold is a share between 0 and 1, got {threshold}")
    cot, rest = split_think(completion or "")
    scope, text = ("cot", cot) if cot else ("completion", rest)
    share, counts = language_share(text, target)
    details = {
        "share": share,
        "target": target,
        "scope": scope,
        "n_words": sum(counts.values()),
        "counts": dict(counts),
    }
    if share is None:
        if not text.strip():
            reason = f"the {scope} is empty"
            return Verdict("unparseable", 0.0, "language", LANGUAGE_VERIFIER_VERSION, None, reason, details)
        return Verdict(
            "correct",
            1.0,
            "language",
            LANGUAGE_VERIFIER_VERSION,
            None,
            f"no prose words in the {scope} (only math, numbers or code): no language mixing",
            details,
        )
    ok = share >= threshold
    reason = f"{share:.1%} of {scope} words are {target} ({'>=' if ok else '<'} {threshold:.0%})"
    return Verdict(
        "correct" if ok else "wrong",
        round(share, 6),
        "language",
        LANGUAGE_VERIFIER_VERSION,
        None,
        reason,
        details,
    )
