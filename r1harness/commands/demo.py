"""`r1h demo`: the main job on the embedded defaults: the `tiny` pipeline on the CPU, then the leaderboard
and the report's path. Rerunning resumes where a killed demo stopped.

The report goes beside the store (`<store>-reports/<config>`, e.g. r1h-store-reports/tiny) or where --out
says, never over the committed reports/ of a clone; the libraries' output goes to the work dir's r1h.log."""

from __future__ import annotations

from pathlib import Path

from r1harness.commands._common import add_command, add_store_arg, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "demo",
        help="run the R1 pipeline in miniature (tiny models, CPU, < 20 min) and report",
        example="r1h demo    # store ./r1h-store, models under runs/, report in r1h-store-reports/tiny\n"
        "  r1h demo --out reports/tiny   # regenerate the committed report",
    )
    add_store_arg(p)
    p.add_argument("--config", default="tiny", help="pipeline config (default tiny)")
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="report folder (default: the config's report_dir if it sets one, else <store>-reports/<config>)",
    )
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming")
    p.set_defaults(func=run)


def report_dir_beside(store_root: str | Path, config_name: str) -> Path:
    """The demo's report folder next to its store: <store>-reports/<config name>."""
    root = Path(store_root).resolve()
    return root.parent / f"{root.name}-reports" / config_name


def run(args) -> int:
    from r1harness.commands.pipeline import print_outcome
    from r1harness.console import library_output_to
    from r1harness.pipeline import load_pipeline_config, run_pipeline

    config = load_pipeline_config(args.config)
    store = open_store(args)
    report_dir = args.out or (None if config.report_dir else report_dir_beside(store.root, config.name))
    print(f"r1h demo: pipeline {config.name} on store {store.root} (rerun to resume after an interruption)")
    with library_output_to(config.work_path / "r1h.log"):
        result = run_pipeline(store, config, fresh=args.fresh, report_dir=report_dir)
    print_outcome(store, result)
    return 0
