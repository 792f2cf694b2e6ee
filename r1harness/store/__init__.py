"""The store: DuckDB catalog + append-only Parquet shards. `Store.open(path)` is the entry point."""

from r1harness.store.store import AppendResult, Store, default_store_path

__all__ = ["Store", "AppendResult", "default_store_path"]
