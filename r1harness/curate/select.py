"""Selection over the measured candidates (no texts): filters, exact dedup, per-prompt caps, quotas.

Every step keeps rows in a fixed priority order (`rank_key`, a hash of the recipe seed, prompt id and
completion), so the same recipe over the same store selects the same rows.
"""

from __future__ import annotations

import polars as pl

from r1harness.curate.filters import ordered, passes
from r1harness.curate.funnel import Funnel
from r1harness.curate.recipe import Recipe

ORDER = ["rank_key", "rollout_id"]


def apply_filters(df: pl.DataFrame, recipe: Recipe, funnel: Funnel) -> pl.DataFrame:
    in_quota = df.filter(pl.col("domain").is_in(recipe.domains))
    funnel.record("domain_in_quotas", df, in_quota)
    df = in_quota
    for spec in ordered(recipe.filters):
        kept = df.filter(passes(spec))
        funnel.record(f"filter.{spec.name}", df, kept, scope=spec.scope, **spec.params)
        df = kept
    return df


def exact_dedup(df: pl.DataFrame, recipe: Recipe, funnel: Funnel) -> pl.DataFrame:
    """Completion duplicates are dropped (first by priority kept); prompts with the same normalised text
    are merged into one `prompt_key`, so the per-prompt cap counts them together."""
    df = df.sort(ORDER).with_columns(prompt_key=pl.col("prompt_id"))
    if "prompt" in recipe.dedup.exact:
        first = df.group_by("prompt_hash", maintain_order=True).agg(pl.col("prompt_id").first().alias("pk"))
        df = df.join(first, on="prompt_hash", how="left").with_columns(prompt_key=pl.col("pk")).drop("pk")
        merged = df["prompt_id"].n_unique() - df["prompt_key"].n_unique()
        funnel.notes.setdefault("details", {})["dedup.exact.prompt"] = {"prompts_merged": merged}
    if "completion" in recipe.dedup.exact:
        kept = df.unique("completion_hash", keep="first", maintain_order=True)
        funnel.record("dedup.exact.completion", df, kept)
        df = kept
    return df


def cap_per_prompt(df: pl.DataFrame, recipe: Recipe, funnel: Funnel) -> pl.DataFrame:
    kept = (
        df.sort(ORDER)
        .with_columns(_n=pl.int_range(pl.len()).over("prompt_key"))
        .filter(pl.col("_n") < recipe.per_prompt)
        .drop("_n")
    )
    funnel.record("per_prompt_cap", df, kept, per_prompt=recipe.per_prompt)
    return kept


def fill_quotas(df: pl.DataFrame, recipe: Recipe, funnel: Funnel) -> pl.DataFrame:
    """Take each quota group's first `count` rows by priority; a shortfall is reported, not hidden."""
    parts, report = [], []
    df = df.sort(ORDER)
    for q in recipe.quotas:
        pool = df.filter(pl.col("domain").is_in(q.domains))
        taken = pool.head(q.count)
        parts.append(taken)
        report.append(
            {
                "group": q.group,
                "domains": list(q.domains),
                "quota": q.count,
                "supply": pool.height,
                "selected": taken.height,
                "shortfall": max(q.count - pool.height, 0),
            }
        )
    kept = pl.concat(parts) if parts else df.head(0)
    funnel.record("quota", df, kept)
    funnel.notes["quotas"] = report
    return kept
