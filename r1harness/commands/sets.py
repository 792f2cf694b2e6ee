"""`r1h sets list|show|diff`: the versioned SFT sets in the store."""

from __future__ import annotations

import json

from r1harness.commands._common import add_command, add_format_args, add_store_arg, emit, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "sets",
        help="list, show and compare versioned SFT sets",
        example="r1h sets list\n  r1h sets show tiny@v1\n  r1h sets diff tiny@v1 tiny@v2",
    )
    verbs = p.add_subparsers(dest="sets_command", metavar="VERB", required=True)

    ls = add_command(
        verbs, "list", help="ready sets (--all: also building/failed ones)", example="r1h sets list"
    )
    ls.add_argument("--all", action="store_true", help="include sets that are not ready")
    add_store_arg(ls)
    add_format_args(ls)
    ls.set_defaults(func=run_list)

    show = add_command(
        verbs,
        "show",
        help="a set's funnel, composition, quotas and recipe",
        example="r1h sets show tiny@v1 --part funnel --format csv",
    )
    show.add_argument("ref", metavar="NAME@vN")
    show.add_argument(
        "--part",
        choices=("summary", "funnel", "composition", "quotas", "decontamination", "recipe"),
        default="summary",
    )
    add_store_arg(show)
    add_format_args(show)
    show.set_defaults(func=run_show)

    df = add_command(
        verbs,
        "diff",
        help="membership and recipe differences of two sets",
        example="r1h sets diff tiny@v1 tiny@v2",
    )
    df.add_argument("a", metavar="A")
    df.add_argument("b", metavar="B")
    add_store_arg(df)
    add_format_args(df)
    df.set_defaults(func=run_diff)


def run_list(args) -> int:
    from r1harness.curate.sets import list_sets  # curation pulls in polars: not needed to build the CLI

    emit(list_sets(open_store(args, readonly=True), include_unready=args.all), args.format, args.out)
    return 0


def run_show(args) -> int:
    import polars as pl

    from r1harness.curate.funnel import stages_frame
    from r1harness.curate.sets import composition, resolve

    store = open_store(args)
    row = resolve(store, args.ref)
    funnel = row["funnel"] or {}
    if args.part == "recipe":
        print(json.dumps(row["recipe"], indent=1))
        return 0
    if args.part == "funnel":
        df = stages_frame(funnel)
    elif args.part == "composition":
        df = composition(store, row["name"], row["version"])
    elif args.part == "quotas":
        df = pl.DataFrame(funnel.get("quotas", []))
    elif args.part == "decontamination":
        df = pl.DataFrame(
            funnel.get("decontamination", {}).get("hits", []),
            schema={"field": pl.String, "benchmark": pl.String, "rows": pl.Int64},
        )
    else:
        df = composition(store, row["name"], row["version"]).with_columns(
            set=pl.lit(f"{row['name']}@v{row['version']}"),
            status=pl.lit(row["status"]),
            run_id=pl.lit(row["run_id"]),
        )
        if args.format == "table":
            print(
                f"{row['name']}@v{row['version']}: {row['n_samples']} samples, run {row['run_id']}, "
                f"built {row['created_at']}\n"
            )
            emit(df.drop("set", "status", "run_id"), "table")
            print("\nfunnel:")
            df = stages_frame(funnel)
    emit(df, args.format, args.out)
    return 0


def run_diff(args) -> int:
    import polars as pl

    from r1harness.curate.sets import diff

    d = diff(open_store(args, readonly=True), args.a, args.b)
    if args.format != "table":
        emit(
            pl.DataFrame(
                [{k: json.dumps(v, default=str) if isinstance(v, (list, dict)) else v for k, v in d.items()}]
            ),
            args.format,
            args.out,
        )
        return 0
    print(f"{d['a']}: {d['n_a']} samples   {d['b']}: {d['n_b']} samples")
    print(f"common {d['common']}   only in {d['a']}: {d['only_a']}   only in {d['b']}: {d['only_b']}")
    if d["by_domain"]:
        emit(pl.DataFrame(d["by_domain"]), "table")
    for change in d["recipe_changes"]:
        print(f"recipe {change['key']}: {change['a']!r} -> {change['b']!r}")
    return 0
