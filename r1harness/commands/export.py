"""`r1h export`: a set as chat messages for TRL's SFTTrainer (jsonl, parquet or a datasets folder), or
prompts as an RL prompt set for verl or TRL's GRPOTrainer (a set's prompts, or those a condition picks)."""

from __future__ import annotations

import sys

from r1harness.commands._common import add_command, add_store_arg, open_store
from r1harness.errors import ConfigError

EXPORT_FORMATS = ("jsonl", "parquet", "hf")  # a set's samples as chat messages (curate/export.py)
RL_FORMATS = ("verl", "trl")  # prompts as an RL prompt set (curate/rl_export.py)


def register(sub) -> None:
    p = add_command(
        sub,
        "export",
        help="export a set as chat messages (jsonl | parquet | hf), or prompts as an RL set (verl | trl)",
        example="r1h export tiny@v1 --format parquet --out tiny.parquet\n"
        "  r1h export tiny@v1 --format verl --out rl.parquet      # the set's prompts, verl's RL layout\n"
        "  r1h export --where \"p.dataset = 'math500'\" --format trl --out grpo_prompts.parquet",
    )
    p.add_argument(
        "ref", nargs="?", metavar="NAME@vN", help="the set (NAME alone = its latest ready version)"
    )
    p.add_argument("--where", help="verl/trl: a SQL condition over prompts p instead of a set")
    # --format here is the exported file's format, not a listing format: export writes data, not a report
    p.add_argument(
        "--format",
        choices=(*EXPORT_FORMATS, *RL_FORMATS),
        default="jsonl",
        help="jsonl | parquet | hf: the set's samples as chat messages (SFT); verl | trl: prompts as an RL "
        "prompt set (Parquet). Default jsonl",
    )
    p.add_argument(
        "--out", required=True, metavar="PATH", help="file (jsonl, parquet, verl, trl) or folder (hf)"
    )
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    # polars: imported when the command runs, not to build the CLI
    from r1harness.curate.export import export_set
    from r1harness.curate.rl_export import export_rl_prompts

    store = open_store(args, readonly=True)
    if args.format in RL_FORMATS:
        path, n = export_rl_prompts(store, args.out, fmt=args.format, where=args.where, set_ref=args.ref)
        print(f"exported {n} prompts to {path} ({args.format} RL prompt set)", file=sys.stderr)
        return 0
    if args.where or not args.ref:
        raise ConfigError("--format jsonl|parquet|hf exports a set: give NAME@vN (--where is for verl|trl)")
    path, n = export_set(store, args.ref, args.format, args.out)
    print(f"exported {n} samples of {args.ref} to {path} ({args.format})", file=sys.stderr)
    return 0
