"""Versioned sets (`name@vN`): their lifecycle in the catalog and the readers that see only ready ones.

A build writes the `sets` row as 'building', appends its samples, then flips the row to 'ready'. Every
reader here (and the `ready_sft_samples` view) ignores sets that are not ready and their samples, so a
killed build is invisible; rebuilding the same recipe reuses the unfinished version, whose sample ids are
the same, so the rebuild skips what was already written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from r1harness.errors import ConfigError, StoreError
from r1harness.store.ids import canonical_json, content_id

REF = re.compile(r"^(?P<name>[A-Za-z0-9_\-]+)(?:@v?(?P<version>\d+))?$")


@dataclass(frozen=True)
class SetRef:
    name: str
    version: int | None = None  # None = the latest ready version

    def __str__(self) -> str:
        return f"{self.name}@v{self.version}" if self.version is not None else self.name


def parse_ref(text: str) -> SetRef:
    """The one `NAME@vN` parser (`NAME@N` too; plain `NAME` means the newest ready version)."""
    m = REF.match(text.strip())
    if not m:
        raise ConfigError(
            f"not a set reference: {text!r}; write NAME or NAME@vN with a version number (e.g. tiny@v1)"
        )
    return SetRef(m["name"], int(m["version"]) if m["version"] else None)


def recipe_hash(recipe_dict: dict[str, Any]) -> str:
    return content_id("recipe", recipe_dict)


def allocate_version(
    store, name: str, recipe_dict: dict[str, Any], run_id: str, version: int | None = None
) -> tuple[int, bool]:
    """Claim a version for a build: an unfinished build of the same recipe is resumed (same version, same
    sample ids); otherwise the next free version. Returns (version, resumed)."""
    digest = recipe_hash(recipe_dict)
    with store.catalog() as con:
        rows = con.execute(
            "SELECT version, status, recipe FROM sets WHERE name = ? ORDER BY version", [name]
        ).fetchall()
        if version is None:
            unfinished = [
                v
                for v, status, recipe in rows
                if status in ("building", "failed") and recipe_hash(json.loads(recipe)) == digest
            ]
            version = unfinished[-1] if unfinished else max([v for v, *_ in rows], default=0) + 1
        existing = {v: s for v, s, _ in rows}
        if existing.get(version) == "ready":
            raise ConfigError(
                f"set {name}@v{version} is already built and ready; sets are immutable, "
                "build a new version instead (omit --version)"
            )
        resumed = version in existing
        con.execute(
            "INSERT OR REPLACE INTO sets (name, version, status, recipe, funnel, n_samples, run_id,"
            " created_at) VALUES (?, ?, 'building', ?, NULL, NULL, ?, current_timestamp)",
            [name, version, canonical_json(recipe_dict), run_id],
        )
    return version, resumed


def set_status(
    store, name: str, version: int, status: str, *, funnel: dict | None = None, n_samples: int | None = None
) -> None:
    with store.catalog() as con:
        con.execute(
            "UPDATE sets SET status = ?, funnel = coalesce(?, funnel), n_samples = coalesce(?, n_samples)"
            " WHERE name = ? AND version = ?",
            [
                status,
                json.dumps(funnel, default=str) if funnel is not None else None,
                n_samples,
                name,
                version,
            ],
        )


def list_sets(store, *, include_unready: bool = False) -> pl.DataFrame:
    where = "" if include_unready else "WHERE status = 'ready'"
    return store.sql(
        f"SELECT name, version, status, n_samples, run_id, created_at FROM sets {where} "
        "ORDER BY name, version"
    )


def resolve(store, ref: SetRef | str, *, ready_only: bool = True) -> dict[str, Any]:
    """The sets row of a reference (latest ready version when none is given), recipe/funnel decoded."""
    ref = parse_ref(ref) if isinstance(ref, str) else ref
    rows = store.sql("SELECT * FROM sets WHERE name = ? ORDER BY version", [ref.name]).to_dicts()
    if not rows:
        known = (
            store.sql("SELECT DISTINCT name FROM sets ORDER BY 1")["name"].to_list()
            if store.count("sets")
            else []
        )
        raise StoreError(f"no set named {ref.name!r}; sets in this store: {known}")
    if ref.version is None:
        rows = [r for r in rows if r["status"] == "ready"]
        if not rows:
            raise StoreError(f"set {ref.name!r} has no ready version yet (builds unfinished or failed)")
        row = rows[-1]
    else:
        match = [r for r in rows if r["version"] == ref.version]
        if not match:
            raise StoreError(
                f"no version {ref.version} of set {ref.name!r}; versions: {[r['version'] for r in rows]}"
            )
        row = match[0]
    if ready_only and row["status"] != "ready":
        raise StoreError(
            f"set {ref.name}@v{row['version']} is {row['status']}, not ready; rebuild it with "
            "`r1h curate` (same recipe resumes it)"
        )
    for key in ("recipe", "funnel"):
        row[key] = json.loads(row[key]) if row.get(key) else None
    return row


def samples_query(name: str, version: int, columns: str = "*") -> tuple[str, list]:
    """SQL for the samples of one ready set version (joins sets, so unready sets yield nothing)."""
    return (
        f"SELECT {columns} FROM sft_samples s JOIN sets t ON t.name = s.set_name "
        "AND t.version = s.set_version AND t.status = 'ready' "
        "WHERE s.set_name = ? AND s.set_version = ? ORDER BY s.sample_id",
        [name, version],
    )


def composition(store, name: str, version: int) -> pl.DataFrame:
    q, params = samples_query(name, version, "s.domain, count(*) AS n")
    q = q.replace(" ORDER BY s.sample_id", " GROUP BY s.domain ORDER BY s.domain")
    return store.sql(q, params)


def diff(store, a: SetRef | str, b: SetRef | str) -> dict[str, Any]:
    """Membership difference of two ready sets by rollout (samples of different versions have different
    sample ids but point at the same rollouts)."""
    ra, rb = resolve(store, a), resolve(store, b)
    qa, pa = samples_query(ra["name"], ra["version"], "coalesce(s.rollout_id, s.sample_id) AS key, s.domain")
    qb, pb = samples_query(rb["name"], rb["version"], "coalesce(s.rollout_id, s.sample_id) AS key, s.domain")
    da, db = store.sql(qa, pa), store.sql(qb, pb)
    only_a = da.join(db, on="key", how="anti")
    only_b = db.join(da, on="key", how="anti")
    by_domain = (
        pl.concat([only_a.with_columns(side=pl.lit("only_a")), only_b.with_columns(side=pl.lit("only_b"))])
        .group_by("side", "domain")
        .len()
        .sort("side", "domain")
    )
    return {
        "a": f"{ra['name']}@v{ra['version']}",
        "b": f"{rb['name']}@v{rb['version']}",
        "n_a": da.height,
        "n_b": db.height,
        "common": da.height - only_a.height,
        "only_a": only_a.height,
        "only_b": only_b.height,
        "by_domain": by_domain.to_dicts(),
        "recipe_changes": recipe_changes(ra["recipe"] or {}, rb["recipe"] or {}),
    }


def recipe_changes(a: dict, b: dict, prefix: str = "") -> list[dict[str, Any]]:
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += recipe_changes(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append({"key": f"{prefix}{key}", "a": va, "b": vb})
    return out
