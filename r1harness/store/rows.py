"""Turn whatever a stage hands us (Arrow, Polars, list of dicts) into an Arrow table that fits a schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from r1harness.errors import SchemaError
from r1harness.store.schema import ShardTable


def to_arrow(rows: Any) -> pa.Table:
    if isinstance(rows, pa.Table):
        return rows
    if isinstance(rows, pa.RecordBatch):
        return pa.Table.from_batches([rows])
    if isinstance(rows, list):
        return pa.Table.from_pylist(rows) if rows else pa.table({})
    if hasattr(rows, "to_arrow"):  # polars DataFrame
        return rows.to_arrow()
    if type(rows).__module__.startswith("pandas"):
        return pa.Table.from_pandas(rows, preserve_index=False)
    raise SchemaError(
        f"cannot append rows of type {type(rows).__name__}; pass a list of dicts, "
        "a pyarrow.Table or a polars.DataFrame"
    )


def conform(table: pa.Table, spec: ShardTable) -> pa.Table:
    """Cast `table` to `spec`'s schema: fill optional columns with nulls, reject unknown/missing ones."""
    known = {c.name for c in spec.columns}
    unknown = [n for n in table.column_names if n not in known]
    if unknown:
        raise SchemaError(f"table {spec.name!r} has no column(s) {unknown}; its columns are {sorted(known)}")
    n = table.num_rows
    arrays = []
    for col in spec.columns:
        if col.name in table.column_names:
            arr = table.column(col.name)
            try:
                arr = arr.cast(col.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(
                    f"column {spec.name}.{col.name} must be {col.type}, got {arr.type}: {exc}"
                ) from exc
        elif col.name == "created_at":
            arr = pa.repeat(pa.scalar(dt.datetime.now(dt.UTC), type=col.type), n)
        elif col.required:
            raise SchemaError(
                f"rows for {spec.name!r} lack required column {col.name!r} (required: {spec.required})"
            )
        else:
            arr = pa.nulls(n, type=col.type)
        if col.required and arr.null_count:
            raise SchemaError(f"column {spec.name}.{col.name} is required but has {arr.null_count} null(s)")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=spec.schema)
