"""The store: a directory with a DuckDB catalog and append-only Parquet shards. See DESIGN.md §3.

    store = Store.open("r1h-store")
    store.append("rollouts", rows)              # atomic, idempotent by content-hash id
    store.sql("SELECT model, avg(score) FROM rewards JOIN rollouts USING (rollout_id) GROUP BY 1")
    store.lazy("rollouts").filter(...)          # polars LazyFrame over the shards

Readers never hold the catalog open: each query snapshots the small catalog tables into an in-memory
DuckDB and reads shards through views, so queries see rows as soon as a writer's append is committed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from r1harness.errors import SchemaError, StoreError
from r1harness.store import shards
from r1harness.store.catalog import catalog_connection, catalog_transaction
from r1harness.store.rows import conform, dedup_by_id, to_arrow
from r1harness.store.schema import ALL_TABLES, CATALOG_TABLES, SHARD_TABLES
from r1harness.store.views import VIEWS

DEFAULT_STORE = "r1h-store"


def default_store_path() -> Path:
    return Path(os.environ.get("R1H_STORE") or DEFAULT_STORE)


@dataclass(frozen=True)
class AppendResult:
    table: str
    written: int          # new rows made visible
    skipped_existing: int  # rows whose id was already in the store
    merged_duplicates: int  # rows repeated within the batch itself
    batch: str | None = None  # the batch directory, None when nothing was written


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.catalog_path = self.root / "catalog.duckdb"

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = True) -> "Store":
        """Open (and by default create) the store at `path`, applying pending migrations."""
        root = Path(path) if path is not None else default_store_path()
        if not root.exists():
            if not create:
                raise StoreError(f"no store at {root}; create one with `r1h ingest` or Store.open(path)")
            root.mkdir(parents=True)
        elif not root.is_dir():
            raise StoreError(f"{root} is a file, not a store directory")
        store = cls(root)
        with store._file_lock("migrate"):
            from r1harness.store.migrations import migrate

            migrate(store)
            shards.clean_staging(root)
        return store

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    @contextlib.contextmanager
    def _file_lock(self, name: str) -> Iterator[None]:
        lock_dir = self.root / "locks"
        lock_dir.mkdir(exist_ok=True)
        with open(lock_dir / f"{name}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- reading ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def reader(self) -> Iterator[Any]:
        """An in-memory DuckDB connection with every table and view of the store defined."""
        import duckdb

        con = duckdb.connect(":memory:")
        try:
            for name in SHARD_TABLES:
                glob = shards.table_glob(self.root, name).replace("'", "''")
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM "
                            f"read_parquet('{glob}', union_by_name = true)")
            self._snapshot_catalog(con)
            for name, query in VIEWS.items():
                con.execute(f"CREATE VIEW {name} AS {query}")
            yield con
        finally:
            con.close()

    def _snapshot_catalog(self, con) -> None:
        # Copy the small catalog tables in, then let go of the file at once (see catalog.py).
        import duckdb

        path = str(self.catalog_path).replace("'", "''")
        for attempt in range(2000):
            try:
                con.execute(f"ATTACH '{path}' AS cat (READ_ONLY)")
                break
            except duckdb.Error as exc:
                if "lock" not in str(exc).lower() or attempt == 1999:
                    raise StoreError(f"cannot read the store catalog {path}: {exc}") from exc
                import time

                time.sleep(0.01)
        try:
            for name in CATALOG_TABLES:
                con.execute(f"CREATE TABLE main.{name} AS SELECT * FROM cat.{name}")
        finally:
            con.execute("DETACH cat")

    def sql(self, query: str, params: list | None = None):
        """Run SQL over the store and return a polars DataFrame."""
        import duckdb
        import polars as pl

        with self.reader() as con:
            try:
                rel = con.sql(query, params=params) if params else con.sql(query)
                if rel is None:  # a statement with no result (e.g. SET)
                    return pl.DataFrame()
                return pl.from_arrow(rel.to_arrow_table())
            except duckdb.Error as exc:
                raise StoreError(f"SQL failed: {exc}") from exc

    def arrow(self, query: str, params: list | None = None):
        """Run SQL over the store and return a pyarrow Table."""
        with self.reader() as con:
            rel = con.sql(query, params=params) if params else con.sql(query)
            return rel.to_arrow_table()

    def lazy(self, table: str):
        """A polars LazyFrame over one table (shards are scanned lazily; catalog tables are small)."""
        import polars as pl

        if table in SHARD_TABLES:
            files = [str(p) for p in shards.shard_files(self.root, table)]
            spec = SHARD_TABLES[table]
            return pl.scan_parquet(files, schema=pl.Schema(pl.from_arrow(spec.schema.empty_table()).schema),
                                   missing_columns="insert", extra_columns="ignore")
        if table in ALL_TABLES or table in VIEWS:
            return self.sql(f"SELECT * FROM {table}").lazy()
        raise StoreError(f"no table {table!r}; tables are {list(ALL_TABLES)}")

    def count(self, table: str) -> int:
        return int(self.sql(f"SELECT count(*) AS n FROM {_ident(table)}")["n"][0])

    def tables(self) -> dict[str, int]:
        """Row counts of every table, shard tables first."""
        with self.reader() as con:
            return {name: con.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in ALL_TABLES}

    # -- appending -------------------------------------------------------------------------------
    def append(self, table: str, rows: Any, *, skip_existing: bool = True) -> AppendResult:
        """Append rows to a shard table atomically. Rows whose id already exists are skipped, so
        re-running an append (or a resumed job) writes no duplicates."""
        if table not in SHARD_TABLES:
            raise SchemaError(f"append() writes shard tables {list(SHARD_TABLES)}; "
                              f"{table!r} is a catalog table: use store.catalog_insert()")
        spec = SHARD_TABLES[table]
        data, merged = dedup_by_id(conform(to_arrow(rows), spec), spec.id_column)
        seen_batches = self._batches(table)
        skipped = 0
        if skip_existing and data.num_rows:
            data, skipped = self._drop_existing(table, data, seen_batches)
        if not data.num_rows:
            return AppendResult(table, 0, skipped, merged)
        # Optimistic concurrency: write outside the lock, re-check only batches that landed meanwhile.
        with self._file_lock(f"append-{table}"):
            new_batches = [b for b in self._batches(table) if b not in set(seen_batches)]
            if skip_existing and new_batches:
                data, late = self._drop_existing(table, data, new_batches)
                skipped += late
            if not data.num_rows:
                return AppendResult(table, 0, skipped, merged)
            batch = shards.write_batch(self.root, table, data)
        return AppendResult(table, data.num_rows, skipped, merged, batch.name)

    def _batches(self, table: str) -> list[str]:
        d = shards.table_dir(self.root, table)
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.exists() else []

    def _drop_existing(self, table: str, data, batches: list[str]):
        import duckdb
        import pyarrow as pa
        import pyarrow.compute as pc

        files = [str(f) for b in batches for f in (shards.table_dir(self.root, table) / b).glob("*.parquet")]
        if not files:
            return data, 0
        id_col = SHARD_TABLES[table].id_column
        con = duckdb.connect(":memory:")
        try:
            ids = pa.table({"id": data.column(id_col)})  # noqa: F841 (scanned by name below)
            file_list = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
            found = con.sql(
                f"SELECT DISTINCT p.{id_col} AS id FROM read_parquet({file_list}) p "
                f"SEMI JOIN ids ON p.{id_col} = ids.id").to_arrow_table()
        finally:
            con.close()
        if not found.num_rows:
            return data, 0
        mask = pc.invert(pc.is_in(data.column(id_col), value_set=found.column("id")))
        kept = data.filter(mask)
        return kept, data.num_rows - kept.num_rows

    def existing_ids(self, table: str, ids: Iterable[str]) -> set[str]:
        """Which of `ids` are already in a shard table (for jobs that skip work already done)."""
        import pyarrow as pa

        spec = SHARD_TABLES[table]
        probe = pa.table({spec.id_column: pa.array(list(ids), pa.string())})
        kept, _ = self._drop_existing(table, probe, self._batches(table))
        return set(probe.column(0).to_pylist()) - set(kept.column(0).to_pylist())

    # -- the catalog -----------------------------------------------------------------------------
    def catalog(self):
        """A write transaction on the catalog (runs, sets, eval_results, annotations)."""
        return catalog_transaction(self.catalog_path)

    def catalog_insert(self, table: str, rows: list[dict], *, on_conflict: str = "error") -> int:
        """Insert dict rows into a catalog table; on_conflict: error | ignore | replace."""
        if table not in CATALOG_TABLES:
            raise SchemaError(f"{table!r} is not a catalog table; catalog tables are {list(CATALOG_TABLES)}")
        if not rows:
            return 0
        import pyarrow as pa

        verb = {"error": "INSERT", "ignore": "INSERT OR IGNORE", "replace": "INSERT OR REPLACE"}[on_conflict]
        data = pa.Table.from_pylist(rows)  # noqa: F841 (scanned by name below)
        cols = ", ".join(rows[0].keys())
        with catalog_transaction(self.catalog_path) as con:
            con.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM data")
        return len(rows)

    def catalog_read_only(self):
        return catalog_connection(self.catalog_path, read_only=True)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise StoreError(f"not a table name: {name!r}")
    return name
