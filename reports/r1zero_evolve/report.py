"""R1-Zero's self-evolution in miniature: figures and tables straight from SQL over the run stores.

    python reports/r1zero_evolve/report.py --out reports/r1zero_evolve main=STORE [no_check=STORE ...]

Each TAG=STORE group is one variant (the main config or a control); a store holds one GRPO run per seed (the
seed is read from the run's config). SQL: `evolve_sql` (held-out per step and decoding; training rollouts per
step) and `aha_sql` in r1harness/pipeline/miniature.py. Writes:
  fig2_accuracy.png   the paper's Figure 2 analogue: held-out accuracy vs GRPO step (mean, min-max over seeds)
  fig3_length.png     Figure 3 analogue: mean response length vs step (training rollouts and held-out)
  reflection.png      share of completions with reflection words, and of self-corrections, vs step
  results.md          step 0 vs last step per variant (mean, spread over seeds, per-seed rises, whether each
                      rise exceeds the spread), per-step tables, and an "aha" completion with its rollout id
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from r1harness.pipeline.miniature import aha_sql, evolve_sql
from r1harness.store import Store

SEEDS_SQL = (
    "SELECT run_id, CAST(json_extract(config, '$.seed') AS INTEGER) AS seed FROM runs WHERE kind = 'grpo'"
)
METRICS = {
    "accuracy": "accuracy (math verifier on <answer>)",
    "mean_completion_tokens": "response length (tokens)",
    "reflection_share": "reflection share (wait / let me check / ...)",
    "self_correction_share": "self-correction share (first answer replaced)",
    "step_by_step_share": "step-by-step share (column lines)",
    "format": "format reward",
    "final_number_accuracy": "format-blind accuracy (last integer)",
}


def load(groups: dict[str, list[str]]) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, pl.DataFrame]]:
    """Held-out rows (stage eval), training rows (stage grpo) and up to 5 aha completions per variant."""
    evals, trains, ahas = [], [], {}
    for tag, stores in groups.items():
        found = []
        for path in stores:
            store = Store.open(path, create=False)
            seeds = store.sql(SEEDS_SQL)
            tagged = pl.lit(tag).alias("variant")
            evals.append(store.sql(evolve_sql()).join(seeds, on="run_id").with_columns(tagged))
            trains.append(store.sql(evolve_sql(stage="grpo")).join(seeds, on="run_id").with_columns(tagged))
            found.append(store.sql(aha_sql()).join(seeds, on="run_id"))
        ahas[tag] = pl.concat(found)
    return pl.concat(evals), pl.concat(trains), ahas


def rises(df: pl.DataFrame) -> pl.DataFrame:
    """The first step (held-out: 0, the base) vs the last step of every seed, per variant and decoding:
    mean over seeds at each end, the spread (max - min over seeds) at each end, each seed's rise, and
    whether the rise holds across seeds
    (every seed rose, and the mean rise is larger than the spread at either end)."""
    last = df.group_by("variant", "seed", "decoding").agg(
        pl.col("step").min().alias("first"), pl.col("step").max().alias("last")
    )
    ends = df.join(last, on=["variant", "seed", "decoding"])
    base = ends.filter(pl.col("step") == pl.col("first"))  # 0 held-out (the base); 1 for training rollouts
    final = ends.filter(pl.col("step") == pl.col("last"))
    keys = ["variant", "seed", "decoding"]
    rows = []
    for metric in METRICS:
        both = base.select(*keys, pl.col(metric).alias("b")).join(
            final.select(*keys, "last", pl.col(metric).alias("f")), on=keys
        )
        agg = both.group_by("variant", "decoding").agg(
            pl.lit(metric).alias("metric"),
            pl.len().alias("seeds"),
            pl.col("last").min().alias("last_step"),
            pl.col("b").mean().alias("first"),
            (pl.col("b").max() - pl.col("b").min()).alias("first_spread"),
            pl.col("f").mean().alias("final"),
            (pl.col("f").max() - pl.col("f").min()).alias("final_spread"),
            (pl.col("f") - pl.col("b")).mean().alias("rise"),
            (pl.col("f") - pl.col("b")).min().alias("min_seed_rise"),
            (pl.col("f") - pl.col("b")).max().alias("max_seed_rise"),
        )
        rows.append(agg)
    out = pl.concat(rows).with_columns(
        (
            (pl.col("min_seed_rise") > 0)
            & (pl.col("rise") > pl.col("first_spread"))
            & (pl.col("rise") > pl.col("final_spread"))
            & (pl.col("seeds") > 1)
        ).alias("rise_holds_across_seeds")
    )
    return out.with_columns(pl.col(pl.Float64).round(3)).sort("variant", "decoding", "metric")


def windows(tr: pl.DataFrame, size: int = 10) -> pl.DataFrame:
    """Training rollouts averaged over windows of `size` GRPO steps (64 rollouts a step are noisy); the
    window's step is its first step."""
    window = ((pl.col("step") - 1) // size * size + 1).alias("step")
    return (
        tr.with_columns(window, pl.lit("train").alias("decoding"))
        .group_by("variant", "seed", "decoding", "step")
        .agg(pl.col(list(METRICS)).mean())
    )


def _band(ax, df: pl.DataFrame, col: str, label: str, **style) -> None:
    g = (
        df.group_by("step")
        .agg(pl.col(col).mean().alias("m"), pl.col(col).min().alias("lo"), pl.col(col).max().alias("hi"))
        .sort("step")
    )
    line = ax.plot(g["step"], g["m"], label=label, **style)[0]
    ax.fill_between(g["step"], g["lo"], g["hi"], alpha=0.15, color=line.get_color())


def plot(ev: pl.DataFrame, tr: pl.DataFrame, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = ev["variant"].unique().sort().to_list()
    figures = {
        "fig2_accuracy.png": [("held-out", "accuracy", ("sampled", "greedy"))],
        "fig3_length.png": [
            ("train", "mean_completion_tokens", ()),
            ("held-out", "mean_completion_tokens", ("sampled", "greedy")),
        ],
        "reflection.png": [
            ("train", "reflection_share", ()),
            ("held-out", "reflection_share", ("sampled",)),
            ("held-out", "self_correction_share", ("sampled",)),
        ],
    }
    for name, panels in figures.items():
        fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
        for ax, (where, col, decodings) in zip(axes[0], panels, strict=True):
            for variant in variants:
                if where == "train":
                    _band(ax, tr.filter(pl.col("variant") == variant), col, f"{variant} (training rollouts)")
                for decoding in decodings:
                    sel = ev.filter((pl.col("variant") == variant) & (pl.col("decoding") == decoding))
                    style = {"marker": "o", "linestyle": "--" if decoding == "greedy" else "-"}
                    _band(ax, sel, col, f"{variant} (held-out, {decoding})", **style)
            ax.set_title(f"{METRICS[col]}: {where}; mean, min-max band over seeds", fontsize=9)
            ax.set_xlabel("GRPO step")
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)


def _aha_text(ahas: dict[str, pl.DataFrame], prefer: str) -> list[str]:
    order = [prefer, *[t for t in ahas if t != prefer]] if prefer in ahas else list(ahas)
    for tag in order:
        if ahas[tag].height:
            r = ahas[tag].row(0, named=True)
            return [
                f'## An "aha" completion (held-out, variant `{tag}`, seed {r["seed"]}, step {r["step"]})\n',
                f"rollout_id `{r['rollout_id']}` (run `{r['run_id']}`); first answer {r['first_answer']}, "
                f"settled on {r['settled_answer']}, graded correct:\n",
                f"```\n{r['prompt_text']}{r['completion']}\n```",
                f"\nQuery: `r1harness.pipeline.miniature.aha_sql()`; {sum(a.height for a in ahas.values())} "
                "such completions returned (at most 5 per store).",
            ]
    return ['## An "aha" completion\n', "None found in these stores (aha_sql returned no row)."]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("groups", nargs="+", help="TAG=STORE[,STORE...] (one variant each)")
    ap.add_argument("--out", default="reports/r1zero_evolve")
    ap.add_argument("--main", default="main", help="the variant whose aha example is quoted first")
    args = ap.parse_args()
    groups = {g.split("=", 1)[0]: g.split("=", 1)[1].split(",") for g in args.groups}
    ev, tr, ahas = load(groups)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot(ev, tr, out)
    table_options = dict(
        tbl_formatting="MARKDOWN",
        tbl_hide_dataframe_shape=True,
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_hide_column_data_types=True,
        fmt_str_lengths=40,
        tbl_width_chars=1000,
    )
    cols = ["variant", "seed", "step", "decoding", "n", *METRICS]
    with pl.Config(**table_options):
        text = [
            "# R1-Zero self-evolution miniature: measured (generated by report.py; do not edit)\n",
            "## Step 0 vs last step, held-out prompts (mean over seeds; spread = max - min over seeds)\n",
            str(rises(ev)),
            "\n## The same on the training rollouts (T=1; means over the first and the last 10 GRPO steps)\n",
            str(rises(windows(tr))),
            "\n",
            *_aha_text(ahas, args.main),
            "\n## Held-out per step and seed\n",
            str(
                ev.select(cols)
                .with_columns(pl.col(pl.Float64).round(3))
                .sort("variant", "decoding", "seed", "step")
            ),
        ]
    (out / "results.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
