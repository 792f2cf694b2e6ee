"""`r1h verify`: verify rollouts in the store and append `rewards` rows (resumable)."""

from __future__ import annotations

import sys

from r1harness.commands._common import (
    add_command,
    add_executor_args,
    add_format_args,
    add_store_arg,
    emit_summary,
    executor_config,
    open_store,
)


def register(sub) -> None:
    p = add_command(
        sub,
        "verify",
        help="verify rollouts in the store and append rewards rows (skips verified rows)",
        example="r1h verify --store r1h-store --run generate-20250101T000000-ab12cd34 \\\n"
        "      --verifier math,format.r1zero\n"
        "  r1h verify --where \"p.dataset = 'aime24'\" --verifier math,readability "
        "--opt readability:max_paragraph_chars=5000\n"
        "  r1h verify --reverify   # after upgrading r1harness: re-grade verdicts of older verifier\n"
        "                          # versions; prints old -> new verdict counts (view verdict_changes)",
    )
    add_store_arg(p)
    sel = p.add_mutually_exclusive_group()
    sel.add_argument("--run", dest="run_id", help="only rollouts of this run")
    sel.add_argument(
        "--where",
        help="SQL condition over rollouts r joined with prompts p, "
        "e.g. \"p.dataset = 'aime24' AND r.model = 'm'\"",
    )
    p.add_argument(
        "--verifier",
        help="comma-separated verifier names (see registry: math, format.r1zero, language, "
        "readability, readability.repetition, code, ...); required unless --reverify",
    )
    p.add_argument(
        "--reverify",
        action="store_true",
        help="re-grade only rollouts whose verdict came from another (older) version of the verifier "
        "(without --verifier: every verifier with such verdicts) and print what changed",
    )
    p.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="[VERIFIER:]KEY=VALUE",
        help="an option for one verifier, e.g. math:timeout_s=2 (without a prefix: for every verifier, "
        "which must all accept it); value parsed as JSON when possible; repeatable",
    )
    p.add_argument("--batch-size", type=int, default=1024, help="rollouts per appended batch (default 1024)")
    add_executor_args(p)
    add_format_args(p, json_alias="json")
    p.set_defaults(func=run)


def verifier_options(pairs: list[str], names: list[str]) -> dict[str, dict]:
    from r1harness.commands.grade import parse_options
    from r1harness.errors import ConfigError

    out: dict[str, dict] = {n: {} for n in names}
    for pair in pairs:
        head, sep, rest = pair.partition(":")
        if sep and "=" not in head:
            if head not in out:
                raise ConfigError(
                    f"--opt {pair!r} names verifier {head!r}, which is not in --verifier {names}"
                )
            out[head].update(parse_options([rest]))
        else:
            for n in names:
                out[n].update(parse_options([pair]))
    return out


def run(args) -> int:
    from r1harness.errors import ConfigError
    from r1harness.scoring.verify_store import verdict_changes, verify_store

    names = [n.strip() for n in (args.verifier or "").split(",") if n.strip()]
    if not names and not args.reverify:
        raise ConfigError("name the verifiers with --verifier, e.g. --verifier math,format.r1zero")
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    store = open_store(args, create=False)
    if args.executor == "ray":
        return _run_on_ray(store, names, args)
    summary = verify_store(
        store,
        names,
        run_id=args.run_id,
        where=args.where,
        options=verifier_options(args.opt, names),
        batch_size=args.batch_size,
        progress=sys.stderr.isatty(),
        reverify=args.reverify,
    )
    info = summary.to_dict()
    if args.reverify:
        info["verdict_changes"] = verdict_changes(store, summary).to_dicts()
    if args.format != "table":
        emit_summary(info, args.format, args.out)
        return 0
    print(f"verify run {info['run_id']}: {info['candidates']} rollouts selected ({info['seconds']:.2f}s)")
    for name, v in info["verifiers"].items():
        counts = "  ".join(f"{k} {n}" for k, n in sorted(v["counts"].items()))
        print(
            f"  {name} (as {v['stored_as']} v{v['version']}): verified {v['verified']}, "
            f"already done {v['skipped_existing']}  {counts}"
        )
    if info["infra_failures"]:
        print(f"  {info['infra_failures']} timeout/error verdicts stored with a NULL score (not wrong)")
    if args.reverify:
        _print_changes(info["verdict_changes"])
    return 0


def _run_on_ray(store, names: list[str], args) -> int:
    from r1harness.executors.dispatch import verify

    info = verify(
        store,
        names,
        executor=executor_config(args),
        run_id=args.run_id,
        where=args.where,
        options=verifier_options(args.opt, names),
        progress=sys.stderr.isatty(),
        reverify=args.reverify,
    )
    if args.format != "table":
        emit_summary(info, args.format, args.out)
    else:
        print(
            f"verify run {info['run_id']} on Ray: {info['candidates']} rollouts selected, "
            f"{info.get('written', 0)} verdicts written by {info['workers']} workers "
            f"in {info['chunks']} chunks"
        )
    return 0


def _print_changes(rows: list[dict]) -> None:
    if not rows:
        print("  no rollout has verdicts at two versions of these verifiers")
        return
    print("  verdicts re-graded (view verdict_changes):")
    for r in rows:
        mark = "changed" if r["changed"] else "same"
        print(
            f"    {r['verifier']} {r['dataset']}: v{r['old_version']} {r['old_status']} -> "
            f"v{r['new_version']} {r['new_status']}  {r['n']}  ({mark})"
        )
