"""`r1h verify`: verify rollouts in the store and append `rewards` rows (resumable)."""

from __future__ import annotations

import json
import sys

from r1harness.commands._common import add_command, add_store_arg, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "verify",
        help="verify rollouts in the store and append rewards rows (skips verified rows)",
        example="r1h verify --store r1h-store --run generate-20250101T000000-ab12cd34 \\\n"
        "      --verifier math,format.r1zero\n"
        "  r1h verify --where \"p.dataset = 'aime24'\" --verifier math,readability "
        "--opt readability:max_paragraph_chars=5000",
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
        required=True,
        help="comma-separated verifier names (see registry: math, format.r1zero, language, "
        "readability, readability.repetition, code, ...)",
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
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
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
    from r1harness.verify.store_verify import verify_store

    names = [n.strip() for n in args.verifier.split(",") if n.strip()]
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    summary = verify_store(
        open_store(args, create=False),
        names,
        run_id=args.run_id,
        where=args.where,
        options=verifier_options(args.opt, names),
        batch_size=args.batch_size,
        progress=sys.stderr.isatty(),
    )
    info = summary.to_dict()
    if args.json:
        print(json.dumps(info, default=str))
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
    return 0
