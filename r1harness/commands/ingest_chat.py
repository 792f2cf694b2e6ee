"""`r1h ingest-chat FILE --dataset NAME`: general chat data (messages) as prompts + import rollouts."""

from __future__ import annotations

import sys

from r1harness.commands._common import add_command, add_store_arg, open_store
from r1harness.ingest.chat import import_chat


def register(sub) -> None:
    p = add_command(
        sub,
        "ingest-chat",
        help="import general chat data (a messages list per record) with lineage",
        example="r1h ingest-chat general.jsonl --dataset general_chat --model deepseek-v3",
    )
    p.add_argument("file", help="JSONL / JSON / Parquet / datasets folder; each record has a messages list")
    p.add_argument("--dataset", required=True, help="dataset name for the prompts rows")
    p.add_argument("--model", help="model that wrote the answers (default import:<dataset>)")
    p.add_argument("--field", default="messages", help="the column holding the messages (default messages)")
    p.add_argument("--split", help="split to read from a datasets folder")
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    s = import_chat(
        open_store(args),
        args.file,
        dataset=args.dataset,
        model=args.model,
        field=args.field,
        split=args.split,
    )
    print(
        f"ingest-chat {s.dataset}: {s.records} records -> {s.prompts_written} new prompts, "
        f"{s.rollouts_written} new rollouts (run {s.run_id})",
        file=sys.stderr,
    )
    return 0
