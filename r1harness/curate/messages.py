"""Chat messages of set samples, built column-wise: the `messages` JSON that SFTTrainer reads as is.

Reasoning rows get the recipe's layout:
- think:      the completion as generated (`<think>…</think>` then the answer), leading space dropped;
- cold_start: R1's readable cold-start layout `|special_token|<reasoning_process>|special_token|<summary>`;
- plain:      the answer only.
General rows follow R1's policy for simple prompts: a prompt of at most `simple_prompt_max_words` words is
answered without a chain of thought (`simple_think: drop`); other general answers are kept as imported.
A human edit (annotation label `edit`) replaces the completion.
"""

from __future__ import annotations

import polars as pl

from r1harness.curate.recipe import GENERAL, Recipe
from r1harness.curate.textstats import split_think_exprs


def _message(role: str, content: pl.Expr) -> pl.Expr:
    return pl.struct(role=pl.lit(role), content=content).struct.json_encode()


def _assistant_text(recipe: Recipe) -> pl.Expr:
    out = recipe.output
    think, answer = split_think_exprs("_text")
    if out.layout == "cold_start":
        reasoning = pl.lit(out.special_token) + think + pl.lit(out.special_token) + answer
    elif out.layout == "plain":
        reasoning = answer
    else:
        # Completions begin with the space that separates them from the prompt template ("Assistant: …");
        # the chat template adds its own, so keeping it would train a double space the model never sees.
        reasoning = pl.col("_text").str.strip_chars_start()
    simple = (
        pl.col("problem").fill_null("").str.count_matches(r"\S+") <= recipe.general.simple_prompt_max_words
    )
    drop_think = simple if recipe.general.simple_think == "drop" else pl.lit(False)
    general = pl.when(drop_think).then(answer).otherwise(pl.col("_text"))
    return pl.when(pl.col("domain") == GENERAL).then(general).otherwise(reasoning)


def with_messages(df: pl.DataFrame, recipe: Recipe) -> pl.DataFrame:
    """Add a `messages` JSON column to rows with problem, completion, domain, history (JSON list of prior
    messages or null) and edited_text (or null)."""
    text = pl.when(pl.col("label") == "edit").then(pl.col("edited_text")).otherwise(pl.col("completion"))
    df = df.with_columns(_text=text.fill_null(""))
    system = recipe.output.system_prompt
    head = pl.lit("[") + (_message("system", pl.lit(system)) + pl.lit(",") if system else pl.lit(""))
    user = _message("user", pl.col("problem").fill_null(""))
    history = pl.col("history").str.strip_chars().str.strip_prefix("[").str.strip_suffix("]")
    prior = (
        pl.when(pl.col("history").is_not_null() & (history.str.len_chars() > 0)).then(history).otherwise(user)
    )
    messages = head + prior + pl.lit(",") + _message("assistant", _assistant_text(recipe)) + pl.lit("]")
    return df.with_columns(messages=messages).drop("_text")
