"""`r1h leaderboard`: model x benchmark from the store's `leaderboard` view, with CIs, n and protocol."""

from __future__ import annotations

import sys

from r1harness.commands._common import add_command, add_format_args, add_store_arg, emit, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "leaderboard",
        help="model x benchmark table of eval results (one row per model, benchmark, protocol, metric)",
        example="r1h leaderboard --bench aime24,math500 --metric pass@1,cons_gain@64\n"
        "  r1h leaderboard --metric 'exact_match,strict-match' --format csv   # an lm-eval import",
    )
    add_store_arg(p)
    p.add_argument("--bench", action="append", help="benchmarks, comma-separated or repeated (default all)")
    p.add_argument(
        "--metric",
        action="append",
        help="metrics, comma-separated or repeated; a name with a comma is taken whole when the store has "
        "it (default: pass@1, and every metric of a benchmark without pass@1, such as lm-eval imports)",
    )
    p.add_argument("--model", action="append", help="models, comma-separated or repeated (default all)")
    p.add_argument(
        "--unit",
        choices=("percent", "fraction"),
        default="percent",
        help="how shares (pass@k, cons@k, exact match) appear in the table (default percent)",
    )
    add_format_args(p, extra=("md",))
    p.set_defaults(func=run_leaderboard)


def run_leaderboard(args) -> int:
    from r1harness.errors import ConfigError
    from r1harness.evals.leaderboard import build, nothing_matches, present, split_names

    store = open_store(args, readonly=True)
    have = present(store)
    bench = split_names(args.bench, [b.split("@")[0] for b in have["benchmarks"]])
    metric = split_names(args.metric, have["metrics"]) if args.metric else None
    model = split_names(args.model, have["models"])
    board = build(store, benchmarks=bench, metrics=metric, models=model, unit=args.unit)
    for warning in board.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if board.long.is_empty():
        message = nothing_matches(store, bench=bench, metric=metric or [], model=model)
        if have["models"]:  # results exist, the selection missed them: an error the user can fix
            raise ConfigError(message)
        print(message, file=sys.stderr)
        return 0
    # Tables for people: the wide model x benchmark grid; data for programs: one row per number.
    emit(board.wide if args.format in ("table", "md") else board.long, args.format, args.out)
    return 0
