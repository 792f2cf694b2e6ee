"""Importers: other systems' rollouts (verl, TRL, lighteval, hub reasoning datasets) into the store with
lineage. `import_source(store, "verl", path, dataset=...)`; the CLI is `r1h import SOURCE PATH`."""

from __future__ import annotations

from r1harness.errors import ConfigError
from r1harness.importers.records import Imported, ImportSummary, import_records
from r1harness.importers.sources import read_hub, read_lighteval, read_trl, read_verl

# source name -> (reader, the writer's format this reader follows)
SOURCES = {
    "verl": (read_verl, "verl rollout/validation dump ({step}.jsonl), volcengine/verl@b178a3cd"),
    "trl": (read_trl, "TRL GRPO completions_{step}.parquet, trl 1.16"),
    "lighteval": (read_lighteval, "lighteval details_{task}_{date}.parquet, huggingface/lighteval@3fd15266"),
    "hub": (read_hub, "OpenR1-Math (generations[]) / OpenThoughts (conversations) rows"),
}


def import_source(
    store,
    source: str,
    path: str,
    *,
    dataset: str,
    model: str | None = None,
    split: str | None = None,
    config: str | None = None,
) -> ImportSummary:
    """Read `path` as `source` and write its prompts, rollouts and scores (idempotent)."""
    if source not in SOURCES:
        raise ConfigError(f"unknown import source {source!r}; sources are {', '.join(SOURCES)}")
    reader, fmt = SOURCES[source]
    records = reader(path, split=split, config=config) if source == "hub" else reader(path)
    return import_records(
        store, records, source=source, path=path, dataset=dataset, model=model, format_version=fmt
    )


__all__ = ["SOURCES", "ImportSummary", "Imported", "import_records", "import_source"]
