"""Point lookups for the web page on a large store: which Parquet files hold a rollout, a prompt's rollouts,
a rollout's verdicts.

Ids are content hashes, so every shard's min/max statistics span the whole id range and a lookup by id
would read the id column of every file (about 250 ms per page at 1M rollouts, a second at 4M). The page
process therefore keeps, in its own in-memory DuckDB, the few narrow columns it looks things up by — for
rollouts (rollout_id, prompt_id, run_id, step, completion_tokens, reward, file) and for rewards
(rollout_id, verifier, status, file) — built once (a few seconds at 4M rows) and brought up to date with
only the batch files that appeared since; a compaction (files gone) rebuilds it. Texts stay in the shards:
a page reads them from the one or two files the lookup names.
"""

from __future__ import annotations

import threading

from r1harness.store import shards

TABLES = {
    "rollouts": "rollout_id, prompt_id, run_id, step, completion_tokens, reward",
    "rewards": "rollout_id, verifier, status",
}
TYPES = {
    "rollouts": "rollout_id VARCHAR, prompt_id VARCHAR, run_id VARCHAR, step BIGINT, "
    "completion_tokens INTEGER, reward DOUBLE, file INTEGER",
    "rewards": "rollout_id VARCHAR, verifier VARCHAR, status VARCHAR, file INTEGER",
}  # plus seq: the row's position in write order (file by file), for stable paging


class Lookup:
    def __init__(self, store):
        import duckdb

        self.root = store.root
        self.con = duckdb.connect(":memory:")
        self.files: dict[str, list[str]] = {t: [] for t in TABLES}
        self.lock = threading.Lock()
        for table, types in TYPES.items():
            self.con.execute(f"CREATE TABLE idx_{table} ({types}, seq BIGINT)")
        self.rows = dict.fromkeys(TABLES, 0)
        self.cache: dict[tuple, list] = {}  # results keyed on `version`
        self.version = 0  # bumped whenever the indexed files change

    def refresh(self) -> None:
        with self.lock:
            for table in TABLES:
                current = [str(f) for f in shards.shard_files(self.root, table)]
                known = self.files[table]
                if current[: len(known)] != known or len(current) < len(known):
                    self.con.execute(f"DELETE FROM idx_{table}")  # compacted: files were replaced
                    known = self.files[table] = []
                    self.rows[table] = 0
                    self.version += 1
                for f in current[len(known) :]:
                    self._add(table, f, len(known))
                    known.append(f)
                    self.version += 1
            if len(self.cache) > 256:
                self.cache.clear()

    def _add(self, table: str, path: str, file_no: int) -> None:
        quoted = path.replace("'", "''")
        start = self.rows[table]
        self.con.execute(
            f"INSERT INTO idx_{table} SELECT {TABLES[table]}, {file_no} AS file, "
            f"{start} + row_number() OVER () - 1 AS seq FROM read_parquet('{quoted}', union_by_name = true)"
        )
        self.rows[table] = self.con.sql(f"SELECT count(*) FROM idx_{table}").fetchall()[0][0]

    def file_paths(self, table: str, numbers) -> list[str]:
        return [self.files[table][n] for n in sorted(set(numbers))]

    def files_of(self, table: str, column: str, value) -> list[str]:
        """The shard files of `table` holding rows whose `column` equals value (or is in a list of values)."""
        test = "list_contains(?, {c})" if isinstance(value, list) else "{c} = ?"
        with self.lock:
            rows = self.con.sql(
                f"SELECT DISTINCT file FROM idx_{table} WHERE {test.format(c=column)} ORDER BY file",
                params=[value],
            ).fetchall()
            return [self.files[table][r[0]] for r in rows]

    def with_verdicts(self, verifiers: tuple[str, ...]) -> str:
        """A table of the rollouts with each one's latest verdict from `verifiers` (`status`), made once per
        version of the lookup: filtering by verdict then scans one table instead of joining 4M rows."""
        name = "idx_rollouts_verdicts"
        with self.lock:
            if getattr(self, "_verdicts_at", None) != (self.version, verifiers):
                self.con.execute(
                    f"CREATE OR REPLACE TABLE {name} AS SELECT r.*, w.status FROM idx_rollouts r LEFT JOIN "
                    "(SELECT rollout_id, arg_max(status, seq) AS status FROM idx_rewards "
                    f"WHERE verifier IN {verifiers} GROUP BY 1) w USING (rollout_id)"
                )
                self._verdicts_at = (self.version, verifiers)
        return name

    def query(self, sql: str, params: list | None = None):
        """SQL over the lookup tables (idx_rollouts, idx_rewards) as a polars DataFrame."""
        import polars as pl

        with self.lock:
            rel = self.con.sql(sql, params=params) if params else self.con.sql(sql)
            return pl.from_arrow(rel.to_arrow_table())


def files_sql(files: list[str], table: str) -> str:
    """read_parquet over exactly these files of `table` (none: the table's columns and no rows)."""
    if not files:
        return f"(SELECT * FROM {table} LIMIT 0)"
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}], union_by_name = true)"
