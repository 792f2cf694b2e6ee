"""`r1h import lm-eval DIR`: ingest lm-evaluation-harness --log_samples output into the store."""

from __future__ import annotations

import json

from r1harness.commands._common import add_command, add_store_arg, open_store


def add_lmeval(kinds) -> None:
    """`r1h import lm-eval`: one of the sources of `r1h import` (r1harness/commands/import_.py)."""
    lm = add_command(
        kinds,
        "lm-eval",
        help="lm-evaluation-harness --output_path folder (run with --log_samples)",
        example="r1h import lm-eval out/ --dataset gsm8k --model runs/tiny",
    )
    lm.add_argument("directory", help="lm_eval --output_path folder (or one results_*.json)")
    add_store_arg(lm)
    lm.add_argument(
        "--dataset",
        default=None,
        help="prompts.dataset to file the docs under (default lm-eval:<task>); use the ingested "
        "name, e.g. gsm8k, to link to prompts already in the store",
    )
    lm.add_argument("--model", default=None, help="model name to record (default lm-eval's model_name)")
    lm.add_argument("--problem-field", default=None, help="doc field holding the problem text")
    lm.set_defaults(func=run_import)


def run_import(args) -> int:
    from r1harness.evals.lmeval import import_lmeval

    summary = import_lmeval(
        open_store(args),
        args.directory,
        dataset=args.dataset,
        model=args.model,
        problem_field=args.problem_field,
    )
    print(
        json.dumps(
            {
                "run_id": summary.run_id,
                "tasks": list(summary.tasks),
                "prompts": summary.prompts,
                "rollouts": summary.rollouts,
                "rewards": summary.rewards,
                "results": summary.results,
            }
        )
    )
    return 0
