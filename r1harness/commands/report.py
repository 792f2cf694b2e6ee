"""`r1h report`: Markdown + self-contained HTML with plots, regenerated from SQL over the store."""

from __future__ import annotations

from r1harness.commands._common import add_command, add_store_arg, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "report",
        help="write a Markdown + HTML report (plots, leaderboard, funnel) from the store",
        example="r1h report --store r1h-store --run pipeline-tiny-0123abcd --out reports/tiny",
    )
    add_store_arg(p)
    p.add_argument(
        "--run",
        default=None,
        metavar="ID",
        help="report on this run and every run below it (default: the whole store)",
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="folder for report.md, report.html, *.png/sql/csv"
    )
    p.add_argument("--title", default=None)
    p.set_defaults(func=run_report)


def run_report(args) -> int:
    from r1harness.errors import ConfigError
    from r1harness.report import build_report

    store = open_store(args, readonly=True)
    if args.run and store.sql("SELECT count(*) AS n FROM runs WHERE run_id = ?", [args.run])["n"][0] == 0:
        raise ConfigError(
            f"no run {args.run!r} in {store.root}; list runs with "
            "`r1h sql \"SELECT run_id, kind, name FROM runs WHERE kind = 'pipeline'\"`"
        )
    report = build_report(store, args.out, run_id=args.run, title=args.title)
    for note in report.findings:
        print(f"- {note}")
    print(f"report: {report.html}\nmarkdown: {report.markdown}")
    return 0
