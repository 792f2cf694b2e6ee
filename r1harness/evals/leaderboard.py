"""The leaderboard in Python: the store's `leaderboard` view (r1harness/store/views.py), filtered and laid
out as model x benchmark, plus the one formatter of its cells.

The view keeps one row per (model, benchmark, benchmark version, full protocol, metric). A column of the
wide table is one (benchmark, version, protocol): when one metric of a benchmark was measured under two
versions or protocols (n, sampling, template, verifier version, a --limit...), the benchmark's columns are
labelled `bench@v1#<protocol id>` and a warning is returned, instead of sitting side by side as if
comparable. `r1h leaderboard`, the report and the pipeline's printed table all read it from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from r1harness.errors import ConfigError

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
UNITS = ("fraction", "percent")
HEADLINE = "pass@1"
# Metrics whose values are shares in [0, 1] (percent mode multiplies them by 100). lm-eval names its
# metrics "<metric>,<filter>", e.g. "exact_match,strict-match".
_SHARE_PREFIXES = ("pass@", "cons@", "cons_gain@")
_SHARE_LM_EVAL = ("exact_match", "acc", "acc_norm")


@dataclass(frozen=True)
class Leaderboard:
    long: object  # polars DataFrame, one row per (model, column, metric): LONG_COLUMNS
    wide: object  # polars DataFrame, model x column, cells "value [low, high] n=..."
    warnings: tuple[str, ...]


# --- reading -----------------------------------------------------------------------------------------


def read(
    store,
    *,
    benchmarks: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    models: Sequence[str] = (),
    runs: Sequence[str] | None = None,
):
    """Rows of the `leaderboard` view (LONG_COLUMNS). `metrics=None` picks the headline: pass@1 where a
    benchmark has it, every metric of a benchmark that has none (e.g. imported lm-eval results). `runs`
    keeps the keys those runs produced, even when a later run re-evaluated the same key."""
    where, params = [], []
    for column, values in (("benchmark", benchmarks), ("metric", metrics or ()), ("model", models)):
        if values:
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += list(values)
    if runs is not None:
        where.append("list_has_any(run_ids, ?::VARCHAR[])")
        params.append(list(runs))
    df = store.sql(
        f"SELECT {', '.join(LONG_COLUMNS)} FROM leaderboard"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY benchmark, model, metric, protocol_id",
        params,
    )
    return df if metrics is not None else _headline(df)


def _headline(df):
    import polars as pl

    with_headline = df.filter(pl.col("metric") == HEADLINE).select("benchmark", "benchmark_version").unique()
    has = pl.struct("benchmark", "benchmark_version").is_in(with_headline.to_struct().implode())
    return df.filter((pl.col("metric") == HEADLINE) | ~has)


def present(store) -> dict[str, list[str]]:
    """What the leaderboard holds: its models, benchmarks (with versions) and metrics."""
    df = store.sql("SELECT model, benchmark, benchmark_version, metric FROM leaderboard")
    return {
        "models": sorted(set(df["model"].to_list())),
        "benchmarks": sorted({f"{b}@{v}" for b, v in zip(df["benchmark"], df["benchmark_version"])}),
        "metrics": sorted(set(df["metric"].to_list())),
    }


def nothing_matches(store, **filters: Sequence[str]) -> str:
    """The message for an empty selection: what the store does hold, so the user can pick from it."""
    have = present(store)
    if not have["models"]:
        return (
            f"no eval results in {store.root} yet; run `r1h eval --bench NAME --model MODEL` "
            "or import some with `r1h import lm-eval DIR`"
        )
    asked = "; ".join(f"{k} {', '.join(v)}" for k, v in filters.items() if v)
    comma = next((m for m in have["metrics"] if "," in m), None)
    return (
        f"no leaderboard rows match {asked or 'the selection'}. The store has models: "
        f"{'; '.join(have['models'])}. Benchmarks: {'; '.join(have['benchmarks'])}. "
        f"Metrics: {'; '.join(have['metrics'])}."
        + (f" A metric whose name has a comma is selected whole: --metric '{comma}'." if comma else "")
    )


def split_names(values: Sequence[str] | str | None, known: Sequence[str]) -> list[str]:
    """Names from repeated and/or comma-separated options. A comma may also be part of a name (lm-eval's
    "exact_match,strict-match"): the longest run of comma-joined pieces that is a known name wins."""
    if not values:
        return []
    known, out = set(known), []
    for value in [values] if isinstance(values, str) else values:
        pieces = [p.strip() for p in value.split(",")]
        i = 0
        while i < len(pieces):
            j = next((j for j in range(len(pieces), i, -1) if ",".join(pieces[i:j]) in known), i + 1)
            name = ",".join(pieces[i:j])
            if name and name not in out:
                out.append(name)
            i = j
    return out


# --- the table ---------------------------------------------------------------------------------------


def build(
    store,
    *,
    benchmarks: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    models: Sequence[str] = (),
    runs: Sequence[str] | None = None,
    unit: str = "percent",
) -> Leaderboard:
    """The leaderboard as a long table (one row per number) and a wide model x column grid."""
    import polars as pl

    if unit not in UNITS:
        raise ConfigError(f"unit {unit!r}: use one of {', '.join(UNITS)}")
    long = read(store, benchmarks=benchmarks, metrics=metrics, models=models, runs=runs)
    if long.is_empty():
        return Leaderboard(long, pl.DataFrame({"model": []}), ())
    labels, warnings = column_labels(long)
    several = len(set(long["metric"].to_list())) > 1
    cells = long.with_columns(
        column=pl.Series([f"{c} {m}" if several else c for c, m in zip(labels, long["metric"])]),
        cell=pl.Series([row_cell(r, unit=unit, counts=True) for r in long.iter_rows(named=True)]),
    )
    wide = cells.pivot(on="column", index="model", values="cell", aggregate_function="first").sort("model")
    return Leaderboard(long, wide, tuple(warnings))


def column_labels(df) -> tuple[list[str], list[str]]:
    """A label per row, `bench@version` (just `bench` when the frame has no benchmark_version), plus
    `#protocol_id` for every row of a benchmark one of whose metrics was measured under more than one
    (version, protocol); and a warning per such benchmark."""
    import polars as pl

    versions = df["benchmark_version"] if "benchmark_version" in df.columns else pl.Series([None] * df.height)
    seen: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for bench, version, pid, metric in zip(df["benchmark"], versions, df["protocol_id"], df["metric"]):
        seen.setdefault((bench, metric), set()).add((version, pid))
    mixed = {bench for (bench, _), keys in seen.items() if len(keys) > 1}
    labels = [
        (f"{b}@{v}" if v is not None else b) + (f"#{p}" if b in mixed else "")
        for b, v, p in zip(df["benchmark"], versions, df["protocol_id"])
    ]
    warnings = []
    for bench in sorted(mixed):
        keys = sorted(set().union(*(k for (b, _), k in seen.items() if b == bench)))
        what = "benchmark versions" if len({v for v, _ in keys}) > 1 else "protocols"
        warnings.append(
            f"{bench}: results come from {len(keys)} different {what} "
            f"({', '.join(f'{bench}@{v}#{p}' if v else f'{bench}#{p}' for v, p in keys)}); shown apart, not "
            'comparable. See `r1h sql "SELECT DISTINCT protocol_id, protocol FROM leaderboard WHERE '
            f"benchmark = '{bench}'\"`."
        )
    return labels, warnings


# --- the one cell formatter ----------------------------------------------------------------------------


def is_share(metric: str) -> bool:
    return metric.startswith(_SHARE_PREFIXES) or metric.split(",")[0] in _SHARE_LM_EVAL


def format_number(value) -> str:
    """Three significant-ish digits: 0.417, 12.5, 1234."""
    if value is None:
        return "-"
    v = float(value)
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.3f}"


def format_cell(
    metric: str,
    value,
    low=None,
    high=None,
    *,
    unit: str = "fraction",
    n_problems: int | None = None,
    n_samples: int | None = None,
) -> str:
    """`value [low, high]` (the CI when it has width), then `n=<problems>x<samples per problem>` when
    counts are given. unit="percent" shows shares (pass@k, cons@k, exact match...) as 40.0, not 0.400."""
    if value is None:
        return "-"
    if unit == "percent" and is_share(metric):
        num = lambda v: f"{v * 100:.1f}"  # noqa: E731
    else:
        num = format_number
    text = num(value)
    if low is not None and high is not None and low != high:
        text += f" [{num(low)}, {num(high)}]"
    if n_problems:
        per = f"x{n_samples // n_problems}" if n_samples and n_samples % n_problems == 0 else ""
        text += f" n={n_problems}{per}"
    return text


def row_cell(row: dict, *, unit: str = "fraction", counts: bool = False) -> str:
    """format_cell over a leaderboard row (a dict with metric, value, ci_low, ci_high[, n_*])."""
    return format_cell(
        row["metric"],
        row["value"],
        row.get("ci_low"),
        row.get("ci_high"),
        unit=unit,
        n_problems=row.get("n_problems") if counts else None,
        n_samples=row.get("n_samples") if counts else None,
    )
