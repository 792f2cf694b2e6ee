"""`r1h audit sample|label`: draw set samples for human review and record accept / reject / edit."""

from __future__ import annotations

import sys
from pathlib import Path

from r1harness.commands._common import add_command, add_format_args, add_store_arg, emit, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "audit",
        help="human audit of sets: draw samples, record labels",
        example="r1h audit sample --set tiny@v1 --n 50 --format json --out to_label.json\n"
        "  r1h audit label --sample SAMPLE_ID --label reject --reason 'wrong units'",
    )
    verbs = p.add_subparsers(dest="audit_command", metavar="VERB", required=True)

    s = add_command(
        verbs,
        "sample",
        help="n samples of a set in a seeded order, to label",
        example="r1h audit sample --set tiny@v1 --n 50",
    )
    s.add_argument("--set", required=True, metavar="NAME@vN")
    s.add_argument("--n", type=int, default=50)
    s.add_argument("--seed", type=int, default=0)
    add_store_arg(s)
    add_format_args(s, formats=("table", "csv", "json", "parquet"))
    s.set_defaults(func=run_sample)

    lab = add_command(
        verbs,
        "label",
        help="record accept / reject / edit (with a reason) for samples",
        example="r1h audit label --sample SAMPLE_ID --label edit --reason 'typo' "
        "--edited-file fixed.txt\n  r1h audit label --file labels.jsonl",
    )
    target = lab.add_mutually_exclusive_group(required=True)
    target.add_argument("--sample", metavar="SAMPLE_ID")
    target.add_argument("--rollout", metavar="ROLLOUT_ID")
    target.add_argument(
        "--file",
        metavar="JSONL",
        help="labels, one JSON object a line: {sample_id|rollout_id, label, reason, edited_text}",
    )
    lab.add_argument("--label", choices=("accept", "reject", "edit"))
    lab.add_argument("--reason")
    lab.add_argument("--edited-text")
    lab.add_argument("--edited-file", metavar="FILE", help="read the edited completion from FILE")
    lab.add_argument("--annotator")
    add_store_arg(lab)
    lab.set_defaults(func=run_label)


def run_sample(args) -> int:
    from r1harness.curate.audit import draw

    emit(draw(open_store(args, create=False), args.set, args.n, args.seed), args.format, args.out)
    return 0


def run_label(args) -> int:
    from r1harness.curate.audit import label_many, read_label_file
    from r1harness.errors import ConfigError

    store = open_store(args, create=False)
    if args.file:
        items = read_label_file(args.file)
        where = args.file
    else:
        if not args.label:
            raise ConfigError("give --label accept|reject|edit (or --file with labels)")
        edited = Path(args.edited_file).read_text(encoding="utf-8") if args.edited_file else args.edited_text
        items = [
            {
                "sample_id": args.sample,
                "rollout_id": args.rollout,
                "label": args.label,
                "reason": args.reason,
                "edited_text": edited,
                "annotator": args.annotator,
            }
        ]
        where = "label"
    rows = label_many(store, items, where)
    print(f"recorded {len(rows)} label(s)", file=sys.stderr)
    return 0
