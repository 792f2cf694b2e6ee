"""`r1h sql` and `r1h tables`."""

from __future__ import annotations

import sys

from r1harness.commands._common import add_command, add_format_args, add_store_arg, emit, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "sql",
        help="run SQL over the store",
        example='r1h sql "SELECT dataset, count(*) AS n FROM prompts GROUP BY 1" --format csv',
    )
    p.add_argument("query", nargs="?", help="the SQL query (read from stdin when omitted)")
    add_store_arg(p)
    add_format_args(p)
    p.set_defaults(func=run_sql)

    t = add_command(
        sub, "tables", help="list tables and their row counts", example="r1h tables --format json"
    )
    add_store_arg(t)
    add_format_args(t)
    t.set_defaults(func=run_tables)


def run_sql(args) -> int:
    query = args.query if args.query is not None else sys.stdin.read()
    if not query.strip():
        print("r1h sql: no query given (pass it as an argument or on stdin)", file=sys.stderr)
        return 2
    emit(open_store(args, create=False).sql(query), args.format, args.out)
    return 0


def run_tables(args) -> int:
    import polars as pl

    from r1harness.store.schema import SHARD_TABLES

    counts = open_store(args, create=False).tables()
    df = pl.DataFrame(
        {
            "table": list(counts),
            "rows": list(counts.values()),
            "kind": ["shards" if t in SHARD_TABLES else "catalog" for t in counts],
        }
    )
    emit(df, args.format, args.out)
    return 0
