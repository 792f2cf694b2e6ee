"""`r1h benchmarks list`: the benchmark specs in evals/ that `r1h eval` runs (`r1h evals` is the old name)."""

from __future__ import annotations

from r1harness.commands._common import add_command, add_deprecated_command, add_format_args, emit
from r1harness.evals.spec import list_specs


def register(sub) -> None:
    p = add_command(
        sub,
        "benchmarks",
        help="list the benchmark specs that r1h eval runs",
        example="r1h benchmarks list --format json",
    )
    _add_verbs(p)
    add_deprecated_command(sub, "evals", "benchmarks", _add_verbs)


def _add_verbs(p) -> None:
    verbs = p.add_subparsers(dest="benchmarks_command", metavar="VERB", required=True)
    lst = add_command(
        verbs,
        "list",
        help="list the benchmark specs (evals/*.yaml)",
        example="r1h benchmarks list\n  r1h benchmarks list --format csv --out specs.csv",
    )
    add_format_args(lst, extra=("md",))
    lst.set_defaults(func=run_list)


def run_list(args) -> int:
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
    import polars as pl  # when the command runs, not to build the CLI

    df = pl.DataFrame(rows)
    emit(df.drop("description") if args.format in ("table", "md") else df, args.format, args.out)
    return 0
