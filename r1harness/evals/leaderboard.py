"""The leaderboard: model x benchmark from `eval_results`, never mixing protocols silently.

A column is one (benchmark, benchmark_version, protocol): when two results of one benchmark were produced
under different versions or protocols (n, sampling, template, verifier version, a --limit...), they get
separate columns labelled `bench@v1#<protocol id>` and a warning is returned, instead of sitting side by
side as if comparable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from r1harness.store.ids import content_id

LONG_COLUMNS = (
    "model",
    "benchmark",
    "benchmark_version",
    "protocol_id",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n_problems",
    "n_samples",
    "run_id",
    "created_at",
)


@dataclass(frozen=True)
class Leaderboard:
    long: object  # polars DataFrame, one row per (model, column, metric)
    wide: object  # polars DataFrame, model x column, cells "value [low, high]"
    warnings: tuple[str, ...]


def protocol_id(protocol: str | None) -> str:
    """A short id of a protocol JSON, ignoring keys that label a row but do not change it."""
    try:
        data = json.loads(protocol) if protocol else {}
    except json.JSONDecodeError:
        data = {"raw": protocol}
    for key in ("contests", "rating_method", "histogram", "attempts"):
        data.pop(key, None)
    return content_id("protocol", data)[:8]


def latest_results(
    store, *, benchmarks: Sequence[str] = (), metrics: Sequence[str] = ("pass@1",), models: Sequence[str] = ()
):
    """Latest result per (model, benchmark, version, protocol, metric), overall rows only."""
    import polars as pl

    df = store.sql("SELECT * FROM eval_results WHERE breakdown IS NULL")
    if df.is_empty():
        return pl.DataFrame(schema={c: pl.Utf8 for c in LONG_COLUMNS})
    df = df.with_columns(
        pl.col("protocol").map_elements(protocol_id, return_dtype=pl.Utf8).alias("protocol_id")
    )
    if benchmarks:
        df = df.filter(pl.col("benchmark").is_in(list(benchmarks)))
    if metrics:
        df = df.filter(pl.col("metric").is_in(list(metrics)))
    if models:
        df = df.filter(pl.col("model").is_in(list(models)))
    keys = ["model", "benchmark", "benchmark_version", "protocol_id", "metric"]
    df = df.sort("created_at", descending=True).unique(subset=keys, keep="first", maintain_order=True)
    return df.select(list(LONG_COLUMNS)).sort(["benchmark", "model", "metric"])


def build(
    store,
    *,
    benchmarks: Sequence[str] = (),
    metrics: Sequence[str] = ("pass@1",),
    models: Sequence[str] = (),
    percent: bool = True,
) -> Leaderboard:
    import polars as pl

    long = latest_results(store, benchmarks=benchmarks, metrics=metrics, models=models)
    if long.is_empty():
        return Leaderboard(long, pl.DataFrame({"model": []}), ())
    labels, warnings = _column_labels(long)
    long = long.with_columns(pl.Series("column", [labels[k] for k in _keys(long)]))
    cells = long.with_columns(
        pl.Series(
            "cell",
            [
                _cell(
                    r["metric"],
                    r["value"],
                    r["ci_low"],
                    r["ci_high"],
                    r["n_problems"],
                    r["n_samples"],
                    percent,
                )
                for r in long.iter_rows(named=True)
            ],
        )
    )
    cells = (
        cells.with_columns((pl.col("column") + " " + pl.col("metric")).alias("column"))
        if len(set(metrics)) > 1 or not metrics
        else cells
    )
    wide = cells.pivot(on="column", index="model", values="cell", aggregate_function="first").sort("model")
    return Leaderboard(long.drop("column"), wide, tuple(warnings))


def _keys(df) -> list[tuple]:
    return list(zip(df["benchmark"], df["benchmark_version"], df["protocol_id"]))


def _column_labels(df) -> tuple[dict[tuple, str], list[str]]:
    by_bench: dict[str, list[tuple]] = {}
    for key in dict.fromkeys(_keys(df)):
        by_bench.setdefault(key[0], []).append(key)
    labels, warnings = {}, []
    for bench, keys in by_bench.items():
        versions = {k[1] for k in keys}
        for key in keys:
            label = f"{bench}@{key[1]}"
            if len(keys) > 1:
                label += f"#{key[2]}"
            labels[key] = label
        if len(keys) > 1:
            what = "benchmark versions" if len(versions) > 1 else "protocols"
            warnings.append(
                f"{bench}: results come from {len(keys)} different {what} "
                f"({', '.join(labels[k] for k in keys)}); shown as separate columns, not comparable. "
                'See `r1h sql "SELECT DISTINCT protocol FROM eval_results WHERE benchmark = '
                f"'{bench}'\"`."
            )
    return labels, warnings


def _cell(metric: str, value, low, high, n_problems, n_samples, percent: bool) -> str:
    if value is None:
        return "-"
    shares = metric.startswith(("pass@", "cons@", "cons_gain@")) or "exact_match" in metric
    scale = 100.0 if percent and shares else 1.0
    text = f"{value * scale:.1f}"
    if low is not None and high is not None and low != high:
        text += f" [{low * scale:.1f}, {high * scale:.1f}]"
    if n_problems:
        per = (
            f"x{n_samples // n_problems}" if n_samples and n_problems and n_samples % n_problems == 0 else ""
        )
        text += f" n={n_problems}{per}"
    return text
