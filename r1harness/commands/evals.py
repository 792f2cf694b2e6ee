"""`r1h evals list`: the benchmark specs in evals/."""

from __future__ import annotations

from r1harness.commands._common import add_command, add_format_args, emit


def register(sub) -> None:
    p = add_command(sub, "evals", help="list benchmark specs", example="r1h evals list --format json")
    verbs = p.add_subparsers(dest="evals_command", metavar="VERB")
    lst = verbs.add_parser("list", help="list the benchmark specs (evals/*.yaml)")
    add_format_args(lst, formats=("table", "csv", "json", "md"))
    lst.set_defaults(func=run_list)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_list(args) -> int:
    import polars as pl

    from r1harness.evals.spec import list_specs

    rows = [
        {
            "name": s.name,
            "version": s.version,
            "dataset": s.dataset,
            "template": s.template,
            "verifier": s.verifier,
            "n": s.n,
            "k": ",".join(map(str, s.k)),
            "cons": ",".join(map(str, s.cons)),
            "temperature": s.sampling.temperature,
            "top_p": s.sampling.top_p,
            "max_tokens": s.sampling.max_tokens,
            "breakdowns": ",".join(s.breakdowns),
            "description": s.description,
        }
        for s in list_specs()
    ]
    df = pl.DataFrame(rows)
    emit(df.drop("description") if args.format in ("table", "md") else df, args.format, args.out)
    return 0
