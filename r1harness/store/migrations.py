"""Named, ordered schema migrations, each recorded in the catalog's `migrations` table once applied.

Add a migration by appending (name, function) to MIGRATIONS; never edit or reorder an applied one.
Shard tables get a zero-row "schema" batch so that reading an empty table works and new columns appear.
"""

from __future__ import annotations

from collections.abc import Callable

from r1harness.store import shards
from r1harness.store.catalog import catalog_transaction
from r1harness.store.schema import CATALOG_DDL, SHARD_TABLES


def _initial(store) -> None:
    with catalog_transaction(store.catalog_path) as con:
        for ddl in CATALOG_DDL.values():
            con.execute(ddl)
    for spec in SHARD_TABLES.values():
        if not (shards.table_dir(store.root, spec.name) / "schema-0001").exists():
            shards.write_batch(store.root, spec.name, spec.schema.empty_table(), batch_name="schema-0001")


MIGRATIONS: list[tuple[str, Callable]] = [
    ("0001_initial", _initial),
]


def applied(store) -> list[str]:
    with catalog_transaction(store.catalog_path) as con:
        con.execute(CATALOG_DDL["migrations"])
        return [r[0] for r in con.execute("SELECT name FROM migrations ORDER BY name").fetchall()]


def migrate(store) -> list[str]:
    """Apply pending migrations in order; returns the names applied now."""
    done = set(applied(store))
    now = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        fn(store)
        with catalog_transaction(store.catalog_path) as con:
            con.execute("INSERT INTO migrations (name) VALUES (?) ON CONFLICT DO NOTHING", [name])
        now.append(name)
    return now
