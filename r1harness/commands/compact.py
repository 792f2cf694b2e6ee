"""`r1h compact`: merge the many small batches a long run leaves into one, without stopping readers."""

from __future__ import annotations

from r1harness.commands._common import add_command, add_format_args, add_store_arg, emit, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "compact",
        help="merge small shard batches (safe while others read and write)",
        example="r1h compact --table rollouts --table rewards",
    )
    p.add_argument("--table", action="append", default=[], help="shard table(s) to compact (default: all)")
    p.add_argument(
        "--grace",
        type=float,
        default=600.0,
        metavar="S",
        help="delete the batches earlier compactions replaced, once S seconds have passed since the last "
        "one (default 600: a query that listed them just before can still read them)",
    )
    add_store_arg(p)
    add_format_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import polars as pl

    from r1harness.store.schema import SHARD_TABLES

    store = open_store(args, create=False)
    results = [store.compact(t, grace_s=args.grace) for t in (args.table or list(SHARD_TABLES))]
    emit(
        pl.DataFrame(
            [{k: r.get(k) for k in ("table", "merged_batches", "rows", "deleted_batches")} for r in results]
        ),
        args.format,
        args.out,
    )
    return 0
