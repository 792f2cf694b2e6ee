"""Each filter on hand-made completions; the vectorised measurements equal the per-row verifiers."""

from __future__ import annotations

import json

import polars as pl
import pytest

from r1harness.curate.build import measure_batch
from r1harness.curate.filters import passes
from r1harness.curate.recipe import FilterSpec, load_recipe, recipe_from_dict
from r1harness.curate.source import READABILITY_CHECKS
from r1harness.curate.textstats import measure_cheap, measure_expensive, split_think_exprs
from r1harness.verify.extract import split_think
from r1harness.verify.readability import readability_checks

CLEAN = "<think>\nLet me compute 2+2. That is 4, so the sum is four.\n</think>\nThe answer is \\boxed{4}."
CASES = [  # (completion, finish_reason)
    (CLEAN, "stop"),
    ("<think>Let me think 我们需要计算这个 about it carefully\n</think> \\boxed{1}", "stop"),
    ("<think>Un café très bon, c'est déjà là. The answer's clear x y $x^2$ \\frac{a}{b}</think>done", "stop"),
    ("<think>reasoning without end " + "word " * 20, "length"),
    ("<think>a</think>", "stop"),
    ("plain answer no markers", "stop"),
    ("</think>prefilled style</think> final", "stop"),
    ("|special_token|reason here 思考|special_token|summary ok", "stop"),
    ("<think>Code:\n```python\nprint(1)\n```\nand\n~~~\nx\n~~~\n</think> ok", "stop"),
    ("<think>" + "para " * 700 + "\n\n short\n \n  x</think>ans", "stop"),
    ("<think>" + "I will loop now . " * 60 + "</think> ans", "stop"),
    ("<think>Привет мир как дела hello</think> a", "stop"),
    ("<think>日本語のテキストです 漢字</think> a", "stop"),
    ("<think>한국어 텍스트 hello</think> ok", "stop"),
    ("", None),
    ("<think>x's a's b \\(y+z\\) \\[q\\] $$w$$</think> ok", "stop"),
]


def _frame(cases):
    return pl.DataFrame(
        {
            "rollout_id": [str(i) for i in range(len(cases))],
            "completion": [c for c, _ in cases],
            "finish_reason": [f for _, f in cases],
            "problem": ["p"] * len(cases),
        },
        schema={
            "rollout_id": pl.String,
            "completion": pl.String,
            "finish_reason": pl.String,
            "problem": pl.String,
        },
    )


def test_vectorised_measurements_equal_the_readability_verifiers():
    m = measure_expensive(measure_cheap(_frame(CASES)))
    for i, (completion, finish) in enumerate(CASES):
        want = readability_checks(completion, finish_reason=finish)
        row = m.row(i, named=True)
        assert (row["_cot"], row["_rest"]) == split_think(completion), completion
        for check in READABILITY_CHECKS:
            got = row[check]
            got = round(got, 6) if isinstance(got, float) else got
            assert got == want[check].details["value"], (check, completion)


def _keep(recipe_filters: dict, cases) -> list[bool]:
    raw = load_recipe("tiny").to_dict()
    raw["filters"] = recipe_filters
    recipe = recipe_from_dict(raw)
    df = _frame(cases).with_columns(
        domain=pl.lit("math"),
        verdict_status=pl.lit("correct"),
        verdict_score=pl.lit(1.0),
        label=pl.lit(None, pl.String),
        annotator=pl.lit(None, pl.String),
        **{f"store_{c}": pl.lit(None, pl.String) for c in READABILITY_CHECKS},
    )
    m = measure_batch(df, recipe)
    ok = pl.all_horizontal([passes(s) for s in recipe.filters])
    return m.select(ok).to_series().to_list()


@pytest.mark.parametrize(
    "name, params, bad",
    [
        (
            "mixed_language",
            {"max_other_language_share": 0.05},
            "<think>We add the numbers 我们需要计算这个 and then check</think> \\boxed{2}",
        ),
        ("long_paragraph", {"max_chars": 500}, "<think>" + "word " * 200 + "</think> \\boxed{2}"),
        ("code_in_cot", {"max_code_blocks": 0}, "<think>try\n```python\nprint(2)\n```\n</think> \\boxed{2}"),
        ("not_truncated", {}, "<think>we were cut off in the middle of"),
        (
            "repetition",
            {"ngram": 10, "max_repeated_ngram_share": 0.3},
            "<think>" + "so we try again and again . " * 30 + "</think> \\boxed{2}",
        ),
        ("length", {"min_chars": 10, "max_chars": 100}, "<think>" + "long " * 40 + "</think> ok"),
    ],
)
def test_each_readability_filter_drops_its_bad_case_and_keeps_a_clean_one(name, params, bad):
    assert _keep({name: params}, [(CLEAN, "stop"), (bad, "stop")]) == [True, False]


def test_filters_only_touch_rows_in_their_scope():
    spec = FilterSpec("correct", {}, "reasoning")
    df = pl.DataFrame(
        {
            "domain": ["math", "general", "math"],
            "verdict_status": ["wrong", None, None],
            "verdict_score": [0.0, None, None],
        }
    )
    # a general row has no verdict and passes; a reasoning row without a verdict fails (null is not a pass)
    assert df.select(passes(spec)).to_series().to_list() == [False, True, False]


def test_stored_readability_values_are_preferred_to_measuring():
    recipe = load_recipe("tiny")
    df = _frame([(CLEAN, "stop")]).with_columns(
        domain=pl.lit("math"),
        verdict_status=pl.lit("correct"),
        verdict_score=pl.lit(1.0),
        label=pl.lit(None, pl.String),
        annotator=pl.lit(None, pl.String),
        store_truncated=pl.lit("true"),
        store_mixed_language=pl.lit("0.5"),
        store_long_paragraph=pl.lit("9000"),
        store_code_in_cot=pl.lit("1"),
        store_repetition=pl.lit(json.dumps(0.9)),
    )
    row = measure_batch(df, recipe).row(0, named=True)
    assert (
        row["truncated"],
        row["mixed_language"],
        row["long_paragraph"],
        row["code_in_cot"],
        row["repetition"],
    ) == (True, 0.5, 9000, 1, 0.9)


def test_split_think_expression_handles_every_layout():
    texts = [
        "<think>a</think>b",
        "</think>x</think>y",
        "<think>open",
        "|special_token|r|special_token|s",
        "z",
    ]
    cot, rest = split_think_exprs("t")
    out = pl.DataFrame({"t": texts}).select(cot=cot, rest=rest).rows()
    assert out == [split_think(t) for t in texts]
