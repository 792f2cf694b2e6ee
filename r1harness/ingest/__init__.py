"""Ingest: files, `datasets` folders, hub ids and dataset manifests into the `prompts` table."""

from r1harness.ingest.ingest import (
    IngestSummary,
    PreparedIngest,
    ingest_file,
    ingest_manifest,
    ingest_records,
    prepare_file,
    prepare_manifest,
    prepare_records,
    read_prompts,
)
from r1harness.ingest.manifest import Manifest, list_manifests, load_manifest

__all__ = [
    "IngestSummary",
    "Manifest",
    "PreparedIngest",
    "ingest_file",
    "ingest_manifest",
    "ingest_records",
    "list_manifests",
    "load_manifest",
    "prepare_file",
    "prepare_manifest",
    "prepare_records",
    "read_prompts",
]
