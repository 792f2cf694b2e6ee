"""`r1h validate`: check config files (benchmark specs, ...) without loading a model."""

from __future__ import annotations

import sys

from r1harness.commands._common import add_command


def register(sub) -> None:
    p = add_command(
        sub,
        "validate",
        help="check every benchmark spec (and other registered configs)",
        example="r1h validate            # every evals/*.yaml\n  r1h validate evals/aime24.yaml",
    )
    p.add_argument("paths", nargs="*", help="files or folders (default: every registered kind's files)")
    p.add_argument(
        "--kind",
        action="append",
        default=None,
        help="config kind(s) to check (default all; see r1harness/evals/validate.py VALIDATORS)",
    )
    p.set_defaults(func=run_validate)


def run_validate(args) -> int:
    from r1harness.evals.validate import validate_paths

    findings = validate_paths(args.paths or None, args.kind)
    if not findings:
        print("nothing to validate", file=sys.stderr)
        return 1
    bad = 0
    for f in findings:
        if f.ok:
            print(f"ok    {f.kind:6} {f.path}")
        else:
            bad += 1
            for problem in f.problems:
                print(f"FAIL  {f.kind:6} {problem}")
    print(f"{len(findings) - bad} ok, {bad} failed", file=sys.stderr)
    return 1 if bad else 0
