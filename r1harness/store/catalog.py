"""Short-lived connections to the DuckDB catalog.

DuckDB 2.0 lets one process hold a database file for writing and then blocks every other process from
opening it, even read-only (measured). So nobody keeps the catalog open: each operation opens
it, does its work in one transaction and closes it, retrying while another process holds the lock.

Readers outside r1harness (a notebook, plain DuckDB or Polars) must not open the live file at all: a
session that holds it blocks every writer. So every write transaction also leaves a Parquet snapshot of
the catalog tables in `catalog_snapshot/`, replaced atomically while the writer still holds the file, and
`views.sql` (see outside.py) reads those.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from r1harness.errors import StoreError

LOCK_WAIT_S = 60.0
T = TypeVar("T")


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used" in text


def retry_on_lock(action: Callable[[], T], what: str, *, wait_s: float = LOCK_WAIT_S) -> T:
    """Run `action`, retrying with jittered backoff while another process holds the catalog's lock."""
    import duckdb

    deadline = time.monotonic() + wait_s
    delay = 0.005
    while True:
        try:
            return action()
        except duckdb.Error as exc:  # IOException on lock conflicts
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                raise StoreError(
                    f"cannot open {what}: {exc}. Another process may hold it; "
                    "wait for it to finish or check for a stuck r1h process."
                ) from exc
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.2)


@contextlib.contextmanager
def catalog_connection(path: Path, *, read_only: bool = False, wait_s: float = LOCK_WAIT_S) -> Iterator:
    """Open the catalog, retrying on lock conflicts; always closes it."""
    import duckdb

    con = retry_on_lock(
        lambda: duckdb.connect(str(path), read_only=read_only), f"the store catalog {path}", wait_s=wait_s
    )
    try:
        yield con
    finally:
        con.close()


SNAPSHOT_DIR = "catalog_snapshot"


@contextlib.contextmanager
def catalog_transaction(path: Path) -> Iterator:
    """A write transaction on the catalog: committed on success, rolled back on any exception."""
    with catalog_connection(path) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        write_snapshot(con, path.parent / SNAPSHOT_DIR)


def write_snapshot(con, folder: Path) -> None:
    """Each catalog table as `folder/<table>.parquet`, each file replaced in one rename."""
    import os
    import uuid

    folder.mkdir(exist_ok=True)
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
            "AND database_name = current_database()"
        ).fetchall()
    ]
    for name in names:
        tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.parquet"
        quoted = str(tmp).replace("'", "''")
        try:
            con.execute(f"COPY (SELECT * FROM \"{name}\") TO '{quoted}' (FORMAT parquet)")
            os.replace(tmp, folder / f"{name}.parquet")
        finally:
            tmp.unlink(missing_ok=True)
