"""Figures as PNG bytes, drawn with matplotlib (Agg, no display) from the frames the report queries return.

Each function takes the polars DataFrame of its query and returns PNG bytes, or None when there is nothing to
draw. They draw exactly the numbers in the frame: no smoothing, no filtering.
"""

from __future__ import annotations

import io

DPI = 110


def _grid(nrows: int, ncols: int, width: float, height: float):
    """plt, the figure and its axes as rows of columns; each panel width x height inches."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return plt, fig, axes


def _figure(ncols: int = 1, width: float = 6.4, height: float = 3.6):
    plt, fig, axes = _grid(1, ncols, width, height)
    return plt, fig, list(axes[0])


def _png(plt, fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()


PIPELINE_ORDER = ("r1zero", "reasoning_rl", "final_rl", "distill_rl")  # GRPO stages in pipeline order


def _in_pipeline_order(runs: list[str]) -> list[str]:
    """Runs named `<pipeline>/<stage>` in the order the pipeline runs them; other runs after, as given."""
    rank = {stage: i for i, stage in enumerate(PIPELINE_ORDER)}
    return sorted(runs, key=lambda r: rank.get(r.rsplit("/", 1)[-1], len(rank)))


def training_curves(df) -> bytes | None:
    """One column per GRPO run (each on its own step axis: a 300-step run would squash a 60-step one),
    accuracy on top and mean response length below; thin lines are the training rollouts of each step,
    dots the held-out evaluations."""
    if df.is_empty():
        return None
    runs = _in_pipeline_order(df["run"].unique(maintain_order=True).to_list())
    plt, fig, axes = _grid(2, len(runs), width=4.2, height=3.2)
    for col, run in enumerate(runs):
        acc_ax, len_ax = axes[0][col], axes[1][col]
        for stage, colour in (("grpo", "tab:blue"), ("eval", "tab:orange")):
            part = df.filter((df["run"] == run) & (df["stage"] == stage)).sort("step")
            if part.is_empty():
                continue
            style = dict(linestyle="--", marker="o", markersize=4) if stage == "eval" else dict(linewidth=1)
            label = "held-out" if stage == "eval" else "training"
            acc_ax.plot(part["step"], part["accuracy"], color=colour, label=label, **style)
            len_ax.plot(part["step"], part["mean_completion_tokens"], color=colour, label=label, **style)
        acc_ax.set(xlabel="step", ylabel="accuracy", title=f"{run}: accuracy", ylim=(-0.02, 1.02))
        len_ax.set(xlabel="step", ylabel="tokens", title=f"{run}: mean response length")
        acc_ax.legend(fontsize=7)
    return _png(plt, fig)


def reward_components(df) -> bytes | None:
    """One panel per run, one line per reward component."""
    if df.is_empty():
        return None
    runs = _in_pipeline_order(df["run"].unique(maintain_order=True).to_list())
    plt, fig, axes = _figure(len(runs), width=4.6)
    for ax, run in zip(axes, runs):
        part = df.filter(df["run"] == run).sort("step")
        for (component,), comp in part.group_by(["component"], maintain_order=True):
            ax.plot(comp["step"], comp["value"], label=component)
        ax.set(xlabel="step", ylabel="mean reward", title=run)
        ax.legend(fontsize=7)
    return _png(plt, fig)


def reflection_words(df) -> bytes | None:
    if df.is_empty():
        return None
    plt, fig, (ax,) = _figure()
    for (run,), part in df.sort("step").group_by(["run"], maintain_order=True):
        ax.plot(part["step"], part["reflection_share"], label=run)
    top = max(0.05, float(df["reflection_share"].max() or 0) * 1.1)  # a share: no negative axis
    ax.set(
        xlabel="step",
        ylabel="share of completions",
        title="Reflection words per step (wait, verify, ...)",
        ylim=(0, top),
    )
    ax.legend(fontsize=7)
    return _png(plt, fig)


def pass_at_k(df) -> bytes | None:
    """pass@k against k (log scale), one panel per benchmark, one line per model."""
    import polars as pl

    from r1harness.evals.leaderboard import column_labels

    if df.is_empty():
        return None
    # one panel per benchmark and protocol (`bench#<protocol id>` when a benchmark has several)
    labels, _ = column_labels(df.with_columns(metric=pl.format("pass@{}", "k")))
    df = df.with_columns(panel=pl.Series(labels))
    benches = df["panel"].unique(maintain_order=True).to_list()
    plt, fig, axes = _figure(len(benches), width=6.0)
    for ax, bench in zip(axes, benches):
        part = df.filter(df["panel"] == bench)
        for (model,), rows in part.sort("k").group_by(["model"], maintain_order=True):
            ax.plot(rows["k"], rows["value"], "-o", markersize=3, label=model)
        ax.set_xscale("log", base=2)
        ax.set(xlabel="k", ylabel="pass@k", title=bench, ylim=(-0.02, 1.02))
        # beside the axes: with nine models a legend inside covers the curves
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(plt, fig)


def curation_funnel(df) -> bytes | None:
    """Horizontal bars: rows left after each stage, one panel per set."""
    if df.is_empty():
        return None
    sets = df["set_ref"].unique(maintain_order=True).to_list()
    plt, fig, axes = _figure(len(sets), width=5.4, height=0.35 * df.height / len(sets) + 1.6)
    for ax, ref in zip(axes, sets):
        part = df.filter(df["set_ref"] == ref)
        labels = part["stage"].to_list()
        ax.barh(range(len(labels)), part["rows_out"].to_list(), color="#4a7ab5")
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.invert_yaxis()
        for i, v in enumerate(part["rows_out"].to_list()):
            ax.text(v, i, f" {v}", va="center", fontsize=7)
        ax.set(xlabel="rows kept", title=f"Curation funnel {ref}")
    return _png(plt, fig)


PLOTS = {
    "training_curves": training_curves,
    "reward_components": reward_components,
    "reflection_words": reflection_words,
    "pass_at_k": pass_at_k,
    "curation_funnel": curation_funnel,
}
