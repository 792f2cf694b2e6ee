"""`r1h leaderboard`: model x benchmark from eval_results, with CIs, n and protocol version."""

from __future__ import annotations

import sys

from r1harness.commands._common import add_command, add_format_args, add_store_arg, emit, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "leaderboard",
        help="model x benchmark table of eval results",
        example="r1h leaderboard --bench aime24,math500 --metric pass@1,cons@64 --format md",
    )
    add_store_arg(p)
    p.add_argument("--bench", default="", help="comma-separated benchmarks (default all)")
    p.add_argument("--metric", default="pass@1", help="comma-separated metrics (default pass@1)")
    p.add_argument("--model", default="", help="comma-separated models (default all)")
    add_format_args(p, formats=("table", "md", "csv", "json"))
    p.set_defaults(func=run_leaderboard)


def run_leaderboard(args) -> int:
    from r1harness.evals.leaderboard import build

    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    board = build(
        open_store(args), benchmarks=split(args.bench), metrics=split(args.metric), models=split(args.model)
    )
    for warning in board.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if board.long.is_empty():
        print("no eval results yet; run `r1h eval` or `r1h import lm-eval DIR`", file=sys.stderr)
        return 0
    # Tables for people: the wide model x benchmark grid; data for programs: one row per number.
    emit(board.wide if args.format in ("table", "md") else board.long, args.format, args.out)
    return 0
