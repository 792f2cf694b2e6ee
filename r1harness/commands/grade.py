"""`r1h grade`: grade a JSONL file of model outputs (no store needed)."""

from __future__ import annotations

import json
import sys

from r1harness.commands._common import add_command, add_format_args, emit_summary

KIND_CHOICES = ("math", "format", "language", "readability", "code", "countdown")


def register(sub) -> None:
    p = add_command(
        sub,
        "grade",
        help="grade a JSONL file of model outputs and write each row back with its verdict",
        example="r1h grade --kind math outputs.jsonl --gold-field answer --out graded.jsonl\n"
        "  r1h grade --kind math lm_eval_samples.jsonl --extract gsm8k-flexible-extract --gold-field target\n"
        "  r1h grade --kind math other_harness.jsonl --extract lenient --format json\n"
        "  r1h grade --kind format outputs.jsonl --layout r1zero --think-prefilled\n"
        "  r1h grade --kind readability outputs.jsonl --opt max_paragraph_chars=5000 --format json",
    )
    p.add_argument("input", metavar="IN.jsonl", help="one JSON object per line ('-' reads stdin)")
    p.add_argument("--kind", required=True, choices=KIND_CHOICES, help="which verifier grades the rows")
    p.add_argument("--completion-field", default="completion", help="field holding the model output")
    p.add_argument("--gold-field", default=None, help="field holding the gold answer (math; default 'gold')")
    p.add_argument(
        "--out",
        metavar="OUT.jsonl",
        help="write graded rows here (atomically); default: no rows written, summary only",
    )
    p.add_argument("--layout", choices=("r1zero", "coldstart", "r1"), help="format layout (kind format)")
    p.add_argument(
        "--think-prefilled",
        action="store_true",
        help="the chat template already opened <think> (kind format)",
    )
    p.add_argument("--target", help="target language, e.g. en or zh (kind language)")
    p.add_argument(
        "--extract",
        metavar="PRESET",
        choices=_preset_names(),
        help="how the answer is found (kind math; the preset is stamped in each verdict's version): "
        + "; ".join(f"{name}: {summary}" for name, summary in _preset_help())
        + ". Default r1. E.g. 'The answer is $4$.' is unparseable under r1 and graded as 4 under lenient",
    )
    p.add_argument("--timeout", type=float, help="per-answer deadline in seconds (kind math, default 5)")
    p.add_argument("--workers", type=int, help="math worker processes (default: CPU count)")
    p.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other verifier option (value parsed as JSON when possible); repeatable",
    )
    add_format_args(p, out_flag="--summary-out", json_alias="json")  # --out is the graded rows
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _preset_names() -> tuple[str, ...]:
    from r1harness.verify.extract import PRESETS

    return tuple(PRESETS)


def _preset_help() -> list[tuple[str, str]]:
    from r1harness.verify.extract import PRESETS

    return [(p.name, p.summary) for p in PRESETS.values()]


def parse_options(pairs: list[str]) -> dict:
    from r1harness.errors import ConfigError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--opt expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _options(args) -> dict:
    opts = parse_options(args.opt)
    for key, value in (
        ("layout", args.layout),
        ("target", args.target),
        ("timeout_s", args.timeout),
        ("workers", args.workers),
        ("extract", args.extract),
    ):
        if value is not None:
            opts[key] = value
    if args.think_prefilled:
        opts["think_prefilled"] = True
    return opts


def run(args) -> int:
    from r1harness.verify.grading import grade_file

    _, summary = grade_file(
        args.input,
        args.kind,
        out=args.out,
        completion_field=args.completion_field,
        gold_field=args.gold_field,
        options=_options(args),
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    info = summary.to_dict()
    if args.format != "table":
        emit_summary(info, args.format, args.summary_out, out_flag="--summary-out")
        return 0
    counts = "  ".join(f"{k} {v}" for k, v in info["counts"].items())
    acc = "n/a" if info["accuracy"] is None else f"{info['accuracy']:.4f}"
    print(
        f"graded {info['rows']} rows ({args.kind}) in {info['seconds']:.2f}s "
        f"({info['verdicts_per_s']} verdicts/s)\n  {counts}\n  accuracy {acc} "
        f"(correct / scored rows; {info['infra_failures']} timeout/error rows not scored)"
    )
    if args.out:
        print(f"  wrote {args.out}", file=sys.stderr)
    return 0
