"""Plain-language findings computed from the report's own query results (never typed in by hand).

Each check states what the R1 paper reports, the measured numbers, and whether this run reproduces it.
A check whose data is missing says nothing rather than guessing.
"""

from __future__ import annotations

from collections.abc import Iterator

WINDOW = 3  # steps averaged at the start and end of a curve, so one noisy step does not decide a trend


def _ends(values: list[float]) -> tuple[float, float, int] | None:
    """(mean of the first w points, mean of the last w points, w)."""
    vals = [v for v in values if v is not None]
    if len(vals) < 2:
        return None
    w = max(1, min(WINDOW, len(vals) // 2))
    return sum(vals[:w]) / w, sum(vals[-w:]) / w, w


def _verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def _runs_named(df, suffix: str) -> list[str]:
    return [
        r for r in df["run"].unique(maintain_order=True).to_list() if r == suffix or r.endswith("/" + suffix)
    ]


def r1zero_trends(curves, components) -> Iterator[str]:
    for run in _runs_named(curves, "r1zero") if not curves.is_empty() else []:
        for stage, what in (("eval", "held-out accuracy"), ("grpo", "training accuracy")):
            part = curves.filter((curves["run"] == run) & (curves["stage"] == stage)).sort("step")
            ends = _ends(part["accuracy"].to_list())
            if ends:
                yield (
                    f"R1-Zero {what} rises over steps (paper: yes): {ends[0]:.3f} -> {ends[1]:.3f} "
                    f"(mean of first/last {ends[2]} points, "
                    f"steps {part['step'].min()}-{part['step'].max()}): "
                    f"{_verdict(ends[1] > ends[0])}"
                )
    for run in _runs_named(components, "r1zero") if not components.is_empty() else []:
        part = components.filter((components["run"] == run) & (components["component"] == "format")).sort(
            "step"
        )
        ends = _ends(part["value"].to_list())
        if ends:
            yield (
                f"R1-Zero format reward rises (paper: yes): {ends[0]:.3f} -> {ends[1]:.3f}: "
                f"{_verdict(ends[1] > ends[0])}"
            )


def _row(board, model: str, metric: str, bench: str) -> dict | None:
    hit = board.filter(
        (board["model"] == model) & (board["metric"] == metric) & (board["benchmark"] == bench)
    )
    return None if hit.is_empty() else hit.row(0, named=True)


def _metric(board, model: str, metric: str, bench: str) -> float | None:
    row = _row(board, model, metric, bench)
    return None if row is None else row["value"]


def cons_vs_pass(board) -> Iterator[str]:
    if board.is_empty():
        return
    cons = board.filter(board["metric"].str.starts_with("cons@"))
    pairs = [
        (
            r["model"],
            r["benchmark"],
            r["metric"],
            r["value"],
            _metric(board, r["model"], "pass@1", r["benchmark"]),
        )
        for r in cons.iter_rows(named=True)
    ]
    pairs = [p for p in pairs if p[3] is not None and p[4] is not None]
    if pairs:
        bad = [
            f"{m} on {b} ({k} {c:.3f} < pass@1 {p:.3f}{_noise(board, m, k, b, p)})"
            for m, b, k, c, p in pairs
            if c < p
        ]
        yield (
            f"cons@k >= pass@1 (paper: yes) for {len(pairs) - len(bad)} of {len(pairs)} model/benchmark "
            f"pairs" + (f"; not for {', '.join(bad)}" if bad else "") + f": {_verdict(not bad)}"
        )
        yield from _voting_gain(board, pairs)


def _voting_gain(board, pairs) -> Iterator[str]:
    """The paired resolution of the check above: cons_gain@k = cons@k - pass@1 per problem, with its CI."""
    above, noise, below = [], [], []
    for model, bench, metric, _, _ in pairs:
        gain_metric = metric.replace("cons@", "cons_gain@")
        gain, ci = _metric(board, model, gain_metric, bench), _interval(board, model, gain_metric, bench)
        if gain is None:
            continue
        low, high = ci or (gain, gain)
        text = f"{model} on {bench} {gain:+.3f} [{low:+.3f}, {high:+.3f}]"
        (above if low > 0 else below if high < 0 else noise).append(text)
    n = len(above) + len(noise) + len(below)
    if n:
        yield (
            f"What voting adds, cons@k - pass@1 paired per problem (95% CI): above 0 for {len(above)} of {n}"
            + (f"; within noise for {', '.join(noise)}" if noise else "")
            + (f"; below 0 for {', '.join(below)}" if below else "")
        )


def _noise(board, model: str, metric: str, bench: str, value: float) -> str:
    ci = _interval(board, model, metric, bench)
    return f", within its 95% CI [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and ci[0] <= value <= ci[1] else ""


def _interval(board, model: str, metric: str, bench: str) -> tuple[float, float] | None:
    """The 95% bootstrap CI of a leaderboard value (None when the board has none, e.g. a score of 0)."""
    row = _row(board, model, metric, bench)
    if row is None or row.get("ci_low") is None or row.get("ci_high") is None:
        return None
    return row["ci_low"], row["ci_high"]


def _margin(board, better: str, worse: str, bench: str, a: float, b: float) -> str:
    """Whether a difference is larger than the noise: separate 95% CIs (a conservative test) or not."""
    ci_a, ci_b = _interval(board, better, "pass@1", bench), _interval(board, worse, "pass@1", bench)
    ci_a, ci_b = ci_a or (a, a), ci_b or (b, b)
    if ci_a[0] > ci_b[1] or ci_b[0] > ci_a[1]:
        return "the 95% CIs do not overlap"
    return "within noise: the 95% CIs overlap"


def _compare(board, better: str, worse: str, claim: str) -> Iterator[str]:
    if board.is_empty():
        return
    for bench in board["benchmark"].unique(maintain_order=True).to_list():
        a, b = _metric(board, better, "pass@1", bench), _metric(board, worse, "pass@1", bench)
        if a is not None and b is not None:
            yield (
                f"{claim} on {bench}: pass@1 {better} {a:.3f} vs {worse} {b:.3f} "
                f"({_margin(board, better, worse, bench, a, b)}): {_verdict(a > b)}"
            )


def _by_protocol(board):
    """The board with `benchmark` relabelled `bench#<protocol id>` where a benchmark was measured under
    several protocols, so every check compares numbers of one protocol only."""
    import polars as pl

    from r1harness.evals.leaderboard import column_labels

    if board is None or board.is_empty():
        return board
    return board.with_columns(benchmark=pl.Series(column_labels(board)[0]))


def findings(frames: dict) -> list[str]:
    board = _by_protocol(frames.get("leaderboard"))
    out = list(r1zero_trends(frames["training_curves"], frames["reward_components"]))
    out += list(cons_vs_pass(board))
    models = set(board["model"].to_list()) if board is not None and not board.is_empty() else set()
    second = next((m for m in ("final_rl", "sft2", "reasoning_rl") if m in models), None)
    if second and "r1zero" in models:
        out += _compare(
            board, second, "r1zero", f"The second-stage model ({second}) beats R1-Zero (paper: yes)"
        )
    if "distill_sft" in models and "student" in models:
        out += _compare(board, "distill_sft", "student", "The distilled student beats its starting point")
    if "distill_sft" in models and "distill_rl" in models:
        out += _compare(
            board,
            "distill_sft",
            "distill_rl",
            "Distillation beats RL on the same student for the same steps (paper: yes)",
        )
    return out
