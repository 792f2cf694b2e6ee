"""Turn source records into `prompts` rows and append them in one atomic batch (all or nothing)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from r1harness.errors import IngestError
from r1harness.ingest.manifest import DOMAINS, Manifest, load_manifest
from r1harness.ingest.normalize import NORMALIZERS, tests_json
from r1harness.ingest.readers import read_records
from r1harness.store.ids import prompt_id

PROBLEM_CANDIDATES = ("problem", "question", "prompt", "input")
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
        row["prompt_id"] = prompt_id(dataset, row["problem"])
        rows.append(row)
    return rows


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
        if isinstance(value, (dict, list)):
            raise IngestError(
                f"{where}: field {column!r} (answer) must be text or a number, "
                f"got {type(value).__name__}; map another column or add a normaliser"
            )
        return NORMALIZERS["text"](value)
    return value


def ingest_records(
    store,
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
) -> IngestSummary:
    """Validate every record first, then append them all in one atomic batch."""
    from r1harness.store.runs import finish_run, start_run

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
    )
    # Only now, with every row valid, touch the store.
    run_id = start_run(
        store, "ingest", name=dataset, config={"source": source, "fields": fields, **(config or {})}
    )
    try:
        for row in rows:
            row["run_id"] = run_id
        result = store.append("prompts", rows)
    except BaseException as exc:
        finish_run(store, run_id, status="failed", error=str(exc))
        raise
    summary = IngestSummary(
        dataset,
        source,
        len(records),
        result.written,
        result.skipped_existing,
        result.merged_duplicates,
        run_id,
        round(time.perf_counter() - started, 3),
    )
    finish_run(store, run_id, summary=summary.to_dict())
    return summary


def ingest_file(
    store,
    path: str,
    *,
    dataset: str,
    split: str | None = None,
    domain: str = "math",
    mapping: dict[str, str] | None = None,
    verifier: str | None = None,
    config: str | None = None,
    revision: str | None = None,
) -> IngestSummary:
    """Ingest a file, a `datasets` folder or a hub dataset id as `dataset`."""
    records, locations = read_records(str(path), split=split, config=config, revision=revision)
    return ingest_records(
        store,
        records,
        locations,
        dataset=dataset,
        source=str(path),
        split=split,
        domain=domain,
        verifier=verifier,
        mapping=mapping,
    )


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
    import importlib

    spec = manifest.source["generator"]
    module_name, _, attr = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise IngestError(f"manifest {manifest.name}: cannot import generator {spec!r}: {exc}") from None
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
    return build_rows(
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


def ingest_manifest(store, manifest: Manifest | str | Path, *, from_path: str | None = None) -> IngestSummary:
    manifest = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
    records, locations, source = manifest_records(manifest, from_path)
    return ingest_records(
        store,
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
    )
