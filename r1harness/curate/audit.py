"""Human audit of sets: draw samples to label, record accept / reject / edit with a reason.

Labels are `annotations` rows on the sample's rollout (target_kind 'rollout'), so they outlive set versions:
a recipe with the `accepted` filter keeps only rollouts whose latest label is accept or edit, and an edit's
text replaces the completion in the next build (R1's cold-start data was curated by hand this way).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl

from r1harness.curate.sets import resolve, samples_query
from r1harness.errors import ConfigError, StoreError
from r1harness.store.ids import content_id

LABELS = ("accept", "reject", "edit")


def draw(store, ref: str, n: int = 50, seed: int = 0) -> pl.DataFrame:
    """n samples of a ready set in a seeded, reproducible order, with the text to judge."""
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    row = resolve(store, ref)
    query, params = samples_query(
        row["name"], row["version"], "s.sample_id, s.rollout_id, s.domain, s.messages"
    )
    query = query.replace("ORDER BY s.sample_id", "ORDER BY md5(? || s.sample_id) LIMIT ?")
    df = store.sql(query, [*params, str(seed), n])
    msgs = df["messages"].str.json_decode(pl.List(pl.Struct({"role": pl.String, "content": pl.String})))
    prompt = msgs.list.eval(
        pl.element().filter(pl.element().struct.field("role") == "user").struct.field("content")
    ).list.last()
    answer = msgs.list.last().struct.field("content")
    return df.select(
        "sample_id",
        "rollout_id",
        "domain",
        prompt=prompt,
        completion=answer,
        set=pl.lit(f"{row['name']}@v{row['version']}"),
    )


def label(
    store,
    *,
    label: str,
    sample_id: str | None = None,
    rollout_id: str | None = None,
    reason: str | None = None,
    edited_text: str | None = None,
    annotator: str | None = None,
    set_name: str | None = None,
) -> dict[str, Any]:
    """Record one label; returns the annotations row written."""
    return label_many(
        store,
        [
            {
                "sample_id": sample_id,
                "rollout_id": rollout_id,
                "label": label,
                "reason": reason,
                "edited_text": edited_text,
                "annotator": annotator,
                "set_name": set_name,
            }
        ],
    )[0]


def label_many(store, items: list[dict[str, Any]], where: str = "labels") -> list[dict[str, Any]]:
    """Validate every label, then write them all in one catalog transaction (all or nothing)."""
    rows = [_row(store, item, f"{where} record {i + 1}") for i, item in enumerate(items)]
    store.catalog_insert("annotations", rows, on_conflict="replace")
    return rows


def _row(store, item: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(item) - {
        "sample_id",
        "rollout_id",
        "label",
        "reason",
        "edited_text",
        "annotator",
        "set_name",
    }
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    lab = item.get("label")
    if lab not in LABELS:
        raise ConfigError(f"{where}: label must be one of {LABELS}, got {lab!r}")
    if lab == "edit" and not item.get("edited_text"):
        raise ConfigError(f"{where}: an edit needs the corrected text (--edited-text or --edited-file)")
    if lab != "accept" and not item.get("reason"):
        raise ConfigError(f"{where}: a {lab} needs a --reason (what was wrong), so the audit can be reviewed")
    target, set_name = _target(store, item, where)
    now = dt.datetime.now(dt.UTC)
    return {
        "annotation_id": content_id(
            "annotation",
            target,
            lab,
            item.get("reason"),
            item.get("edited_text"),
            item.get("annotator"),
            now.isoformat(),
        ),
        "target_kind": "rollout",
        "target_id": target,
        "set_name": set_name,
        "label": lab,
        "reason": item.get("reason"),
        "edited_text": item.get("edited_text"),
        "annotator": item.get("annotator"),
        "created_at": now,
    }


def _target(store, item: dict[str, Any], where: str) -> tuple[str, str | None]:
    if item.get("sample_id"):
        found = store.sql(
            "SELECT rollout_id, set_name, set_version FROM sft_samples WHERE sample_id = ?",
            [item["sample_id"]],
        )
        if not found.height:
            raise StoreError(f"{where}: no sample {item['sample_id']!r} in the store")
        rid = found["rollout_id"][0]
        if rid is None:
            raise StoreError(f"{where}: sample {item['sample_id']} has no rollout to label")
        return rid, item.get("set_name") or f"{found['set_name'][0]}@v{found['set_version'][0]}"
    if item.get("rollout_id"):
        if not store.existing_ids("rollouts", [item["rollout_id"]]):
            raise StoreError(f"{where}: no rollout {item['rollout_id']!r} in the store")
        return item["rollout_id"], item.get("set_name")
    raise ConfigError(f"{where}: give a sample_id or a rollout_id to label")


def read_label_file(path: str) -> list[dict[str, Any]]:
    """JSONL of {sample_id|rollout_id, label, reason, edited_text, annotator}; errors name the line."""
    items = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{n}: malformed JSON ({exc.msg}); fix or remove the line") from None
            if not isinstance(obj, dict):
                raise ConfigError(f"{path}:{n}: expected a JSON object")
            items.append(obj)
    return items


def labels(store, set_name: str | None = None) -> pl.DataFrame:
    """Latest label per labelled rollout (optionally only those recorded against one set)."""
    where, params = ("WHERE set_name = ?", [set_name]) if set_name else ("", None)
    return store.sql(
        f"SELECT * FROM annotations {where} QUALIFY row_number() OVER "
        "(PARTITION BY target_kind, target_id ORDER BY created_at DESC) = 1 ORDER BY created_at",
        params,
    )
