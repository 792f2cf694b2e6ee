"""Turn source records into `prompts` rows and append them in one atomic batch (all or nothing)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from r1harness.errors import IngestError
from r1harness.ingest.manifest import DOMAINS, Manifest, load_manifest
from r1harness.ingest.normalize import NORMALIZERS, tests_json
from r1harness.ingest.readers import read_records
from r1harness.store import AppendResult
from r1harness.store.golds import next_versions
from r1harness.store.ids import prompt_id

PROBLEM_CANDIDATES = ("problem", "question", "prompt", "input")
# What to do when one problem comes with two different gold answers (tests, ...) in one input.
ON_CONFLICT = ("error", "first", "last", "correct")
DEFAULT_VERIFIER = {"math": "math", "science": "math", "code": "code", "general": None}


@dataclass(frozen=True)
class IngestSummary:
    dataset: str
    source: str
    rows_read: int
    written: int
    skipped_existing: int
    merged_duplicates: int
    run_id: str | None
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_fields(columns: set[str], mapping: dict[str, str], source: str) -> dict[str, str]:
    """prompts field -> source column, from the explicit mapping or well-known column names."""
    fields = dict(mapping)
    if "problem" not in fields:
        found = next((c for c in PROBLEM_CANDIDATES if c in columns), None)
        if found is None:
            raise IngestError(
                f"{source}: no problem column; map one with --map problem=COLUMN (columns: {sorted(columns)})"
            )
        fields["problem"] = found
    for optional in ("answer", "tests"):
        if optional not in fields and optional in columns:
            fields[optional] = optional
    for target, column in fields.items():
        if column not in columns:
            raise IngestError(
                f"{source}: field {column!r} (mapped to {target}) not found; columns are {sorted(columns)}"
            )
    return fields


def build_rows(
    records: list[dict],
    locations: list[str],
    *,
    dataset: str,
    split: str | None,
    domain: str,
    verifier: str | None,
    fields: dict[str, str],
    normalize: dict[str, list[str]],
    metadata: list[str] | None,
    source: str,
    on_conflict: str = "error",
) -> list[dict[str, Any]]:
    if domain not in DOMAINS:
        raise IngestError(f"domain must be one of {DOMAINS}, got {domain!r}")
    used = set(fields.values())
    rows = []
    for index, (record, where) in enumerate(zip(records, locations)):
        row = {
            "dataset": dataset,
            "split": split,
            "domain": domain,
            "verifier": verifier,
            "source": source,
            "source_index": index,
        }
        for target, column in fields.items():
            row[target] = _field_value(record.get(column), target, column, normalize.get(target, []), where)
        if not row.get("problem"):
            raise IngestError(f"{where}: field {fields['problem']!r} (the problem) is empty or missing")
        keep = metadata if metadata is not None else [k for k in record if k not in used]
        row["metadata"] = json.dumps({k: record.get(k) for k in keep}, ensure_ascii=False, default=str)
        _check_encodable(row, where)
        row["prompt_id"] = prompt_id(dataset, row["problem"])
        rows.append(row)
    return _resolve_conflicts(rows, list(locations), on_conflict)


GOLD_FIELDS = ("answer", "tests")


def _resolve_conflicts(rows: list[dict], locations: list[str], on_conflict: str) -> list[dict]:
    """One problem twice with different gold: an error naming both places, or keep the first/last.
    Exact repeats stay (the store merges them and counts them)."""
    if on_conflict not in ON_CONFLICT:
        raise IngestError(f"on_conflict must be one of {ON_CONFLICT}, got {on_conflict!r}")
    first: dict[str, int] = {}
    drop: set[int] = set()
    for i, row in enumerate(rows):
        j = first.setdefault(row["prompt_id"], i)
        if j == i or all(rows[j][f] == row[f] for f in GOLD_FIELDS if f in row):
            continue
        if on_conflict in ("error", "correct"):  # 'correct' is against the store: the input must agree
            field = next(f for f in GOLD_FIELDS if f in row and rows[j][f] != row[f])
            raise IngestError(
                f"{locations[i]}: the same problem as {locations[j]} with a different {field} "
                f"({row[field]!r} here, {rows[j][field]!r} there); fix one of them, or choose with "
                "--on-conflict first|last"
            )
        if on_conflict == "first":
            drop.add(i)
        else:
            drop.add(j)
            first[row["prompt_id"]] = i
    if drop:
        kept = [i for i in range(len(rows)) if i not in drop]
        rows[:] = [rows[i] for i in kept]
        locations[:] = [locations[i] for i in kept]
    for row, where in zip(rows, locations):
        row["_where"] = where
    return rows


def _check_encodable(row: dict, where: str) -> None:
    for key, value in row.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                bad = value[exc.start : exc.end].encode("unicode_escape").decode()
                raise IngestError(
                    f"{where}: field {key!r} holds a lone surrogate {bad} (half of a UTF-16 pair, not "
                    "text); fix the \\u escape in the source"
                ) from None


def _field_value(value: Any, target: str, column: str, normalizers: list[str], where: str) -> Any:
    if value is None:
        return None
    try:
        for name in normalizers:
            value = NORMALIZERS[name](value)
        if target == "tests":
            return tests_json(value)
    except (ValueError, TypeError) as exc:
        raise IngestError(f"{where}: field {column!r} ({target}): {exc}") from None
    if target == "problem" and not isinstance(value, str):
        raise IngestError(f"{where}: field {column!r} (problem) must be text, got {type(value).__name__}")
    if target == "answer":
        if isinstance(value, float) and not math.isfinite(value):
            raise IngestError(
                f"{where}: field {column!r} (answer) is {value}, not a gold answer; fix or remove the row"
            )
        if isinstance(value, (dict, list)):
            raise IngestError(
                f"{where}: field {column!r} (answer) must be text or a number, "
                f"got {type(value).__name__}; map another column or add a normaliser"
            )
        return NORMALIZERS["text"](value)
    return value


@dataclass
class PreparedIngest:
    """Rows read and validated, not yet written: preparing never opens a store, so bad input can neither
    create one nor leave anything in one."""

    dataset: str
    source: str
    rows: list[dict[str, Any]]
    rows_read: int
    run_config: dict
    on_conflict: str
    started: float

    def commit(self, store) -> IngestSummary:
        """Append the rows in one atomic batch, recorded as an `ingest` run."""
        from r1harness.store.runs import recorded_run

        rows, corrections = _against_store(store, self.rows, self.on_conflict)
        with recorded_run(store, "ingest", name=self.dataset, config=self.run_config) as run:
            for row in rows:
                row["run_id"] = run.run_id
            result = store.append("prompts", rows) if rows else AppendResult("prompts", 0, 0, 0)
            if corrections:
                for c in corrections:
                    c["run_id"] = run.run_id
                store.catalog_insert("gold_corrections", corrections)
                run.summary = {"gold_corrections": len(corrections)}
            summary = IngestSummary(
                self.dataset,
                self.source,
                self.rows_read,
                result.written,
                result.skipped_existing + len(self.rows) - len(rows),
                result.merged_duplicates,
                run.run_id,
                round(time.perf_counter() - self.started, 3),
            )
            run.summary = {**run.summary, **summary.to_dict()}
        return summary


def _against_store(store, rows: list[dict], on_conflict: str) -> tuple[list[dict], list[dict]]:
    """(rows to append, gold corrections) for problems the store already holds with other gold: an error
    naming the stored row and the new one; 'first' keeps the stored gold; 'correct' records the new gold
    as the next version of the prompt's gold (r1harness.store.golds), never rewriting the stored row."""
    where = {row["prompt_id"]: row.pop("_where", None) for row in rows}
    present = store.existing_ids("prompts", list(where))
    if not present:
        return rows, []
    stored = store.sql(
        "SELECT prompt_id, answer, tests, source, source_index FROM prompts "
        "WHERE list_contains(?, prompt_id)",
        [sorted(present)],
    )
    new = {row["prompt_id"]: row for row in rows}
    skip, corrections = set(), []
    for old in stored.iter_rows(named=True):
        row = new[old["prompt_id"]]
        differs = [f for f in GOLD_FIELDS if row.get(f) != old[f]]
        if not differs:
            continue
        if on_conflict in ("first", "correct"):
            skip.add(old["prompt_id"])
            if on_conflict == "correct":
                corrections.append(_correction(row, old, where[old["prompt_id"]]))
            continue
        f = differs[0]
        raise IngestError(
            f"{where[old['prompt_id']]}: the store already holds this problem with a different {f} "
            f"({old[f]!r}, ingested from {old['source']} row {old['source_index']}; {row.get(f)!r} here). "
            "A stored prompt's gold is not replaced in place; use --on-conflict correct to record this one "
            "as its next gold version (then r1h verify --reverify), or --on-conflict first to keep it"
        )
    if corrections:
        versions = next_versions(store, [c["prompt_id"] for c in corrections])
        for c in corrections:
            c["version"] = versions[c["prompt_id"]]
    return [r for r in rows if r["prompt_id"] not in skip], corrections


def _correction(row: dict, old: dict, where: str | None) -> dict:
    return {
        "prompt_id": old["prompt_id"],
        "answer": row.get("answer"),
        "tests": row.get("tests"),
        "previous_answer": old["answer"],
        "previous_tests": old["tests"],
        "source": row.get("source"),
        "source_index": row.get("source_index"),
    }


def prepare_records(
    records: list[dict],
    locations: list[str],
    *,
    dataset: str,
    source: str,
    split: str | None = None,
    domain: str = "math",
    verifier: str | None = None,
    mapping: dict[str, str] | None = None,
    normalize: dict[str, list[str]] | None = None,
    metadata: list[str] | None = None,
    config: dict | None = None,
    on_conflict: str = "error",
) -> PreparedIngest:
    """Validate every record (nothing is written)."""
    started = time.perf_counter()
    columns = set().union(*(r.keys() for r in records))
    fields = resolve_fields(columns, mapping or {}, source)
    verifier = verifier if verifier is not None else DEFAULT_VERIFIER.get(domain)
    rows = build_rows(
        records,
        locations,
        dataset=dataset,
        split=split,
        domain=domain,
        verifier=verifier,
        fields=fields,
        normalize=normalize or {},
        metadata=metadata,
        source=source,
        on_conflict=on_conflict,
    )
    run_config = {"source": source, "fields": fields, **(config or {})}
    return PreparedIngest(dataset, source, rows, len(records), run_config, on_conflict, started)


def ingest_records(store, records: list[dict], locations: list[str], **kwargs) -> IngestSummary:
    """Validate every record first, then append them all in one atomic batch (see prepare_records)."""
    return prepare_records(records, locations, **kwargs).commit(store)


def prepare_file(
    path: str,
    *,
    dataset: str,
    split: str | None = None,
    domain: str = "math",
    mapping: dict[str, str] | None = None,
    verifier: str | None = None,
    config: str | None = None,
    revision: str | None = None,
    on_conflict: str = "error",
) -> PreparedIngest:
    records, locations = read_records(str(path), split=split, config=config, revision=revision)
    return prepare_records(
        records,
        locations,
        dataset=dataset,
        source=str(path),
        split=split,
        domain=domain,
        verifier=verifier,
        mapping=mapping,
        on_conflict=on_conflict,
    )


def ingest_file(store, path: str, **kwargs) -> IngestSummary:
    """Ingest a file, a `datasets` folder or a hub dataset id as `dataset` (see prepare_file)."""
    return prepare_file(path, **kwargs).commit(store)


def manifest_records(manifest: Manifest, from_path: str | None = None) -> tuple[list[dict], list[str], str]:
    """Read a manifest's records: --from FILE, else its local path if present, else its generator or hub."""
    src = manifest.source
    if from_path:
        return (*read_records(str(from_path), split=manifest.split), str(from_path))
    local = manifest.local_path
    if local is not None and local.exists():
        return (*read_records(str(local), split=manifest.split), str(local))
    if "generator" in src:
        return _generate(manifest)
    hub = src.get("hub")
    if hub:
        hub_id = hub["id"] if isinstance(hub, dict) else str(hub)
        opts = hub if isinstance(hub, dict) else {}
        records, locations = read_records(
            hub_id,
            split=opts.get("split", manifest.split),
            config=opts.get("config"),
            revision=opts.get("revision"),
        )
        return records, locations, f"{hub_id}@{opts.get('revision', 'main')}"
    where = f"{local} (missing)" if local is not None else "no path, generator or hub"
    raise IngestError(
        f"manifest {manifest.name}: no source available: {where}. Pass a file with --from FILE, "
        "or set R1H_DATA_DIR to the folder holding the benchmark data"
    )


def _generate(manifest: Manifest) -> tuple[list[dict], list[str], str]:
    from r1harness.resolve import resolve

    spec = manifest.source["generator"]
    fn = resolve(spec, what=f"manifest {manifest.name}: generator", error=IngestError)
    params = dict(manifest.source.get("params") or {})
    records = [dict(r) for r in fn(**params)]
    for r in records:  # generators return metadata as a dict; keep it flat in the source columns
        meta = r.pop("metadata", None) or {}
        r.update({k: v for k, v in meta.items() if k not in r})
    label = f"generator:{spec}({json.dumps(params, sort_keys=True)})"
    return records, [f"{label} row {i}" for i in range(len(records))], label


def read_prompts(manifest: Manifest | str, from_path: str | None = None) -> list[dict[str, Any]]:
    """The prompts rows a manifest would ingest, without touching a store (e.g. for decontamination)."""
    manifest = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
    records, locations, source = manifest_records(manifest, from_path)
    columns = set().union(*(r.keys() for r in records))
    fields = resolve_fields(columns, manifest.fields, source)
    verifier = manifest.verifier if manifest.verifier is not None else DEFAULT_VERIFIER.get(manifest.domain)
    rows = build_rows(
        records,
        locations,
        dataset=manifest.name,
        split=manifest.split,
        domain=manifest.domain,
        verifier=verifier,
        fields=fields,
        normalize=manifest.normalize,
        metadata=manifest.metadata,
        source=source,
    )
    for row in rows:
        row.pop("_where", None)
    return rows


def prepare_manifest(
    manifest: Manifest | str | Path, *, from_path: str | None = None, on_conflict: str = "error"
) -> PreparedIngest:
    manifest = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
    records, locations, source = manifest_records(manifest, from_path)
    return prepare_records(
        records,
        locations,
        dataset=manifest.name,
        source=source,
        split=manifest.split,
        domain=manifest.domain,
        verifier=manifest.verifier,
        mapping=manifest.fields,
        normalize=manifest.normalize,
        metadata=manifest.metadata,
        config={"manifest": manifest.origin, "manifest_version": manifest.version},
        on_conflict=on_conflict,
    )


def ingest_manifest(store, manifest: Manifest | str | Path, *, from_path: str | None = None, **kwargs):
    return prepare_manifest(manifest, from_path=from_path, **kwargs).commit(store)
