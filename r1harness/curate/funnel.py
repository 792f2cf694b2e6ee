"""The filter funnel: rows in and out of every stage, per domain, stored with the set."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl


@dataclass
class Funnel:
    stages: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def record(self, stage: str, before: pl.DataFrame, after: pl.DataFrame, **detail: Any) -> None:
        """One row per domain present before the stage."""
        n_in = _by_domain(before)
        n_out = _by_domain(after)
        for domain in sorted(n_in):
            row = {
                "stage": stage,
                "domain": domain,
                "rows_in": n_in[domain],
                "rows_out": n_out.get(domain, 0),
            }
            row["dropped"] = row["rows_in"] - row["rows_out"]
            self.stages.append(row)
        if detail:
            self.notes.setdefault("details", {})[stage] = detail

    @contextlib.contextmanager
    def timed(self, step: str):
        """Record a build step's wall time (notes['timings_s']) and the process's peak RSS when it ended
        (notes['peak_rss_gb']; monotonic, so the step where it jumps is the one that used the memory)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.notes.setdefault("timings_s", {})[step] = round(time.perf_counter() - start, 3)
            self.notes.setdefault("peak_rss_gb", {})[step] = _peak_rss_gb()

    def to_dict(self) -> dict[str, Any]:
        return {"stages": self.stages, **self.notes}

    def frame(self) -> pl.DataFrame:
        return stages_frame(self.to_dict())


def _by_domain(df: pl.DataFrame) -> dict[str, int]:
    if not df.height:
        return {}
    counts = df.group_by("domain").len()
    return dict(zip(counts["domain"].to_list(), counts["len"].to_list()))


def stages_frame(funnel: dict[str, Any]) -> pl.DataFrame:
    schema = {
        "stage": pl.String,
        "domain": pl.String,
        "rows_in": pl.Int64,
        "rows_out": pl.Int64,
        "dropped": pl.Int64,
    }
    return pl.DataFrame(funnel.get("stages", []), schema=schema)


def _peak_rss_gb() -> float | None:
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)
