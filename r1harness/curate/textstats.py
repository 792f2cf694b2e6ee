"""Vectorised readability measurements: Polars column expressions equal to the per-row verifiers.

Curation runs over millions of rollouts, so the measurements of `r1harness.verify.readability` (and the CoT
split of `verify.extract.split_think`) are re-expressed here as column expressions, with no Python per row.
They measure the same values (tests/test_curate_filters.py checks it case by case):

- mixed_language: 1 - (words of the CoT's dominant language) / (all prose words), after removing math,
  LaTeX commands and code; Han/kana/Hangul characters count as words, single ASCII letters (variables) not;
- long_paragraph: characters of the longest blank-line-separated paragraph of the whole completion;
- code_in_cot: fenced code blocks (``` or ~~~ at a line start) in the CoT;
- truncated: finish_reason "length", a `<think>` never closed, or nothing after the reasoning;
- repetition: share of token 10-grams (a Han/kana/Hangul char, a word, or a punctuation mark per token) of
  the whole completion that repeat an earlier one.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from r1harness.curate.ngrams import WordHashes, ngram_hashes

SPECIAL_TOKEN = "|special_token|"
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_ACCENTED = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_NOT_PROSE = r"(?s)```.*?(?:```|$)|\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]|\\[a-zA-Z]+"
_ZH = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_JA = "\u3040-\u30ff"
_KO = "\uac00-\ud7af\u1100-\u11ff"
REPETITION_TOKENS = r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|\w+|[^\w\s]"


def split_think_exprs(col: str = "completion") -> tuple[pl.Expr, pl.Expr]:
    """(cot, rest) exactly as verify.extract.split_think: last `</think>` closes the CoT; an unclosed
    `<think>` makes everything after it CoT; R1's `|special_token|` layout; otherwise no CoT."""
    c = pl.col(col).fill_null("")
    has_close = c.str.contains("</think>", literal=True)
    has_open = c.str.contains("<think>", literal=True)
    before_close = c.str.extract(r"(?s)^(.*)</think>", 1)
    after_close = c.str.extract(r"(?s)^.*</think>(.*)$", 1)
    closed_cot = before_close.str.replace(r"(?s)^.*?<think>", "").str.replace_all("<think>", "", literal=True)
    parts = c.str.splitn("<think>", 2)
    special = c.str.splitn(SPECIAL_TOKEN, 3)
    has_special = c.str.count_matches(SPECIAL_TOKEN, literal=True) >= 2
    cot = (
        pl.when(has_close)
        .then(closed_cot)
        .when(has_open)
        .then(parts.struct.field("field_1"))
        .when(has_special)
        .then(special.struct.field("field_1"))
        .otherwise(pl.lit(""))
    )
    rest = (
        pl.when(has_close)
        .then(after_close)
        .when(has_open)
        .then(parts.struct.field("field_0"))
        .when(has_special)
        .then(special.struct.field("field_2").str.replace_all(SPECIAL_TOKEN, "", literal=True))
        .otherwise(c)
    )
    return cot.str.strip_chars(), rest.str.strip_chars()


def _count(text: pl.Expr, pattern: str) -> pl.Expr:
    return text.str.count_matches(pattern).cast(pl.Int64)


def other_language_share_expr(text: pl.Expr) -> pl.Expr:
    prose = text.str.replace_all(_NOT_PROSE, " ")
    accented_word = rf"[{_LATIN}]*[{_ACCENTED}][{_LATIN}]*(?:'[a-z]+)?"
    latin_other = _count(prose, accented_word)
    ascii_only = prose.str.replace_all(accented_word, " ")
    ascii_words = _count(ascii_only, r"[A-Za-z]+(?:'[a-z]+)?")
    singles = _count(ascii_only.str.replace_all(r"[A-Za-z]{2,}(?:'[a-z]+)?|[A-Za-z]'[a-z]+", " "), "[A-Za-z]")
    en = ascii_words - singles
    zh, ja, ko = (_count(prose, f"[{r}]") for r in (_ZH, _JA, _KO))
    ru, ar = _count(prose, r"[\u0400-\u04ff]+"), _count(prose, r"[\u0600-\u06ff]+")
    total = en + latin_other + zh + ja + ko + ru + ar
    best = pl.max_horizontal(en, zh, ja + zh, ko, ru, ar, en + latin_other)
    return pl.when(total > 0).then(1.0 - best / total).otherwise(0.0)


def longest_paragraph_expr(text: pl.Expr) -> pl.Expr:
    blocks = text.str.replace_all(r"\n\s*\n", "\x00").str.split("\x00")
    return (
        blocks.list.eval(pl.element().str.strip_chars().str.len_chars())
        .list.max()
        .fill_null(0)
        .cast(pl.Int64)
    )


def code_blocks_expr(cot: pl.Expr) -> pl.Expr:
    return (_count(cot, r"(?m)^\s*(?:```|~~~)") + 1) // 2


def truncated_expr(text: pl.Expr, rest: pl.Expr, finish_reason: pl.Expr) -> pl.Expr:
    unclosed = text.str.contains("<think>", literal=True) & ~text.str.contains("</think>", literal=True)
    return (finish_reason.fill_null("") == "length") | unclosed | (rest.str.len_chars() == 0)


def repeated_ngram_share(texts: pl.Series, n: int = 10) -> pl.Series:
    """1 - distinct / all token n-grams per text (0 when a text has fewer than n tokens)."""
    tokens = texts.fill_null("").str.extract_all(REPETITION_TOKENS)
    lengths = tokens.list.len().fill_null(0).to_numpy().astype(np.int64)
    flat = tokens.explode().drop_nulls()
    wh = WordHashes(flat.hash(seed=3).to_numpy().astype(np.uint64), lengths)
    docs, grams = ngram_hashes(wh, n, short_whole=False, mix=False)  # equality within a text is all we need
    share = np.zeros(len(lengths))
    if len(grams):
        stats = (
            pl.DataFrame({"doc": docs, "g": grams})
            .group_by("doc")
            .agg(total=pl.len(), distinct=pl.col("g").n_unique())
        )
        d = stats["doc"].to_numpy()
        share[d] = 1.0 - stats["distinct"].to_numpy() / stats["total"].to_numpy()
    return pl.Series("repetition", share)


def normalized_hash_expr(col: str, seed: int = 0) -> pl.Expr:
    r"""Hash of the text lower-cased with whitespace runs collapsed to one space: the key of exact dedup.
    (`\s{2,}|[^\S ]` rewrites only what differs from a single space: same result as `\s+`, far fewer
    matches.)"""
    text = (
        pl.col(col).fill_null("").str.to_lowercase().str.replace_all(r"\s{2,}|[^\S ]", " ").str.strip_chars()
    )
    return text.hash(seed=seed)


def on_subset(df: pl.DataFrame, mask: pl.Expr, compute, defaults: dict) -> pl.DataFrame:
    """Add the columns `compute(sub)` returns for rows where `mask` holds, `defaults` elsewhere: Polars
    evaluates both branches of when/then, so costly measurements are run on the rows that need them only."""
    idx = f"_i{sum(c.startswith('_i') for c in df.columns)}"  # unique when subsets nest
    df = df.with_row_index(idx)
    computed = compute(df.filter(mask)).select(idx, *defaults)
    df = df.drop([c for c in defaults if c in df.columns]).join(
        computed, on=idx, how="left", maintain_order="left"
    )
    return df.with_columns(pl.col(c).fill_null(v) for c, v in defaults.items() if v is not None).drop(idx)


def split_think_frame(df: pl.DataFrame, col: str = "completion") -> pl.DataFrame:
    """Add `_cot` and `_rest` (as split_think_exprs) using a plain split for the common one-`</think>`
    case and the regex form only for the rare completions with several."""
    c = pl.col(col).fill_null("")
    one = c.str.splitn("</think>", 2)
    before = (
        one.struct.field("field_0")
        .str.replace(r"(?s)^.*?<think>", "")
        .str.replace_all("<think>", "", literal=True)
    )
    df = df.with_columns(_n_close=c.str.count_matches("</think>", literal=True))
    cot_r, rest_r = split_think_exprs(col)
    open_ = c.str.splitn("<think>", 2)
    special = c.str.splitn(SPECIAL_TOKEN, 3)
    has_special = c.str.count_matches(SPECIAL_TOKEN, literal=True) >= 2
    df = df.with_columns(
        _cot=pl.when(pl.col("_n_close") == 1)
        .then(before)
        .when(c.str.contains("<think>", literal=True) & (pl.col("_n_close") == 0))
        .then(open_.struct.field("field_1"))
        .when(has_special & (pl.col("_n_close") == 0))
        .then(special.struct.field("field_1"))
        .otherwise(pl.lit(""))
        .str.strip_chars(),
        _rest=pl.when(pl.col("_n_close") == 1)
        .then(one.struct.field("field_1"))
        .when(c.str.contains("<think>", literal=True) & (pl.col("_n_close") == 0))
        .then(open_.struct.field("field_0"))
        .when(has_special & (pl.col("_n_close") == 0))
        .then(special.struct.field("field_2").str.replace_all(SPECIAL_TOKEN, "", literal=True))
        .when(pl.col("_n_close") == 0)
        .then(c)
        .otherwise(pl.lit(""))
        .str.strip_chars(),
    )
    many = df.filter(pl.col("_n_close") > 1)
    if many.height:
        fixed = many.with_row_index("_j").select("_j", _cot2=cot_r, _rest2=rest_r)
        idx = df.with_row_index("_k").filter(pl.col("_n_close") > 1)["_k"]
        cot_col, rest_col = df["_cot"].to_list(), df["_rest"].to_list()
        for k, a, b in zip(idx.to_list(), fixed["_cot2"].to_list(), fixed["_rest2"].to_list()):
            cot_col[k], rest_col[k] = a, b
        df = df.with_columns(
            _cot=pl.Series(cot_col, dtype=pl.String), _rest=pl.Series(rest_col, dtype=pl.String)
        )
    return df.drop("_n_close")


# characters that can count as a word outside English in other_language_share_expr:
# a CoT without any has share 0
_NON_EN_LETTERS = f"[{_ACCENTED}{_ZH}{_JA}{_KO}\u0400-\u04ff\u0600-\u06ff]"


def measure_cheap(df: pl.DataFrame, seed: int = 0) -> pl.DataFrame:
    """Measurements costing a pass or two over the text, for every candidate."""
    df = split_think_frame(df)
    text = pl.col("completion").fill_null("")
    df = df.with_columns(
        completion_chars=text.str.len_chars().cast(pl.Int64),
        truncated=truncated_expr(text, pl.col("_rest"), pl.col("finish_reason")),
        long_paragraph=longest_paragraph_expr(text),
        prompt_hash=normalized_hash_expr("problem", seed),
    )
    fenced = pl.col("_cot").str.contains("```", literal=True) | pl.col("_cot").str.contains(
        "~~~", literal=True
    )
    return on_subset(
        df,
        fenced,
        lambda sub: sub.with_columns(code_in_cot=code_blocks_expr(pl.col("_cot"))),
        {"code_in_cot": 0},
    )


def measure_expensive(
    df: pl.DataFrame, repetition_ngram: int = 10, *, seed: int = 0, repetition: bool = True
) -> pl.DataFrame:
    """completion_hash, mixed_language and repetition (several regex passes / an n-gram count per text)."""
    df = df.with_columns(
        completion_hash=normalized_hash_expr("completion", seed),
        _scope=pl.when(pl.col("_cot").str.len_chars() > 0).then(pl.col("_cot")).otherwise(pl.col("_rest")),
    )
    df = on_subset(
        df,
        pl.col("_scope").str.contains(_NON_EN_LETTERS),
        lambda sub: _other_language(sub, "_scope"),
        {"mixed_language": 0.0},
    ).drop("_scope")
    if repetition:
        df = df.with_columns(repetition=repeated_ngram_share(df["completion"], repetition_ngram))
    return df


def _other_language(df: pl.DataFrame, col: str) -> pl.DataFrame:
    """other_language_share_expr in stages, so each intermediate text is computed once (no CSE in eager)."""
    accented_word = rf"[{_LATIN}]*[{_ACCENTED}][{_LATIN}]*(?:'[a-z]+)?"
    df = df.with_columns(_prose=pl.col(col).str.replace_all(_NOT_PROSE, " "))
    df = df.with_columns(
        _lo=_count(pl.col("_prose"), accented_word),
        _ascii=pl.col("_prose").str.replace_all(accented_word, " "),
        _zh=_count(pl.col("_prose"), f"[{_ZH}]"),
        _ja=_count(pl.col("_prose"), f"[{_JA}]"),
        _ko=_count(pl.col("_prose"), f"[{_KO}]"),
        _ru=_count(pl.col("_prose"), r"[\u0400-\u04ff]+"),
        _ar=_count(pl.col("_prose"), r"[\u0600-\u06ff]+"),
    )
    singles = _count(
        pl.col("_ascii").str.replace_all(r"[A-Za-z]{2,}(?:'[a-z]+)?|[A-Za-z]'[a-z]+", " "), "[A-Za-z]"
    )
    df = df.with_columns(_en=_count(pl.col("_ascii"), r"[A-Za-z]+(?:'[a-z]+)?") - singles)
    en, lo, zh, ja, ko, ru, ar = (pl.col(c) for c in ("_en", "_lo", "_zh", "_ja", "_ko", "_ru", "_ar"))
    total = en + lo + zh + ja + ko + ru + ar
    best = pl.max_horizontal(en, zh, ja + zh, ko, ru, ar, en + lo)
    share = pl.when(total > 0).then(1.0 - best / total).otherwise(0.0)
    return df.with_columns(mixed_language=share).drop(
        "_prose", "_ascii", "_en", "_lo", "_zh", "_ja", "_ko", "_ru", "_ar"
    )
