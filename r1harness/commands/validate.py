"""`r1h validate`: check config files (benchmark specs, ...) without loading a model."""

from __future__ import annotations

import sys

from r1harness.commands._common import add_command, add_format_args, emit


def register(sub) -> None:
    p = add_command(
        sub,
        "validate",
        help="check every benchmark spec (and other registered configs)",
        example="r1h validate            # every registered kind's files\n  r1h validate evals/aime24.yaml"
        "\n  r1h validate --kind recipe --format json",
    )
    p.add_argument("paths", nargs="*", help="files or folders (default: every registered kind's files)")
    p.add_argument(
        "--kind",
        action="append",
        default=None,
        help="config kind(s) to check (default all; see r1harness/validate.py VALIDATORS)",
    )
    add_format_args(p)
    p.set_defaults(func=run_validate)


def run_validate(args) -> int:
    from r1harness.validate import validate_paths

    findings = validate_paths(args.paths or None, args.kind)
    if not findings:
        print("nothing to validate", file=sys.stderr)
        return 1
    bad = sum(not f.ok for f in findings)
    if args.format == "table":  # problems are long sentences: one line each rather than cut table cells
        for f in findings:
            lines = [f"ok    {f.kind:6} {f.path}"] if f.ok else [f"FAIL  {f.kind:6} {p}" for p in f.problems]
            print("\n".join(lines))
    else:  # one row per problem, one per valid file
        rows = [
            {"kind": f.kind, "path": f.path, "ok": f.ok, "problem": problem}
            for f in findings
            for problem in (f.problems or [None])
        ]
        emit(rows, args.format, args.out)
    print(f"{len(findings) - bad} ok, {bad} failed", file=sys.stderr)
    return 1 if bad else 0
