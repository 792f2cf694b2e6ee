"""`r1h import SOURCE PATH`: bring another system's rollouts and scores into the store, with lineage."""

from __future__ import annotations

import sys

from r1harness.commands._common import add_command, add_format_args, add_store_arg, emit, open_store
from r1harness.commands.lmeval_import import add_lmeval

EXAMPLES = {
    "verl": "r1h import verl checkpoints/run1/rollout_data --dataset math_train --model qwen-7b-grpo",
    "trl": "r1h import trl runs/grpo/completions --dataset arithmetic",
    "lighteval": "r1h import lighteval results/details --dataset math500 --model r1-distill-7b",
    "hub": "r1h import hub open-r1/OpenR1-Math-220k --dataset openr1_math --split train",
}


def register(sub) -> None:
    from r1harness.importers import SOURCES

    p = add_command(
        sub,
        "import",
        help="import rollouts from verl, TRL, lighteval, hub datasets or lm-eval",
        description="Import another system's rollouts: prompts matched to the store's by content, one "
        "rollout per completion (stage 'import'), the source's scores as rewards named SOURCE.SCORE "
        "(version 'imported'). Re-importing the same files writes nothing new. Then `r1h verify` adds "
        "r1harness's verdicts and the imported_vs_verified view shows where they disagree.",
        example="\n  ".join(
            [*EXAMPLES.values(), "r1h import lm-eval out/ --dataset gsm8k --model runs/tiny"]
        ),
    )
    kinds = p.add_subparsers(dest="import_kind", metavar="SOURCE", required=True)
    for name, (_, fmt) in SOURCES.items():
        k = add_command(kinds, name, help=fmt, example=EXAMPLES[name])
        k.add_argument(
            "path", help="the dump folder or file" + (", or a hub dataset id" if name == "hub" else "")
        )
        k.add_argument(
            "--dataset", required=True, help="the prompts' dataset in the store (matches stored ones)"
        )
        k.add_argument(
            "--model", default=None, help="the model that generated them (default: SOURCE:PATH name)"
        )
        if name == "hub":
            k.add_argument("--split", default=None, help="the split to read")
            k.add_argument("--config", default=None, help="the dataset config (subset) to read")
        add_store_arg(k)
        add_format_args(k)
        k.set_defaults(func=run, source=name)
    add_lmeval(kinds)


def run(args) -> int:
    from r1harness.importers import import_source

    store = open_store(args)
    hub = {"split": getattr(args, "split", None), "config": getattr(args, "config", None)}
    summary = import_source(store, args.source, args.path, dataset=args.dataset, model=args.model, **hub)
    print(
        f"imported {summary.records} completions from {args.source}: {summary.rollouts_written} new "
        f"rollouts, {summary.rewards_written} scores, {summary.prompts_new} new prompts "
        f"({summary.prompts_matched} matched stored ones); run {summary.run_id}",
        file=sys.stderr,
    )
    emit([summary.to_dict()], args.format, args.out)
    return 0
