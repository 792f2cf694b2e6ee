"""`r1h eval`: generate, verify and score benchmarks with the R1 protocol; results go to eval_results."""

from __future__ import annotations

import sys

from r1harness.commands._common import (
    add_command,
    add_executor_args,
    add_format_args,
    add_store_arg,
    emit,
    executor_config,
    open_store,
)
from r1harness.commands._gen_args import add_backend_args, backend_spec, make_backend


def register(sub) -> None:
    p = add_command(
        sub,
        "eval",
        help="evaluate a model on benchmark specs (resumable)",
        example="r1h eval --model runs/tiny --backend transformers --bench aime24,math500 --n 4 --limit 20\n"
        "  r1h eval --model runs/tiny --bench math500 --n 4 --executor ray   # on the running Ray cluster",
    )
    add_store_arg(p)
    add_backend_args(p)
    p.add_argument(
        "--bench", required=True, help="comma-separated spec names (r1h benchmarks list) or YAML paths"
    )
    p.add_argument("--n", type=int, default=None, help="samples per problem (default: the spec's n)")
    p.add_argument("--limit", type=int, default=None, help="first N problems only (stamped in the protocol)")
    p.add_argument("--max-tokens", type=int, default=None, help="override the spec's max tokens")
    p.add_argument("--batch-size", type=int, default=32, help="prompts per backend call / atomic append")
    p.add_argument(
        "--standings",
        default=None,
        metavar="DIR",
        help="codeforces: contest standings JSON folder, to add a CodeElo rating",
    )
    p.add_argument("--no-progress", action="store_true")
    add_executor_args(p)
    add_format_args(p, extra=("md",))
    p.set_defaults(func=run_eval_cmd)


def run_eval_cmd(args) -> int:
    # evaluation pulls in polars and the verifiers: imported when the command runs, not to build the CLI
    import polars as pl

    from r1harness.evals.runner import run_eval
    from r1harness.evals.spec import load_spec

    specs = [load_spec(name.strip()) for name in args.bench.split(",") if name.strip()]
    store = open_store(args)
    # ray: each worker builds the backend from its spec; the model never loads in this process
    backend = backend_spec(args) if args.executor == "ray" else make_backend(args)
    rows = []
    for spec in specs:
        outcome = run_eval(
            store,
            backend,
            spec,
            limit=args.limit,
            n=args.n,
            max_tokens=args.max_tokens,
            batch_size=args.batch_size,
            standings=args.standings,
            progress=not args.no_progress,
            executor=executor_config(args),
        )
        print(
            f"{spec.name}: run {outcome.run_id}: generated {outcome.generated}, verified {outcome.verified}",
            file=sys.stderr,
        )
        rows += [
            {
                "benchmark": spec.name,
                "version": spec.benchmark_version,
                "metric": r.metric,
                "breakdown": r.breakdown,
                "value": r.value,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "n_problems": r.n_problems,
                "n_samples": r.n_samples,
            }
            for r in outcome.results
        ]
    emit(pl.DataFrame(rows, infer_schema_length=None), args.format, args.out)
    return 0
