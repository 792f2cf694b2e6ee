"""`r1h pipeline run CONFIG` / `r1h pipeline status`: the whole R1 pipeline over one store, resumable."""

from __future__ import annotations

import sys

from r1harness.commands._common import (
    add_command,
    add_format_args,
    add_set_arg,
    add_store_arg,
    emit,
    open_store,
)


def register(sub) -> None:
    p = add_command(
        sub,
        "pipeline",
        help="run the R1 pipeline (R1-Zero, cold start, RL, rejection sampling, "
        "SFT, distillation, eval, report)",
        example="r1h pipeline run tiny --store r1h-store",
    )
    verbs = p.add_subparsers(dest="verb", required=True)
    run = add_command(
        verbs,
        "run",
        help="run or resume a pipeline config (the whole config is checked first, as `r1h validate` does)",
        example="r1h pipeline run datasets/pipelines/tiny.yaml --store r1h-store\n"
        "  r1h pipeline run tiny --set r1zero.trl.max_steps=20   # overrides (YAML values)",
    )
    run.add_argument("config", help="a pipeline name (datasets/pipelines/<name>.yaml) or a YAML file")
    add_store_arg(run)
    add_set_arg(run, help="override a config key (dotted, e.g. eval.n=8); changes the run id; repeatable")
    run.add_argument("--fresh", action="store_true", help="start a new run instead of resuming this config's")
    run.add_argument(
        "--run",
        default=None,
        metavar="ID",
        help="continue this pipeline run even though the config changed (finished stages keep "
        "their results; the first unfinished stage and the rest run with the new config)",
    )
    run.add_argument("--stop-after", default=None, metavar="STAGE", help="stop after this stage")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.set_defaults(func=run_pipeline_cmd)
    status = add_command(
        verbs,
        "status",
        help="stages of a pipeline run and their status",
        example="r1h pipeline status tiny --store r1h-store",
    )
    status.add_argument("config", help="pipeline name or YAML file (its run for this config), or a run id")
    add_store_arg(status)
    add_set_arg(status, help="the same overrides as the run had (they are part of its run id)")
    add_format_args(status)
    status.set_defaults(func=status_cmd)


def _config(args):
    from r1harness.configs import parse_overrides
    from r1harness.pipeline import load_pipeline_config

    return load_pipeline_config(args.config, parse_overrides(args.set))


def run_pipeline_cmd(args) -> int:
    from r1harness.console import library_output_to
    from r1harness.pipeline import run_pipeline

    config = _config(args)
    store = open_store(args)
    quiet = args.quiet
    with library_output_to(config.work_path / "r1h.log", announce=not quiet, training_bars=not quiet):
        result = run_pipeline(
            store,
            config,
            fresh=args.fresh,
            run_id=args.run,
            stop_after=args.stop_after,
            progress=not args.quiet,
        )
    print_outcome(store, result)
    return 0


def print_outcome(store, result) -> None:
    """The leaderboard of the run's models and where the report is."""
    import polars as pl

    from r1harness.report.build import metrics_table
    from r1harness.report.queries import query

    board = store.sql(query("leaderboard", result.run_id))
    if not board.is_empty():
        # the report's own query and table, so the printed digits are the report's digits
        header, rows = metrics_table(board)
        print("\nleaderboard (held-out problems; 95% bootstrap CIs):")
        emit(pl.DataFrame(rows, schema=header, orient="row"), "table")
    state = "complete" if result.complete else f"stopped after {(result.ran or result.skipped)[-1]}"
    print(
        f"pipeline run {result.run_id}: {state}; ran {len(result.ran)} stage(s), "
        f"skipped {len(result.skipped)} finished earlier"
    )
    if result.report:
        print(f"report: {result.report}")


def status_cmd(args) -> int:
    import polars as pl

    from r1harness.pipeline import pipeline_run_id, stage_runs

    run_id = args.config if args.config.startswith("pipeline-") else pipeline_run_id(_config(args))
    store = open_store(args, create=False)
    rows = [
        {
            "stage": name,
            "status": r["status"],
            "seconds": r["summary"].get("seconds"),
            "cpu_seconds": r["summary"].get("cpu_seconds"),
            "model": r["summary"].get("model"),
            "run_id": r["run_id"],
        }
        for name, r in stage_runs(store, run_id).items()
    ]
    if not rows:
        print(f"no stages recorded for pipeline run {run_id}", file=sys.stderr)
        return 1
    print(f"pipeline run {run_id}", file=sys.stderr)
    emit(pl.DataFrame(rows), args.format, args.out)
    return 0
