"""Human audit of sets: draw samples to label, record accept / reject / edit with a reason.

Labels are `annotations` rows on the sample's rollout (target_kind 'rollout'), so they outlive set versions:
a recipe with the `accepted` filter keeps only rollouts whose latest label is accept or edit, and an edit's
text replaces the completion in the next build (R1's cold-start data was curated by hand this way).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from r1harness.configs import check_keys
from r1harness.curate.sets import resolve, samples_query
from r1harness.errors import ConfigError, StoreError
from r1harness.store.ids import content_id

LABELS = ("accept", "reject", "edit")
LABEL_FIELDS = ("sample_id", "rollout_id", "label", "reason", "edited_text", "annotator", "set_name", "queue")
# what `draw` and `export_labels` add for the reader; a label file may carry them back unchanged
CONTEXT_FIELDS = ("domain", "prompt", "completion", "set", "gold", "verdict", "created_at")


def draw(store, ref: str, n: int = 50, seed: int = 0) -> pl.DataFrame:
    """n samples of a ready set in a seeded, reproducible order, with the text to judge."""
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    row = resolve(store, ref)
    query, params = samples_query(
        row["name"],
        row["version"],
        "s.sample_id, s.rollout_id, s.domain, s.messages, p.answer AS gold, "
        "(SELECT string_agg(w.verifier || '=' || w.status, ', ' ORDER BY w.verifier) FROM rewards w "
        "WHERE w.rollout_id = s.rollout_id AND NOT starts_with(w.verifier, 'readability')) AS verdict",
    )
    query = query.replace(
        " WHERE s.set_name", " LEFT JOIN prompts p ON p.prompt_id = s.prompt_id WHERE s.set_name"
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
        gold="gold",
        verdict="verdict",
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
    check_keys(item, set(LABEL_FIELDS), where, noun="field(s)", label="fields are")
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
            item.get("queue"),
            now.isoformat(),
        ),
        "target_kind": "rollout",
        "target_id": target,
        "set_name": set_name,
        "label": lab,
        "reason": item.get("reason"),
        "edited_text": item.get("edited_text"),
        "annotator": item.get("annotator"),
        "queue": item.get("queue"),
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
    """Labels from JSONL or a JSON array (what `r1h audit sample --format json` writes, with a label
    filled in): {sample_id|rollout_id, label, reason, edited_text, annotator}. The sample's context fields
    are ignored; records still without a label are skipped. Errors name the line or record."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if text.lstrip().startswith("["):
        try:
            records = [(f"record {i}", obj) for i, obj in enumerate(json.loads(text), start=1)]
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
    else:
        records = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((f"line {n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{n}: malformed JSON ({exc.msg}); fix or remove the line") from None
    items = []
    for where, obj in records:
        if not isinstance(obj, dict):
            raise ConfigError(f"{path} {where}: expected a JSON object")
        if obj.get("label") is None:
            continue
        items.append({k: v for k, v in obj.items() if k not in CONTEXT_FIELDS and v is not None})
    return items


def labels(store, set_name: str | None = None) -> pl.DataFrame:
    """Latest label per labelled rollout (optionally only those recorded against one set)."""
    where, params = ("WHERE set_name = ?", [set_name]) if set_name else ("", None)
    return store.sql(
        f"SELECT * FROM annotations {where} QUALIFY row_number() OVER "
        "(PARTITION BY target_kind, target_id ORDER BY created_at DESC) = 1 ORDER BY created_at",
        params,
    )


# -- audit queues ---------------------------------------------------------------------------------------
# A queue is a source of traces (a ready set, or a SQL condition over rollouts) in a seeded order. Its
# canonical text names it in `annotations.queue`, so labels from the web page and the CLI land together.
# The first `overlap` items are for every annotator (agreement is measured on them); after those, an item
# one annotator has labelled is not offered to the next, so two curators split the rest of the work.
QUEUE_LIMIT = 100_000  # the most items a queue orders (a larger source: narrow it with a condition)


@dataclass(frozen=True)
class Queue:
    set_ref: str | None = None
    where: str | None = None  # a condition over rollouts r (and their prompt p)
    seed: int = 0
    overlap: int = 20

    def __post_init__(self):
        if (self.set_ref is None) == (self.where is None):
            raise ConfigError("an audit queue takes either a set (NAME@vN) or a condition over rollouts")
        if self.overlap < 0:
            raise ConfigError(f"overlap is a number of items, 0 or more; got {self.overlap}")
        if self.where is not None:
            check_condition(self.where)

    @property
    def name(self) -> str:
        source = f"set:{self.set_ref}" if self.set_ref else f"where:{self.where}"
        return f"{source}#seed={self.seed}"

    @classmethod
    def from_name(cls, name: str, overlap: int = 20) -> Queue:
        source, _, seed = name.rpartition("#seed=")
        kind, _, value = source.partition(":")
        if kind not in ("set", "where") or not seed.isdigit():
            raise ConfigError(f"not a queue name: {name!r}; expected set:NAME@vN#seed=S or where:COND#seed=S")
        return cls(**{"set_ref" if kind == "set" else "where": value}, seed=int(seed), overlap=overlap)


def check_condition(where: str) -> str:
    """A user's SQL condition may filter, never write or chain statements: one expression, no comments."""
    if any(token in where for token in (";", "--", "/*")):
        raise ConfigError("the condition must be one SQL expression: no ';' and no comments")
    return where


def queue_order(store, queue: Queue) -> pl.DataFrame:
    """(position, rollout_id, sample_id) of every item, in the queue's seeded order."""
    if queue.set_ref:
        row = resolve(store, queue.set_ref)
        query, params = samples_query(row["name"], row["version"], "s.rollout_id, s.sample_id")
        query = query.replace("ORDER BY s.sample_id", "AND s.rollout_id IS NOT NULL")
    else:
        query, params = (
            "SELECT r.rollout_id, NULL AS sample_id FROM rollouts r LEFT JOIN prompts p USING (prompt_id) "
            f"WHERE ({queue.where})",
            [],
        )
    return store.sql(
        f"SELECT row_number() OVER (ORDER BY md5(? || rollout_id)) - 1 AS position, rollout_id, sample_id "
        f"FROM ({query}) ORDER BY position LIMIT {QUEUE_LIMIT}",
        [str(queue.seed), *params],
    )


def queue_labels(store, queue: Queue) -> pl.DataFrame:
    """Each annotator's latest label per item of this queue."""
    return store.sql(
        "SELECT * FROM annotations WHERE queue = ? QUALIFY row_number() OVER "
        "(PARTITION BY target_id, coalesce(annotator, '') ORDER BY created_at DESC) = 1",
        [queue.name],
    )


def next_item(store, queue: Queue, annotator: str, skip: frozenset = frozenset()) -> dict[str, Any] | None:
    """The first item in queue order this annotator has not labelled (nor skipped) and, past the overlap,
    nobody has."""
    order, labels = queue_order(store, queue), queue_labels(store, queue)
    mine = set(labels.filter(pl.col("annotator") == annotator)["target_id"].to_list())
    anyone = set(labels["target_id"].to_list())
    for item in order.iter_rows(named=True):
        taken = item["rollout_id"] in (mine if item["position"] < queue.overlap else anyone)
        if not taken and item["rollout_id"] not in skip:
            return item
    return None


def progress(store, queue: Queue, annotator: str | None = None) -> dict[str, Any]:
    """Items in the queue, items labelled by anyone, by this annotator, and labels per annotator."""
    order, labels = queue_order(store, queue), queue_labels(store, queue)
    per_annotator = labels.group_by("annotator").len().sort("annotator").to_dicts()
    return {
        "queue": queue.name,
        "items": order.height,
        "labelled": labels["target_id"].n_unique(),
        "mine": labels.filter(pl.col("annotator") == annotator).height if annotator else None,
        "overlap": min(queue.overlap, order.height),
        "by_annotator": {r["annotator"]: r["len"] for r in per_annotator},
    }


def agreement(store, queue: Queue, a: str, b: str) -> dict[str, Any]:
    """Cohen's kappa of two annotators over the items both labelled, and the items they disagree on."""
    labels = queue_labels(store, queue).select("target_id", "annotator", "label", "reason")
    both = labels.filter(pl.col("annotator") == a).join(
        labels.filter(pl.col("annotator") == b), on="target_id", suffix="_b"
    )
    result: dict[str, Any] = {"queue": queue.name, "a": a, "b": b, "both": both.height, "kappa": None}
    if both.height:
        from sklearn.metrics import cohen_kappa_score

        same = (both["label"] == both["label_b"]).mean()
        result["observed_agreement"] = float(same)
        # kappa is undefined (nan) when both annotators used one and the same label throughout
        kappa = cohen_kappa_score(both["label"].to_list(), both["label_b"].to_list(), labels=list(LABELS))
        result["kappa"] = None if kappa != kappa else float(kappa)
    result["disagreements"] = both.filter(pl.col("label") != pl.col("label_b")).to_dicts()
    return result


def export_labels(store, queue: Queue | None = None) -> pl.DataFrame:
    """Every label (of a queue, or all), oldest first, in the file format `r1h audit label --file` reads
    back, plus who and when."""
    where, params = ("WHERE queue = ?", [queue.name]) if queue else ("", None)
    return store.sql(
        "SELECT target_id AS rollout_id, label, reason, edited_text, annotator, set_name, queue, created_at "
        f"FROM annotations {where} ORDER BY created_at",
        params,
    )
