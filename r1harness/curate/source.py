"""The SQL that reads a recipe's candidates from the store, in streamed Arrow batches.

Pass 1 reads every candidate once (texts included) and keeps only measurements; later passes read the
texts of the survivors again by rollout id, so memory stays bounded by one batch of texts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import polars as pl

from r1harness.curate.recipe import Recipe
from r1harness.errors import ConfigError

READABILITY_CHECKS = ("truncated", "mixed_language", "long_paragraph", "code_in_cot", "repetition")
BATCH_ROWS = 50_000
DUCKDB_MEMORY_LIMIT = os.environ.get("R1H_CURATE_DUCKDB_MEMORY", "3GB")
NEEDED_COLUMNS = {"rollout_id"}


def validate_source(store, recipe: Recipe) -> list[str]:
    """Run the source query with LIMIT 0: a failing query or a missing column stops the build before any
    work, with the reason."""
    try:
        cols = store.sql(f"SELECT * FROM ({recipe.source}) AS src LIMIT 0").columns
    except Exception as exc:  # StoreError wraps duckdb's message
        raise ConfigError(f"recipe {recipe.name}: source query failed: {exc}") from None
    missing = NEEDED_COLUMNS - set(cols)
    if missing:
        raise ConfigError(
            f"recipe {recipe.name}: source query must return {sorted(NEEDED_COLUMNS)}; it returns {cols}"
        )
    return cols


def _verifier_list(recipe: Recipe) -> list[str]:
    for f in recipe.filters:
        if f.name == "correct":
            return list(f.get("verifiers"))
    return ["math", "code"]


def candidates_sql(recipe: Recipe) -> tuple[str, list]:
    """Every candidate rollout with its prompt, latest correctness verdict, latest stored readability values
    (`store_<check>`, null when not verified) and latest human label."""
    verifiers = _verifier_list(recipe)
    marks = ", ".join("?" for _ in verifiers)
    stored = ",\n".join(
        f"arg_max(json_extract_string(details, '$.value'), created_at) "
        f"FILTER (WHERE verifier = 'readability.{check}') AS store_{check}"
        for check in READABILITY_CHECKS
    )
    query = f"""
        WITH src AS (SELECT DISTINCT rollout_id FROM ({recipe.source}) AS s),
        verdict AS (
            SELECT rollout_id, arg_max(status, created_at) AS verdict_status,
                   arg_max(score, created_at) AS verdict_score
            FROM rewards SEMI JOIN src USING (rollout_id)
            WHERE verifier IN ({marks}) GROUP BY rollout_id),
        readability AS (
            SELECT rollout_id, {stored}
            FROM rewards SEMI JOIN src USING (rollout_id)
            WHERE verifier LIKE 'readability.%' GROUP BY rollout_id),
        label AS (
            SELECT target_id AS rollout_id, arg_max(label, created_at) AS label,
                   arg_max(annotator, created_at) AS annotator
            FROM annotations WHERE target_kind = 'rollout' GROUP BY target_id)
        SELECT r.rollout_id, r.prompt_id, coalesce(p.domain, 'math') AS domain, p.dataset,
               r.finish_reason, v.verdict_status, v.verdict_score, l.label, l.annotator,
               {", ".join(f"rd.store_{c}" for c in READABILITY_CHECKS)},
               -- content, not rollout_id: ids embed the run id, so a rerun would pick another subset
               md5_number_upper(? || ':' || r.prompt_id || ':' || r.completion) AS rank_key,
               p.problem, r.completion
        FROM rollouts r SEMI JOIN src USING (rollout_id)
        JOIN prompts p USING (prompt_id)
        LEFT JOIN verdict v USING (rollout_id)
        LEFT JOIN readability rd USING (rollout_id)
        LEFT JOIN label l USING (rollout_id)
    """
    return query, [*verifiers, str(recipe.seed)]


def stream(
    store, query: str, params: list | None = None, batch_rows: int = BATCH_ROWS, tables: dict | None = None
) -> Iterator[pl.DataFrame]:
    """Run `query` over the store and yield polars frames of at most `batch_rows` rows. `tables` are
    Arrow tables registered by name first (e.g. the ids of the survivors)."""
    with store.reader() as con:
        # Stream in bounded memory: no caching of the Parquet files read (DuckDB keeps them in RAM by
        # default, ~the store's size), no ordering buffer, and a cap past which joins spill to disk.
        con.execute(
            f"SET enable_external_file_cache = false; SET preserve_insertion_order = false; "
            f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'"
        )
        for name, table in (tables or {}).items():
            con.register(name, table)
        rel = con.sql(query, params=params) if params else con.sql(query)
        reader = rel.to_arrow_reader(batch_rows)
        for batch in reader:
            if batch.num_rows:
                yield pl.from_arrow(batch)


def texts_sql(columns: str) -> str:
    """Rows of the survivors (registered as Arrow table `keep` with rollout_id) joined to their texts; the
    prompts join is made only when `columns` reads a prompt column (p.*)."""
    prompts = "JOIN prompts p ON p.prompt_id = r.prompt_id" if "p." in columns else ""
    return f"""
        SELECT {columns}
        FROM rollouts r JOIN keep k USING (rollout_id)
        {prompts}
    """


def detach(df: pl.DataFrame) -> pl.DataFrame:
    """A copy that owns its memory. Columns imported from a DuckDB Arrow batch keep the whole batch alive
    (texts included): keeping a few light columns of every batch held ~1.2 KB a row (measured), so light
    frames kept across batches are copied through an in-memory IPC round trip first."""
    import io

    buf = io.BytesIO()
    df.write_ipc(buf)
    buf.seek(0)
    return pl.read_ipc(buf)
