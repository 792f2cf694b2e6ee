"""The store: a directory with a DuckDB catalog and append-only Parquet shards. See docs/architecture.md.

    store = Store.open("r1h-store")
    store.append("rollouts", rows)              # atomic, idempotent by content-hash id
    store.sql("SELECT model, avg(score) FROM rewards JOIN rollouts USING (rollout_id) GROUP BY 1")
    store.lazy("rollouts").filter(...)          # polars LazyFrame over the shards

Readers never hold the catalog open: each query snapshots the small catalog tables into an in-memory
DuckDB and reads shards through views, so queries see rows as soon as a writer's append is committed.
`Store.open(path, readonly=True)` writes nothing and takes no lock (read-only mounts work); commands that
only read use it, so a mistyped --store is an error rather than a new empty store.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1harness.errors import SchemaError, StoreError
from r1harness.store import shards
from r1harness.store.catalog import SNAPSHOT_DIR, catalog_transaction, retry_on_lock
from r1harness.store.golds import PROMPTS_VIEW, STORED_PROMPTS
from r1harness.store.id_index import IdIndex, id_keys, unique_first
from r1harness.store.migrations import MARKER
from r1harness.store.rows import conform, to_arrow
from r1harness.store.schema import ALL_TABLES, CATALOG_TABLES, SHARD_TABLES
from r1harness.store.views import VIEWS

DEFAULT_STORE = "r1h-store"


def default_store_path() -> Path:
    return Path(os.environ.get("R1H_STORE") or DEFAULT_STORE)


@dataclass(frozen=True)
class AppendResult:
    table: str
    written: int  # new rows made visible
    skipped_existing: int  # rows whose id was already in the store
    merged_duplicates: int  # rows repeated within the batch itself
    batch: str | None = None  # the batch directory, None when nothing was written


# What a store directory may hold; a directory holding anything else is not made into a store.
STORE_ENTRIES = frozenset(
    {"catalog.duckdb", "catalog.duckdb.wal", "tables", "generations", "locks", "_staging", MARKER}
    | {"catalog_snapshot", "views.sql"}
)


def _ours(name: str) -> bool:
    """A name a store (or one being created by another process right now) may hold."""
    return name in STORE_ENTRIES or name.startswith((".", "catalog.duckdb"))


def is_store(root: Path) -> bool:
    return (root / "catalog.duckdb").is_file() or (root / MARKER).is_file()


class Store:
    def __init__(self, root: Path, *, readonly: bool = False):
        self.root = Path(root)
        self.catalog_path = self.root / "catalog.duckdb"
        self.readonly = readonly
        self._indexes: dict[str, IdIndex] = {}
        self._batch_types: dict[tuple[str, str], tuple] = {}

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(
        cls, path: str | os.PathLike | None = None, *, create: bool = True, readonly: bool = False
    ) -> Store:
        """Open the store at `path` for writing, applying pending migrations; by default create it at a
        new or empty path. `readonly=True` opens an existing store without writing or locking anything."""
        root = Path(path) if path is not None else default_store_path()
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root} is a file, not a store directory")
        if readonly:
            if not is_store(root):
                raise StoreError(
                    f"no store at {root}"
                    + (" (the directory holds no catalog.duckdb)" if root.exists() else "")
                    + "; check --store / $R1H_STORE, or create one with `r1h ingest`"
                )
            return cls(root, readonly=True)
        if not is_store(root):
            strangers = sorted(p.name for p in root.iterdir() if not _ours(p.name)) if root.exists() else []
            if strangers:
                raise StoreError(
                    f"{root} is not an r1harness store and not empty (it holds {', '.join(strangers[:5])}"
                    f"{', ...' if len(strangers) > 5 else ''}); give --store a new or empty directory"
                )
            if not create:
                raise StoreError(f"no store at {root}; create one with `r1h ingest` or Store.open(path)")
            root.mkdir(parents=True, exist_ok=True)
        store = cls(root)
        with shards.file_lock(root, "migrate"):
            from r1harness.store.migrations import migrate
            from r1harness.store.outside import write_views_file

            migrate(store)
            shards.clean_staging(root)
            write_views_file(root)
        return store

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}{', readonly=True' if self.readonly else ''})"

    def _writable(self, what: str) -> None:
        if self.readonly:
            raise StoreError(f"{what}: the store at {self.root} was opened read-only")

    # -- reading ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def reader(self) -> Iterator[Any]:
        """An in-memory DuckDB connection with every table and view of the store defined."""
        import duckdb

        con = duckdb.connect(":memory:")
        try:
            # Each reader is a fresh connection, so DuckDB's in-RAM cache of Parquet files buys nothing
            # and holds whole files in memory (measured: 11 GB -> 4.4 GB peak for a 5M-row curation).
            con.execute("SET enable_external_file_cache = false")
            for name in SHARD_TABLES:
                files = [str(f).replace("'", "''") for f in shards.shard_files(self.root, name)]
                # Every append is cast to the current schema, so shards differ only after a migration
                # added columns (it then writes another schema-* batch); only then union by name.
                by_name = sum(f.split("/")[-2].startswith(shards.SCHEMA_PREFIX) for f in files) > 1
                file_list = "[" + ", ".join(f"'{f}'" for f in files) + "]"
                con.execute(
                    f"CREATE VIEW {STORED_PROMPTS if name == 'prompts' else name} AS SELECT * FROM "
                    f"read_parquet({file_list}, union_by_name = {str(by_name).lower()})"
                )
            self._snapshot_catalog(con)
            con.execute(f"CREATE VIEW prompts AS {PROMPTS_VIEW}")  # the latest gold of each prompt
            for name, query in VIEWS.items():
                con.execute(f"CREATE VIEW {name} AS {query}")
            yield con
        finally:
            con.close()

    def _snapshot_catalog(self, con) -> None:
        # Copy the small catalog tables in, then let go of the file at once (see catalog.py).
        path = str(self.catalog_path).replace("'", "''")
        try:
            retry_on_lock(
                lambda: con.execute(f"ATTACH '{path}' AS cat (READ_ONLY)"), f"the store catalog {path}"
            )
        except StoreError:
            # e.g. a read-only copy whose catalog has a write-ahead log to replay: read the Parquet snapshot
            snap = self.root / SNAPSHOT_DIR
            if not self.readonly or not all((snap / f"{n}.parquet").exists() for n in CATALOG_TABLES):
                raise
            for name in CATALOG_TABLES:
                f = str(snap / f"{name}.parquet").replace("'", "''")
                con.execute(f"CREATE TABLE main.{name} AS SELECT * FROM read_parquet('{f}')")
            return
        try:
            for name in CATALOG_TABLES:
                con.execute(f"CREATE TABLE main.{name} AS SELECT * FROM cat.{name}")
        finally:
            con.execute("DETACH cat")

    def sql(self, query: str, params: list | None = None):
        """Run SQL over the store and return a polars DataFrame. A read-only store runs only statements
        that read (SELECT, EXPLAIN, ...): nothing else could be saved, so nothing else is accepted."""
        import duckdb
        import polars as pl

        if self.readonly:
            check_read_only(query)
        with self.reader() as con:
            try:
                rel = con.sql(query, params=params) if params else con.sql(query)
                if rel is None:  # a statement with no result (e.g. SET)
                    return pl.DataFrame()
                _check_unique_columns(rel.columns)
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

        if table in SHARD_TABLES:
            return self._scan_shards(table)
        if table in ALL_TABLES or table in VIEWS:
            return self.sql(f"SELECT * FROM {table}").lazy()
        raise StoreError(f"no table {table!r}; tables are {list(ALL_TABLES)}")

    def _scan_shards(self, table: str):
        """Shards written before a migration changed a column's type are scanned with their own types
        and cast, since one scan with the current schema cannot read them."""
        import polars as pl

        target = pl.Schema(pl.from_arrow(SHARD_TABLES[table].schema.empty_table()).schema)
        d, batches = shards.listing(self.root, table)
        groups: dict[tuple, list[str]] = {}
        for batch in batches:
            files = [str(f) for f in sorted((d / batch).glob("*.parquet"))]
            if files:
                groups.setdefault(self._off_types(batch, files[0], target), []).extend(files)
        frames = []
        for off, files in groups.items():
            scan = pl.scan_parquet(
                files,
                schema=pl.Schema({**target, **dict(off)}),
                missing_columns="insert",
                extra_columns="ignore",
            )
            frames.append(scan.with_columns(pl.col(c).cast(target[c]) for c, _ in off) if off else scan)
        if not frames:
            return pl.LazyFrame(schema=target)
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")

    def _off_types(self, batch: str, file: str, target) -> tuple:
        """(column, type) of a batch's columns whose type differs from the current schema (cached:
        batches never change)."""
        import polars as pl
        import pyarrow.parquet as pq

        key = (batch, str(target))
        if key not in self._batch_types:
            own = pl.from_arrow(pq.read_schema(file).empty_table()).schema
            self._batch_types[key] = tuple((c, t) for c, t in own.items() if c in target and t != target[c])
        return self._batch_types[key]

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
        self._writable(f"append to {table}")
        if table not in SHARD_TABLES:
            raise SchemaError(
                f"append() writes shard tables {list(SHARD_TABLES)}; "
                f"{table!r} is a catalog table: use store.catalog_insert()"
            )
        id_col = SHARD_TABLES[table].id_column
        data = conform(to_arrow(rows), SHARD_TABLES[table])
        keys = id_keys(data.column(id_col))
        keep = unique_first(keys, data.column(id_col))
        merged = 0 if keep is None else data.num_rows - len(keep)
        if keep is not None:
            data, keys = data.take(keep), keys[keep]
        skipped = 0
        if skip_existing and data.num_rows:
            data, keys, skipped = self._drop_existing(table, data, keys)
        if not data.num_rows:
            return AppendResult(table, 0, skipped, merged)
        # Serialise commits per table; re-check only if other writers committed batches meanwhile.
        with shards.table_lock(self.root, table):
            index = self._index(table)
            if skip_existing and any(b not in index.seen for b in self._batches(table)):
                data, keys, late = self._drop_existing(table, data, keys)
                skipped += late
            if not data.num_rows:
                return AppendResult(table, 0, skipped, merged)
            batch = shards.write_batch(self.root, table, data)
            index.add(batch.name, keys)
        return AppendResult(table, data.num_rows, skipped, merged, batch.name)

    def _batches(self, table: str) -> list[str]:
        return shards.visible_batches(self.root, table)

    def _index(self, table: str) -> IdIndex:
        if table not in self._indexes:
            self._indexes[table] = IdIndex(SHARD_TABLES[table].id_column)
        return self._indexes[table]

    def _drop_existing(self, table: str, data, keys):
        """Drop rows whose id is already stored: candidates from the index, confirmed on the real ids."""
        import pyarrow as pa
        import pyarrow.compute as pc

        id_col = SHARD_TABLES[table].id_column
        index = self._index(table)
        d, batches = shards.listing(self.root, table)
        index.refresh(d, batches)
        candidates = index.candidates(keys)
        if not candidates.any():
            return data, keys, 0
        wanted = data.column(id_col).filter(pa.array(candidates, pa.bool_()))
        found = []
        for batch in index.batches_holding(keys[candidates]):
            for f in sorted((d / batch).glob("*.parquet")):
                ids = pq_read_ids(f, id_col)
                found.append(ids.filter(pc.is_in(ids, value_set=wanted)))
        if not found:
            return data, keys, 0
        present = pc.is_in(data.column(id_col), value_set=pa.chunked_array(found).combine_chunks())
        keep = pc.invert(present)
        return (
            data.filter(keep),
            keys[~present.to_numpy(zero_copy_only=False)],
            int(pc.sum(present).as_py() or 0),
        )

    def compact(self, table: str, *, grace_s: float = 600.0, max_batch_rows: int = 200_000) -> dict:
        """Merge a shard table's small batches (< max_batch_rows rows each) into one, atomically: readers
        (ours or a plain Parquet glob) never see a row twice or miss one, and a kill at any point leaves
        either the old batches or the merged one. Generations retired by earlier compactions are deleted
        once `grace_s` has passed (a query that listed their files just before can still read them).
        Rows repeated across the merged batches are kept once."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._writable(f"compact {table}")
        if table not in SHARD_TABLES:
            raise SchemaError(f"compact() works on shard tables {list(SHARD_TABLES)}, not {table!r}")
        spec = SHARD_TABLES[table]
        with shards.table_lock(self.root, table):
            deleted = shards.clean_generations(self.root, table, grace_s)
            d, visible = shards.listing(self.root, table)
            batches = [
                b
                for b in visible
                if not b.startswith(shards.SCHEMA_PREFIX) and _batch_rows(d / b) < max_batch_rows
            ]
            if len(batches) < 2:
                return {"table": table, "merged_batches": 0, "rows": 0, "deleted_batches": deleted}
            parts = [
                conform(pq.read_table(f), spec) for b in batches for f in sorted((d / b).glob("*.parquet"))
            ]
            data = pa.concat_tables(parts)
            keys = id_keys(data.column(spec.id_column))
            keep = unique_first(keys, data.column(spec.id_column))
            if keep is not None:
                data, keys = data.take(keep), keys[keep]
            batch = shards.replace_batches(self.root, table, data, batches)
            self._index(table).add(batch.name, keys)
        return {
            "table": table,
            "merged_batches": len(batches),
            "rows": data.num_rows,
            "batch": batch.name,
            "deleted_batches": deleted,
        }

    def existing_ids(self, table: str, ids: Iterable[str]) -> set[str]:
        """Which of `ids` are already in a shard table (for jobs that skip work already done)."""
        import pyarrow as pa

        spec = SHARD_TABLES[table]
        probe = pa.table({spec.id_column: pa.array(list(ids), pa.string())})
        kept, _, _ = self._drop_existing(table, probe, id_keys(probe.column(0)))
        return set(probe.column(0).to_pylist()) - set(kept.column(0).to_pylist())

    # -- the catalog -----------------------------------------------------------------------------
    def catalog(self):
        """A write transaction on the catalog (runs, sets, eval_results, annotations)."""
        self._writable("write the catalog")
        return catalog_transaction(self.catalog_path)

    def catalog_insert(self, table: str, rows: list[dict], *, on_conflict: str = "error") -> int:
        """Insert dict rows into a catalog table; on_conflict: error | ignore | replace."""
        self._writable(f"insert into {table}")
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


def _batch_rows(batch_dir: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in batch_dir.glob("*.parquet"))


def pq_read_ids(path, column: str):
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=[column]).column(0).combine_chunks()


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise StoreError(f"not a table name: {name!r}")
    return name


def _check_unique_columns(columns: list[str]) -> None:
    """DuckDB returns two columns of one name (`SELECT a.name, b.name ...`); a DataFrame cannot hold them."""
    from collections import Counter

    twice = [name for name, n in Counter(columns).items() if n > 1]
    if twice:
        raise StoreError(
            f"SQL failed: the result has more than one column named {', '.join(map(repr, twice))}; "
            f"name each with AS (e.g. `SELECT a.name AS a_name, b.name AS b_name ...`)"
        )


READ_STATEMENTS = ("SELECT", "EXPLAIN", "PRAGMA", "SET", "VARIABLE_SET", "RELATION")


def check_read_only(query: str) -> None:
    """Refuse SQL that would change something (DROP, INSERT, COPY ... TO, ATTACH, ...): over a read-only
    store it would change only a throwaway copy and report success."""
    import duckdb

    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise StoreError(f"SQL failed: {exc}") from exc
    for st in statements:
        kind = st.type.name
        if kind not in READ_STATEMENTS:
            text = " ".join(st.query.split())[:60]
            hint = " (to save a result, use --out FILE with --format)" if kind == "COPY" else ""
            raise StoreError(
                f"only statements that read are run here; {kind} ({text!r}) would write{hint}. "
                "The store changes only through r1h commands and the Python API"
            )
