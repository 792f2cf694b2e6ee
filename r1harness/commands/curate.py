"""`r1h curate`: build a versioned SFT set from a recipe (rejection sampling, dedup, decontamination)."""

from __future__ import annotations

import json
import sys

from r1harness.commands._common import add_command, add_format_args, add_store_arg, emit, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "curate",
        help="build a versioned SFT set (name@vN) from a curation recipe",
        example="r1h curate --store r1h-store --recipe tiny\n"
        "  r1h curate --store r1h-store --from-set tiny@v1   # rebuild from the stored recipe",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--recipe", metavar="NAME_OR_PATH", help="datasets/recipes/<NAME>.yaml or a YAML file")
    src.add_argument("--from-set", metavar="NAME@vN", help="rebuild with the recipe stored with this set")
    p.add_argument("--name", help="set name (default: the recipe's name)")
    p.add_argument(
        "--version", type=int, help="build this version (default: next, or resume an unfinished one)"
    )
    p.add_argument("--check", action="store_true", help="validate the recipe and its query, build nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_store_arg(p)
    add_format_args(p)
    p.set_defaults(func=run)


def _recipe(args, store):
    from r1harness.curate.recipe import load_recipe, recipe_from_dict
    from r1harness.curate.sets import resolve

    if args.recipe:
        return load_recipe(args.recipe), None
    row = resolve(store, args.from_set)
    return recipe_from_dict(row["recipe"], origin=f"recipe stored with {row['name']}@v{row['version']}"), row


def run(args) -> int:
    # curation pulls in polars and datasketch: imported when the command runs, not to build the CLI
    from r1harness.curate.build import benchmark_index, build_set
    from r1harness.curate.funnel import stages_frame
    from r1harness.curate.sets import diff
    from r1harness.curate.source import validate_source

    store = open_store(args)
    recipe, original = _recipe(args, store)
    if args.check:
        validate_source(store, recipe)
        index = benchmark_index(store, recipe)
        print(
            f"recipe {recipe.name} is valid; decontaminating against "
            f"{index.benchmarks if index else 'nothing'}",
            file=sys.stderr,
        )
        return 0
    result = build_set(
        store,
        recipe,
        name=args.name or (original or {}).get("name"),
        version=args.version,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    print(
        f"built {result.ref}: {result.n_samples} samples"
        f"{' (resumed an unfinished build)' if result.resumed else ''}",
        file=sys.stderr,
    )
    for q in result.funnel.get("quotas", []):
        if q["shortfall"]:
            print(
                f"warning: quota {q['group']} wanted {q['quota']} but only {q['supply']} rows survived "
                "the filters",
                file=sys.stderr,
            )
    if original is not None:
        d = diff(store, f"{original['name']}@v{original['version']}", result.ref)
        same = d["only_a"] == 0 and d["only_b"] == 0
        print(
            f"regenerated {d['a']} as {d['b']}: {'identical membership' if same else 'DIFFERENT'} "
            f"({d['common']} common, {d['only_a']} only in {d['a']}, {d['only_b']} only in {d['b']})",
            file=sys.stderr,
        )
    if args.format == "json":
        out = json.dumps(
            {"set": result.ref, "n_samples": result.n_samples, "funnel": result.funnel}, indent=1, default=str
        )
        print(out) if not args.out else open(args.out, "w", encoding="utf-8").write(out + "\n")
    else:
        emit(stages_frame(result.funnel), args.format, args.out)
    return 0
