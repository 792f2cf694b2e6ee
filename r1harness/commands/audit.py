"""`r1h audit sample|label`: draw set samples for human review and record accept / reject / edit."""

from __future__ import annotations

import sys
from pathlib import Path

from r1harness.commands._common import (
    add_command,
    add_deprecated_option,
    add_format_args,
    add_store_arg,
    emit,
    open_store,
)
from r1harness.errors import ConfigError


def register(sub) -> None:
    p = add_command(
        sub,
        "audit",
        help="human audit of sets: draw samples, record labels",
        example="r1h audit sample tiny@v1 --n 50 --format json --out to_label.json\n"
        "  r1h audit label --sample SAMPLE_ID --label reject --reason 'wrong units'",
    )
    verbs = p.add_subparsers(dest="audit_command", metavar="VERB", required=True)

    s = add_command(
        verbs,
        "sample",
        help="n samples of a set in a seeded order, to label",
        example="r1h audit sample tiny@v1 --n 50",
    )
    s.add_argument("ref", nargs="?", metavar="NAME@vN", help="the set to draw from")
    add_deprecated_option(s, "--set", dest="old_ref", replacement="a positional NAME@vN")
    s.add_argument("--n", type=int, default=50)
    s.add_argument("--seed", type=int, default=0)
    add_store_arg(s)
    add_format_args(s)
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

    ag = add_command(
        verbs,
        "agreement",
        help="Cohen's kappa of two annotators on an audit queue, and where they disagree",
        example="r1h audit agreement 'set:cold@v1#seed=0' --a alice --b bob",
    )
    ag.add_argument("queue", help="the queue name: set:NAME@vN#seed=S or where:CONDITION#seed=S")
    ag.add_argument("--a", required=True, metavar="ANNOTATOR")
    ag.add_argument("--b", required=True, metavar="ANNOTATOR")
    add_store_arg(ag)
    add_format_args(ag)
    ag.set_defaults(func=run_agreement)

    ex = add_command(
        verbs,
        "export",
        help="every label (of one queue, or all); --format json writes what `r1h audit label --file` reads",
        example="r1h audit export --queue 'set:cold@v1#seed=0' --format json --out labels.json",
    )
    ex.add_argument("--queue", default=None, help="only this queue's labels")
    add_store_arg(ex)
    add_format_args(ex)
    ex.set_defaults(func=run_export)


def run_sample(args) -> int:
    from r1harness.curate.audit import draw  # polars: imported when the command runs, not to build the CLI

    ref = args.ref or args.old_ref
    if not ref:
        raise ConfigError("name the set to draw from: r1h audit sample NAME@vN")
    emit(draw(open_store(args, create=False), ref, args.n, args.seed), args.format, args.out)
    return 0


def run_label(args) -> int:
    from r1harness.curate.audit import label_many, read_label_file

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


def run_agreement(args) -> int:
    from r1harness.curate.audit import Queue, agreement

    result = agreement(open_store(args, readonly=True), Queue.from_name(args.queue), args.a, args.b)
    if args.format == "table":
        kappa = "undefined" if result["kappa"] is None else f"{result['kappa']:.3f}"
        print(f"{args.a} and {args.b} both labelled {result['both']} items; Cohen's kappa {kappa}")
        emit(result["disagreements"], "table")
    else:
        emit([{k: v for k, v in result.items()}], args.format, args.out)
    return 0


def run_export(args) -> int:
    from r1harness.curate.audit import Queue, export_labels

    queue = Queue.from_name(args.queue) if args.queue else None
    emit(export_labels(open_store(args, readonly=True), queue), args.format, args.out)
    return 0
