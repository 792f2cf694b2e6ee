"""`r1h sql` and `r1h tables`."""

from __future__ import annotations

import sys

from r1harness.commands._common import add_command, add_format_args, add_store_arg, emit, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "sql",
        help="run SQL over the store",
        example='r1h sql "SELECT dataset, count(*) AS n FROM prompts GROUP BY 1" --format csv\n'
        "  r1h sql --views-sql > views.sql   # every table and view, for a plain DuckDB session",
    )
    p.add_argument("query", nargs="?", help="the SQL query, read-only (read from stdin when omitted)")
    p.add_argument(
        "--views-sql",
        action="store_true",
        help="print a script that defines the store's tables and views in any DuckDB session, and exit",
    )
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
    if args.views_sql:
        from r1harness.store.outside import views_sql

        sys.stdout.write(views_sql(open_store(args, readonly=True).root))
        return 0
    query = args.query if args.query is not None else sys.stdin.read()
    if not query.strip():
        print("r1h sql: no query given (pass it as an argument or on stdin)", file=sys.stderr)
        return 2
    emit(open_store(args, readonly=True).sql(query), args.format, args.out)
    return 0


def run_tables(args) -> int:
    import polars as pl

    from r1harness.store.schema import SHARD_TABLES

    counts = open_store(args, readonly=True).tables()
    df = pl.DataFrame(
        {
            "table": list(counts),
            "rows": list(counts.values()),
            "kind": ["shards" if t in SHARD_TABLES else "catalog" for t in counts],
        }
    )
    emit(df, args.format, args.out)
    return 0
