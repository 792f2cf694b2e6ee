"""The whole pipeline, shortened (tests/fixtures/pipeline_short.yaml), end to end on tiny models: killed with
SIGKILL between two stages, then resumed to completion; then the CLI and the report over its store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from r1harness.pipeline import load_pipeline_config, pipeline_run_id, run_pipeline, stage_runs
from r1harness.pipeline.evaluation import MODEL_STAGES
from r1harness.pipeline.stages import STAGES
from r1harness.store import Store

pytestmark = pytest.mark.slow  # about a minute on 2 idle cores: every stage trains or generates for real

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "tests" / "fixtures" / "pipeline_short.yaml"

KILL_BEFORE = "reasoning_rl"
SCRIPT = """
import os, signal
from r1harness.pipeline import load_pipeline_config, run_pipeline
from r1harness.pipeline.stages import STAGES
from r1harness.store import Store
stages = dict(STAGES)
stages[{stage!r}] = lambda ctx: os.kill(os.getpid(), signal.SIGKILL)
config = load_pipeline_config({config!r}, {overrides!r})
run_pipeline(Store.open({store!r}), config, stages=stages, progress=False)
"""


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    """Run the short pipeline in a subprocess killed before `reasoning_rl`, then resume it here."""
    tmp = tmp_path_factory.mktemp("pipe")
    overrides = {"work_dir": str(tmp / "work"), "report_dir": str(tmp / "report")}
    store_path = str(tmp / "store")
    script = SCRIPT.format(stage=KILL_BEFORE, store=store_path, config=str(CONFIG), overrides=overrides)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=tmp, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    store = Store.open(store_path)
    config = load_pipeline_config(CONFIG, overrides)
    before = {n: r["status"] for n, r in stage_runs(store, pipeline_run_id(config)).items()}
    r1zero_rollouts = store.count("rollouts")
    result = run_pipeline(store, config, progress=False)
    return store, config, result, before, r1zero_rollouts, tmp


def test_kill_between_stages_resumes_from_the_first_unfinished(pipeline_run):
    store, config, result, before, _, _ = pipeline_run
    order = list(STAGES)
    done_before = order[: order.index(KILL_BEFORE)]
    assert before == {**dict.fromkeys(done_before, "finished"), KILL_BEFORE: "running"}
    assert result.skipped == tuple(done_before)
    assert result.ran == tuple(order[order.index(KILL_BEFORE) :]) and result.complete
    stages = stage_runs(store, result.run_id)
    assert list(stages) == order and all(s["status"] == "finished" for s in stages.values())
    assert store.sql("SELECT status FROM runs WHERE run_id = ?", [result.run_id])["status"][0] == "finished"


def test_every_model_exists_and_is_evaluated(pipeline_run):
    store, config, result, *_ = pipeline_run
    for stage in MODEL_STAGES:
        model = result.outputs[stage]["model"]
        assert (Path(model) / "config.json").exists(), stage
    board = store.sql(
        "SELECT model, metric, value, n_problems, n_samples FROM leaderboard "
        "WHERE benchmark = 'arithmetic_heldout'"
    )
    models = {result.outputs[s]["model"] for s in MODEL_STAGES}
    assert set(board["model"]) == models
    for metric in ("pass@1", "pass@2", "cons@2"):
        rows = board.filter(pl.col("metric") == metric)
        assert rows.height == len(models), metric
        assert rows["value"].is_between(0, 1).all()
        assert (rows["n_problems"] == config.eval.limit).all()
    assert (
        board.filter(pl.col("metric") == "pass@1")["n_samples"] == config.eval.limit * config.eval.n
    ).all()


def test_stage_outputs_have_lineage(pipeline_run):
    store, config, result, _, r1zero_rollouts, _ = pipeline_run
    grpo = result.outputs["r1zero"]["grpo_run_id"]
    trl = config.r1zero["trl"]
    n = store.sql("SELECT count(*) AS n FROM rollouts WHERE run_id = ? AND stage = 'grpo'", [grpo])["n"][0]
    assert n == trl["max_steps"] * trl["per_device_train_batch_size"]  # the resume duplicated nothing
    # The cold-start set is in R1's readable layout, built from R1-Zero's rollouts.
    cold = result.outputs["cold_start"]["set"]
    name, version = cold.split("@v")
    samples = store.sql(
        "SELECT s.messages, r.run_id FROM sft_samples s JOIN rollouts r USING (rollout_id) "
        "WHERE set_name = ? AND set_version = ?",
        [name, int(version)],
    )
    assert samples.height > 0 and set(samples["run_id"]) == {grpo}
    assert all("|special_token|" in json.loads(m)[-1]["content"] for m in samples["messages"])
    # The second SFT set holds reasoning samples from the rejection-sampling run and general chats.
    name, version = result.outputs["rejection"]["set"].split("@v")
    mix = store.sql(
        "SELECT s.domain, r.stage, r.model FROM sft_samples s JOIN rollouts r USING (rollout_id) "
        "WHERE set_name = ? AND set_version = ?",
        [name, int(version)],
    )
    assert set(mix["domain"]) == {"math", "general"}
    assert set(mix.filter(pl.col("domain") == "math")["model"]) == {result.outputs["reasoning_rl"]["model"]}
    # SFT runs name their set; distillation RL had the same number of steps as distillation SFT.
    sets = store.sql("SELECT json_extract_string(config, '$.set') AS s FROM runs WHERE kind = 'sft'")["s"]
    assert cold in set(sets) and result.outputs["rejection"]["set"] in set(sets)
    assert result.outputs["distill_rl"]["steps"] == result.outputs["distill_sft"]["steps"]
    # Held-out problems never appear among the train prompts.
    overlap = store.sql(
        "SELECT count(*) AS n FROM prompts a JOIN prompts b USING (problem) "
        "WHERE a.dataset = 'arithmetic_train' AND b.dataset = 'arithmetic_heldout'"
    )["n"][0]
    assert overlap == 0
    # Everything the pipeline started is filed under it.
    orphans = store.sql(
        "SELECT count(*) AS n FROM runs WHERE parent_run_id IS NULL AND kind <> 'pipeline' "
        "AND kind NOT IN ('grpo', 'sft') AND started_at >= (SELECT started_at FROM runs "
        "WHERE run_id = ?)",
        [result.run_id],
    )["n"][0]
    assert orphans == 0


def test_report_and_cli_over_the_run(pipeline_run):
    store, config, result, _, _, tmp = pipeline_run
    assert Path(result.report).exists()
    leaderboard_csv = pl.read_csv(tmp / "report" / "leaderboard.csv")
    sql = (tmp / "report" / "leaderboard.sql").read_text().rstrip().rstrip(";")
    assert store.sql(sql)["value"].to_list() == pytest.approx(leaderboard_csv["value"].to_list())
    # the stage table lists every stage the report can see finished: all but the report stage writing it
    stages_csv = pl.read_csv(tmp / "report" / "stages.csv")
    assert stages_csv["stage"].to_list() == [s for s in STAGES if s != "report"]
    assert set(stages_csv["status"]) == {"finished"}
    env_run = [sys.executable, "-m", "r1harness"]
    out = subprocess.run(
        [
            *env_run,
            "pipeline",
            "status",
            str(CONFIG),
            "--store",
            str(store.root),
            "--format",
            "json",
            "--set",
            f"work_dir={tmp / 'work'}",
            "--set",
            f"report_dir={tmp / 'report'}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr
    assert [r["stage"] for r in json.loads(out.stdout)] == list(STAGES)
    rep = subprocess.run(
        [*env_run, "report", "--store", str(store.root), "--run", result.run_id, "--out", str(tmp / "again")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert rep.returncode == 0, rep.stderr
    assert (tmp / "again" / "report.html").exists()
    assert pl.read_csv(tmp / "again" / "leaderboard.csv")["value"].to_list() == pytest.approx(
        leaderboard_csv["value"].to_list()
    )


def test_printed_leaderboard_shows_the_reports_digits(pipeline_run, capsys):
    from r1harness.commands.pipeline import print_outcome
    from r1harness.report.build import metric_cell

    store, _, result, _, _, tmp = pipeline_run
    print_outcome(store, result)
    out = capsys.readouterr().out
    rows = pl.read_csv(tmp / "report" / "leaderboard.csv").to_dicts()
    assert {r["metric"] for r in rows} == {"pass@1", "cons@2", "cons_gain@2"}
    report_md = (tmp / "report" / "report.md").read_text()
    for row in rows:
        cell = metric_cell(row)
        assert cell in out and cell in report_md, (row["model"], row["metric"], cell)
