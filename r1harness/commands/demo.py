"""`r1h demo`: the main job on the embedded defaults: the `tiny` pipeline on the CPU, then the leaderboard
and the report's path. Rerunning resumes where a killed demo stopped."""

from __future__ import annotations

from r1harness.commands._common import add_command, add_store_arg, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "demo",
        help="run the R1 pipeline in miniature (tiny models, CPU, < 20 min) and report",
        example="r1h demo            # store ./r1h-store, models under runs/, report under reports/tiny",
    )
    add_store_arg(p)
    p.add_argument("--config", default="tiny", help="pipeline config (default tiny)")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming")
    p.set_defaults(func=run)


def run(args) -> int:
    from r1harness.commands.pipeline import print_outcome
    from r1harness.pipeline import load_pipeline_config, run_pipeline

    config = load_pipeline_config(args.config)
    store = open_store(args)
    print(f"r1h demo: pipeline {config.name} on store {store.root} (rerun to resume after an interruption)")
    result = run_pipeline(store, config, fresh=args.fresh)
    print_outcome(store, result)
    return 0
