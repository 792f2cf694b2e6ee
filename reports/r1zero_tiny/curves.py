"""Curves of the R1-Zero miniature, straight from SQL over the run stores.

    python reports/r1zero_tiny/curves.py --out reports/r1zero_tiny v3=STORE [other=STORE,STORE,...]

Writes curves.png (held-out accuracy / format-blind accuracy / format / response length vs step, mean and
min-max band over seeds, greedy decoding), train_curves.png (the GRPO rollouts' own curves from the
`rollout_stats_by_step` view) and curves.md (the numbers).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from r1harness.pipeline.miniature import curve_sql
from r1harness.store import Store

TRAIN_SQL = """
    SELECT s.run_id, s.step, s.accuracy, s.mean_completion_tokens, s.mean_reward, f.format
    FROM rollout_stats_by_step s
    JOIN (SELECT r.run_id, r.step, avg(w.score) AS format FROM rollouts r JOIN rewards w USING (rollout_id)
          WHERE r.stage = 'grpo' AND w.verifier LIKE 'format%' GROUP BY ALL) f USING (run_id, step)
    WHERE s.stage = 'grpo' ORDER BY s.step"""


SEEDS_SQL = (
    "SELECT run_id, CAST(json_extract(config, '$.seed') AS INTEGER) AS seed FROM runs WHERE kind = 'grpo'"
)


def load(groups: dict[str, list[str]]):
    """One row per (config, seed, step, decoding); a store may hold one run per seed or several (the seed is
    read from each GRPO run's config)."""
    evals, trains = [], []
    for tag, stores in groups.items():
        for path in stores:
            store = Store.open(path, create=False)
            seeds = store.sql(SEEDS_SQL)
            for frames, sql in ((evals, curve_sql()), (trains, TRAIN_SQL)):
                frames.append(
                    store.sql(sql).join(seeds, on="run_id").with_columns(pl.lit(tag).alias("config"))
                )
    return pl.concat(evals), pl.concat(trains)


def summary_table(ev: pl.DataFrame) -> pl.DataFrame:
    """Base (step 0) vs last step per config, decoding: mean and spread (max - min) over seeds."""
    last = ev.group_by("config", "seed", "decoding").agg(pl.col("step").max().alias("last"))
    ends = ev.join(last, on=["config", "seed", "decoding"])
    ends = ends.filter((pl.col("step") == 0) | (pl.col("step") == pl.col("last")))
    ends = ends.with_columns(
        pl.when(pl.col("step") == 0).then(pl.lit("base")).otherwise(pl.lit("final")).alias("at")
    )
    metrics = ["accuracy", "final_number_accuracy", "format", "mean_completion_tokens"]
    return (
        ends.group_by("config", "decoding", "at")
        .agg(
            [pl.col(m).mean().round(3).alias(f"{m}_mean") for m in metrics]
            + [(pl.col(m).max() - pl.col(m).min()).round(3).alias(f"{m}_spread") for m in metrics]
            + [pl.col("last").min().alias("min_last_step"), pl.col("last").max().alias("max_last_step")]
        )
        .sort("config", "decoding", "at")
    )


def plot(ev: pl.DataFrame, tr: pl.DataFrame, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [
        ("accuracy", "held-out accuracy (math verifier, <answer>)"),
        ("final_number_accuracy", "held-out format-blind accuracy"),
        ("format", "held-out format reward"),
        ("mean_completion_tokens", "held-out response length (tokens)"),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    for ax, (col, title) in zip(axes, cols):
        for tag in ev["config"].unique().sort():
            g = (
                ev.filter((pl.col("config") == tag) & (pl.col("decoding") == "greedy"))
                .group_by("step")
                .agg(
                    pl.col(col).mean().alias("m"),
                    pl.col(col).min().alias("lo"),
                    pl.col(col).max().alias("hi"),
                )
                .sort("step")
            )
            ax.plot(g["step"], g["m"], marker="o", label=f"{tag} (greedy, mean and min-max over seeds)")
            ax.fill_between(g["step"], g["lo"], g["hi"], alpha=0.2)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("GRPO step")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=110)

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, (col, title) in zip(
        axes,
        [
            ("accuracy", "train rollouts: accuracy"),
            ("format", "train rollouts: format"),
            ("mean_completion_tokens", "train rollouts: length (tokens)"),
        ],
        strict=False,
    ):
        for (tag, seed), g in tr.sort("step").group_by("config", "seed", maintain_order=True):
            ax.plot(g["step"], g[col], label=f"{tag} s{seed}", alpha=0.8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("GRPO step")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "train_curves.png", dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("groups", nargs="+", help="TAG=STORE,STORE,...")
    ap.add_argument("--out", default="reports/r1zero_tiny")
    args = ap.parse_args()
    groups = {g.split("=")[0]: g.split("=")[1].split(",") for g in args.groups}
    ev, tr = load(groups)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot(ev, tr, out)
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_dataframe_shape=True,
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_hide_column_data_types=True,
        fmt_str_lengths=40,
        tbl_width_chars=1000,
    ):
        n_prompts = ev.filter(pl.col("decoding") == "greedy")["n"].max()
        n_seeds = ev.select("config", "seed").unique().group_by("config").len()["len"].max()
        text = [
            f"## Base vs final (held-out, {n_prompts} prompts; "
            f"mean and max-min spread over {n_seeds} seeds)\n",
            str(summary_table(ev)),
            "\n\n## Held-out curves per seed (greedy)\n",
            str(ev.filter(pl.col("decoding") == "greedy").drop("run_id").sort("config", "seed", "step")),
        ]
    (out / "curves.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
