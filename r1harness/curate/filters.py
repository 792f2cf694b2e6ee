"""Row filters of a recipe, as Polars expressions over the measured candidates (see textstats.py).

FILTERS is a plain registry: filter name -> function(spec) -> boolean expression that is True for rows
that pass. A filter applies only to rows in its scope (reasoning = every domain but general); rows out of
scope pass it untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from r1harness.curate.recipe import GENERAL, FilterSpec


def _correct(spec: FilterSpec) -> pl.Expr:
    return (pl.col("verdict_status") == "correct") & (pl.col("verdict_score") >= spec.get("min_score"))


def _not_truncated(spec: FilterSpec) -> pl.Expr:
    return ~pl.col("truncated")


def _length(spec: FilterSpec) -> pl.Expr:
    return pl.col("completion_chars").is_between(spec.get("min_chars"), spec.get("max_chars"))


def _mixed_language(spec: FilterSpec) -> pl.Expr:
    return pl.col("mixed_language") <= spec.get("max_other_language_share")


def _long_paragraph(spec: FilterSpec) -> pl.Expr:
    return pl.col("long_paragraph") <= spec.get("max_chars")


def _code_in_cot(spec: FilterSpec) -> pl.Expr:
    return pl.col("code_in_cot") <= spec.get("max_code_blocks")


def _repetition(spec: FilterSpec) -> pl.Expr:
    return pl.col("repetition") <= spec.get("max_repeated_ngram_share")


def _accepted(spec: FilterSpec) -> pl.Expr:
    ok = pl.col("label").is_in(["accept", "edit"])
    annotator = spec.get("annotator")
    return ok & (pl.col("annotator") == annotator) if annotator else ok


FILTERS: dict[str, Callable[[FilterSpec], pl.Expr]] = {
    "correct": _correct,
    "not_truncated": _not_truncated,
    "length": _length,
    "mixed_language": _mixed_language,
    "long_paragraph": _long_paragraph,
    "code_in_cot": _code_in_cot,
    "repetition": _repetition,
    "accepted": _accepted,
}


# Filters whose measurement costs several passes over the text: measured only for rows that pass every
# other filter, and applied after them (the funnel shows the order actually used).
EXPENSIVE = ("mixed_language", "repetition")


def ordered(specs) -> list[FilterSpec]:
    """Cheap filters first (recipe order), then the expensive ones (recipe order)."""
    return [s for s in specs if s.name not in EXPENSIVE] + [s for s in specs if s.name in EXPENSIVE]


def in_scope(scope: str) -> pl.Expr:
    if scope == "reasoning":
        return pl.col("domain") != GENERAL
    if scope == "general":
        return pl.col("domain") == GENERAL
    return pl.lit(True)


def passes(spec: FilterSpec) -> pl.Expr:
    """True for rows that pass `spec` (null measurements fail: a missing verdict is not a pass)."""
    return (~in_scope(spec.scope)) | FILTERS[spec.name](spec).fill_null(False)
