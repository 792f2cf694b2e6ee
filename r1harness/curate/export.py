"""Export a ready set as chat messages that TRL's SFTTrainer reads as is.

Each row has `messages` (a list of {role, content}) plus the lineage ids (sample_id, rollout_id, prompt_id)
and domain/source as extra columns. Formats: jsonl (one JSON object a line), parquet (messages as a list of
structs) and hf (a `datasets.Dataset.save_to_disk` folder). Files are written to a temporary name and
renamed, so an interrupted export leaves no half file at the destination.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import polars as pl

from r1harness.curate.sets import SetRef, resolve, samples_query
from r1harness.curate.source import DUCKDB_MEMORY_LIMIT
from r1harness.errors import ConfigError

EXPORT_FORMATS = ("jsonl", "parquet", "hf")
MESSAGES_TYPE = pl.List(pl.Struct({"role": pl.String, "content": pl.String}))
COPY_COLUMNS = (
    'from_json(s.messages, \'[{"role": "VARCHAR", "content": "VARCHAR"}]\') AS messages, '
    "s.sample_id, s.rollout_id, s.prompt_id, s.domain, s.source, s.set_name, s.set_version"
)
COLUMNS = "s.sample_id, s.rollout_id, s.prompt_id, s.domain, s.source, s.set_name, s.set_version, s.messages"


def set_frame(store, ref: SetRef | str) -> pl.DataFrame:
    """The samples of a ready set, `messages` decoded to a list of {role, content}."""
    row = resolve(store, ref)
    query, params = samples_query(row["name"], row["version"], COLUMNS)
    df = store.sql(query, params)
    return df.with_columns(pl.col("messages").str.json_decode(MESSAGES_TYPE)).select(
        "messages", "sample_id", "rollout_id", "prompt_id", "domain", "source", "set_name", "set_version"
    )


def export_set(store, ref: SetRef | str, fmt: str, out: str | os.PathLike) -> tuple[Path, int]:
    """Write the set to `out` in `fmt`; returns (path, rows). DuckDB streams the rows to the file, so a
    set of any size exports in bounded memory."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"export format must be one of {EXPORT_FORMATS}, not {fmt!r}")
    row = resolve(store, ref)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        if fmt == "hf":
            parquet = tmp.with_suffix(".parquet")
            n = _copy(store, row, parquet, "parquet")
            _save_hf(parquet, tmp)
            parquet.unlink()
        else:
            n = _copy(store, row, tmp, fmt)
        if out.is_dir():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        for leftover in (tmp, tmp.with_suffix(".parquet")):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            elif leftover.exists():
                leftover.unlink()
    return out, n


def _copy(store, row: dict, path: Path, fmt: str) -> int:
    query, params = samples_query(row["name"], row["version"], COPY_COLUMNS)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT json"
    target = str(path).replace("'", "''")
    with store.reader() as con:
        con.execute(f"SET enable_external_file_cache = false; SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.execute(f"COPY ({query}) TO '{target}' ({options})", params)
        return con.sql(f"SELECT count(*) FROM ({query})", params=params).fetchall()[0][0]


def _save_hf(parquet: Path, path: Path) -> None:
    import datasets

    datasets.Dataset.from_parquet(str(parquet), keep_in_memory=False).save_to_disk(str(path))
