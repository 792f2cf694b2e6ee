"""Named, ordered schema migrations, each recorded in the catalog's `migrations` table once applied, and
the store's format version.

Add a migration by appending (name, function) to MIGRATIONS; never edit or reorder an applied one. A
migration must be safe to run again from any point: `migrate` records it only after it returns, so one
killed half-way runs again (and completes) on the next open for writing. `shards.write_batch` with a
fixed batch name is such a step: a batch already committed under that name is kept.

Shard tables get a zero-row "schema" batch so that reading an empty table works and new columns appear.

The format version is the number of migrations a store has applied. It is written to `r1h-store.json`
(readable without DuckDB) so that code knowing fewer migrations refuses to write into a newer store
instead of appending rows without its new columns; reading still works.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from r1harness.errors import StoreError
from r1harness.store import shards
from r1harness.store.catalog import SNAPSHOT_DIR, catalog_connection, catalog_transaction
from r1harness.store.schema import CATALOG_DDL, SHARD_TABLES

MARKER = "r1h-store.json"


def _initial(store) -> None:
    with catalog_transaction(store.catalog_path) as con:
        for ddl in CATALOG_DDL.values():
            con.execute(ddl)
    for spec in SHARD_TABLES.values():
        shards.write_batch(store.root, spec.name, spec.schema.empty_table(), batch_name="schema-0001")


def _generations(store) -> None:
    """Format 1 kept compacted-away batches in the table directory, hidden by `_supersedes.json`; from
    format 2 each table directory is a link to a generation holding only its visible batches."""
    for name in SHARD_TABLES:
        with shards.table_lock(store.root, name):
            shards.convert_legacy_table(store.root, name)


def _annotation_queue(store) -> None:
    """Labels remember the audit queue they were given in (`r1harness.curate.audit.Queue`)."""
    with catalog_transaction(store.catalog_path) as con:
        con.execute("ALTER TABLE annotations ADD COLUMN IF NOT EXISTS queue VARCHAR")


def _gold_corrections(store) -> None:
    """Corrected gold answers as versions of a prompt's gold (r1harness.store.golds)."""
    with catalog_transaction(store.catalog_path) as con:
        con.execute(CATALOG_DDL["gold_corrections"])


MIGRATIONS: list[tuple[str, Callable]] = [
    ("0001_initial", _initial),
    ("0002_generations", _generations),
    ("0003_annotation_queue", _annotation_queue),
    ("0004_gold_corrections", _gold_corrections),
]


def format_version() -> int:
    """The store format this code writes."""
    return len(MIGRATIONS)


def read_marker(root: Path) -> dict:
    path = root / MARKER
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path} is unreadable ({exc}); it records the store's format version") from None


def write_marker(root: Path, version: int) -> None:
    from r1harness import __version__

    tmp = root / f".{MARKER}.{os.getpid()}"
    tmp.write_text(json.dumps({"format": version, "written_by": f"r1harness {__version__}"}) + "\n")
    os.replace(tmp, root / MARKER)


def check_writable(root: Path, applied_names: list[str] | None = None) -> None:
    """Refuse to write into a store made by newer code (one with migrations this code does not know)."""
    known = {name for name, _ in MIGRATIONS}
    marker = read_marker(root)
    unknown = sorted(set(applied_names or []) - known)
    if int(marker.get("format", 0)) > format_version() or unknown:
        need = max(int(marker.get("format", 0)), format_version() + len(unknown))
        raise StoreError(
            f"the store at {root} is format {need} ({marker.get('written_by', 'newer r1harness')}"
            f"{'; migrations ' + ', '.join(unknown) if unknown else ''}); this r1harness writes format "
            f"{format_version()} and will not write into it. Upgrade r1harness to one that writes format "
            f"{need} or later (reading with this version works)"
        )


def applied(store) -> list[str]:
    # A plain connection, not catalog_transaction: opening a store should not rewrite the snapshot.
    with catalog_connection(store.catalog_path) as con:
        con.execute(CATALOG_DDL["migrations"])
        return [r[0] for r in con.execute("SELECT name FROM migrations ORDER BY name").fetchall()]


def migrate(store) -> list[str]:
    """Apply pending migrations in order (the caller holds the store's migrate lock); returns the names
    applied now."""
    check_writable(store.root)
    done = applied(store)
    check_writable(store.root, done)
    now = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        fn(store)
        with catalog_transaction(store.catalog_path) as con:
            con.execute("INSERT INTO migrations (name) VALUES (?) ON CONFLICT DO NOTHING", [name])
        now.append(name)
    if not (store.root / SNAPSHOT_DIR / "migrations.parquet").exists():  # a store older than snapshots
        with catalog_transaction(store.catalog_path):
            pass
    if int(read_marker(store.root).get("format", 0)) != format_version():
        write_marker(store.root, format_version())
    return now
