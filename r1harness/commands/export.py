"""`r1h export NAME@vN`: a set as chat messages for TRL's SFTTrainer (jsonl, parquet or a datasets folder)."""

from __future__ import annotations

import sys

from r1harness.commands._common import add_command, add_store_arg, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "export",
        help="export a ready set as chat messages (jsonl | parquet | hf)",
        example="r1h export tiny@v1 --format parquet --out tiny.parquet",
    )
    p.add_argument("ref", metavar="NAME@vN", help="the set (NAME alone = its latest ready version)")
    p.add_argument("--format", choices=("jsonl", "parquet", "hf"), default="jsonl")
    p.add_argument("--out", required=True, metavar="PATH", help="file (jsonl, parquet) or folder (hf)")
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from r1harness.curate.export import export_set

    path, n = export_set(open_store(args, create=False), args.ref, args.format, args.out)
    print(f"exported {n} samples of {args.ref} to {path} ({args.format})", file=sys.stderr)
    return 0
