"""The one leaderboard: the `leaderboard` view keyed on the full protocol, its Python reader, the report and
`r1h leaderboard` reading it, and the one cell formatter."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from r1harness.cli import main
from r1harness.evals.leaderboard import build, format_cell, read, row_cell, split_names
from r1harness.report import build_report
from r1harness.report.build import metric_cell
from r1harness.store.ids import canonical_json, content_id
from r1harness.store.runs import finish_run, start_run

LMEVAL = Path(__file__).parent / "fixtures" / "lmeval" / "run1"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _result(store, run_id, model, metric, value, protocol, *, minutes=0, bench="aime24", low=None, high=None):
    store.catalog_insert(
        "eval_results",
        [
            {
                "result_id": content_id("res", run_id, model, metric),
                "run_id": run_id,
                "model": model,
                "benchmark": bench,
                "benchmark_version": "v1",
                "protocol": canonical_json(protocol),
                "metric": metric,
                "value": value,
                "ci_low": value - 0.05 if low is None else low,
                "ci_high": value + 0.05 if high is None else high,
                "n_problems": 30,
                "n_samples": 30 * protocol.get("n", 1),
                "created_at": T0 + dt.timedelta(minutes=minutes),
            }
        ],
    )


def _pipeline_then_elsewhere(store, later_protocol):
    """A pipeline evaluates /models/final_rl (n=4); later an unrelated run evaluates the same model."""
    pipe = start_run(store, "pipeline", name="tiny")
    stage = start_run(store, "pipeline.final_rl", name="final_rl", parent_run_id=pipe)
    finish_run(store, stage, summary={"model": "/models/final_rl"})
    ev = start_run(store, "eval", name="eval:final_rl", parent_run_id=stage)
    _result(store, ev, "/models/final_rl", "pass@1", 0.40, {"n": 4, "seed": 0})
    other = start_run(store, "eval", name="aime24:/models/final_rl")
    _result(store, other, "/models/final_rl", "pass@1", 0.70, later_protocol, minutes=5)
    return pipe, ev, other


def test_a_later_evaluation_elsewhere_keeps_the_pipelines_row(store, tmp_path):
    pipe, ev, other = _pipeline_then_elsewhere(store, {"n": 64, "seed": 0})
    rows = store.sql("SELECT value, run_id FROM leaderboard ORDER BY value").to_dicts()
    assert rows == [{"value": 0.40, "run_id": ev}, {"value": 0.70, "run_id": other}]  # neither dropped
    report = build_report(store, tmp_path / "rep", run_id=pipe)
    board = next(s for s in report.sections if s.spec.name == "leaderboard").frame
    assert board.select("model", "value").to_dicts() == [{"model": "final_rl", "value": 0.40}]
    assert "0.400 [0.350, 0.450]" in report.markdown.read_text()
    assert "0.700" not in report.markdown.read_text()
    # the whole-store board shows both, in separate columns, with a warning that they are not comparable
    whole = build(store)
    assert len(whole.warnings) == 1 and "2 different protocols" in whole.warnings[0]
    assert whole.wide.width == 3 and whole.long.height == 2


def test_a_later_run_of_the_same_protocol_keeps_the_key_in_the_pipelines_report(store, tmp_path):
    pipe, ev, other = _pipeline_then_elsewhere(store, {"n": 4, "seed": 0})
    rows = store.sql("SELECT run_id, run_ids FROM leaderboard").to_dicts()
    assert len(rows) == 1 and rows[0]["run_id"] == other and sorted(rows[0]["run_ids"]) == sorted([ev, other])
    report = build_report(store, tmp_path / "rep", run_id=pipe)
    board = next(s for s in report.sections if s.spec.name == "leaderboard").frame
    assert board["model"].to_list() == ["final_rl"]  # the pipeline's key, at its latest value
    assert read(store, runs=[ev])["value"].to_list() == [0.70]
    assert read(store, runs=["some-other-run"]).is_empty()


def test_pipeline_summary_reads_the_leaderboard(store):
    from r1harness.pipeline.evaluation import leaderboard_summary

    pipe, ev, other = _pipeline_then_elsewhere(store, {"n": 64, "seed": 0})
    summary = leaderboard_summary(store, [("final_rl", "/models/final_rl")], [ev])
    assert summary == {"final_rl": {"aime24": {"pass@1": 0.40}}}


def test_metric_specific_protocol_keys_do_not_split_a_benchmark(store):
    """A rating's contests are stamped on its own row's protocol (evals/codeforces.py); that is not two
    protocols of one metric, so no warning and no `#id` labels."""
    run = start_run(store, "eval", name="codeforces:m")
    base = {"n": 8, "seed": 0}
    _result(store, run, "m", "pass@1", 0.2, base, bench="codeforces")
    _result(store, run, "m", "codeforces_rating", 812.0, {**base, "contests": [1, 2]}, bench="codeforces")
    board = build(store, metrics=["pass@1", "codeforces_rating"])
    assert board.warnings == ()
    assert board.wide.columns == ["model", "codeforces@v1 codeforces_rating", "codeforces@v1 pass@1"]
    assert board.wide.row(0)[1].startswith("812 [") and board.wide.row(0)[2].startswith("20.0 [")


def test_one_cell_formatter_in_two_units():
    row = {
        "metric": "pass@1",
        "value": 0.4,
        "ci_low": 0.25,
        "ci_high": 0.55,
        "n_problems": 5,
        "n_samples": 40,
    }
    assert row_cell(row) == metric_cell(row) == "0.400 [0.250, 0.550]"
    assert row_cell(row, unit="percent", counts=True) == "40.0 [25.0, 55.0] n=5x8"
    assert format_cell("codeforces_rating", 1234.5, unit="percent") == "1234"  # not a share: not scaled
    assert format_cell("exact_match,strict-match", 1 / 3, unit="percent") == "33.3"
    assert format_cell("pass@1", 0.0, 0.0, 0.0) == "0.000" and format_cell("pass@1", None) == "-"


def test_metric_names_with_commas():
    known = ["pass@1", "cons_gain@8", "exact_match,strict-match", "exact_match,flexible-extract"]
    assert split_names("pass@1,cons_gain@8", known) == ["pass@1", "cons_gain@8"]
    assert split_names(["exact_match,strict-match"], known) == ["exact_match,strict-match"]
    assert split_names(["pass@1,exact_match,flexible-extract", "pass@1"], known) == [
        "pass@1",
        "exact_match,flexible-extract",
    ]
    assert split_names("nope,pass@1", known) == ["nope", "pass@1"]  # unknown names reach the error


def _import(tmp_path, capsys) -> str:
    store = str(tmp_path / "s")
    assert main(["import", "lm-eval", str(LMEVAL), "--store", store, "--model", "tiny"]) == 0
    capsys.readouterr()
    return store


def test_imported_results_show_by_default(tmp_path, capsys):
    store = _import(tmp_path, capsys)
    assert main(["leaderboard", "--store", store, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["metric"] for r in rows} == {"exact_match,strict-match", "exact_match,flexible-extract"}
    assert main(["leaderboard", "--store", store]) == 0
    table = capsys.readouterr().out
    assert "gsm8k_r1h_local@lm-eval:1.0 exact_match,strict-match" in table and "33.3 [" in table


@pytest.mark.parametrize(
    "argv",
    [
        ["--metric", "exact_match,flexible-extract"],
        ["--metric", "exact_match,flexible-extract", "--metric", "pass@1"],
    ],
)
def test_a_metric_with_a_comma_can_be_selected(tmp_path, capsys, argv):
    store = _import(tmp_path, capsys)
    assert main(["leaderboard", "--store", store, "--format", "csv", *argv]) == 0
    rows = pl.read_csv(capsys.readouterr().out.encode())
    assert rows["metric"].to_list() == ["exact_match,flexible-extract"]


def test_empty_selection_says_what_exists(tmp_path, capsys):
    store = _import(tmp_path, capsys)
    assert main(["leaderboard", "--store", store, "--metric", "pass@1"]) == 1
    err = capsys.readouterr().err
    assert "no leaderboard rows match metric pass@1" in err and "models: tiny" in err
    assert "gsm8k_r1h_local@lm-eval:1.0" in err and "exact_match,strict-match" in err
    assert "r1h import" not in err  # it was just run
    from r1harness.store import Store

    Store.open(tmp_path / "empty")
    assert main(["leaderboard", "--store", str(tmp_path / "empty")]) == 0
    assert "no eval results in" in capsys.readouterr().err


def test_leaderboard_formats(tmp_path, capsys):
    store = _import(tmp_path, capsys)
    out = tmp_path / "board.parquet"
    assert main(["leaderboard", "--store", store, "--format", "parquet", "--out", str(out)]) == 0
    assert pl.read_parquet(out).height == 2 and "protocol_id" in pl.read_parquet(out).columns
    assert main(["leaderboard", "--store", store, "--format", "md", "--unit", "fraction"]) == 0
    assert "0.333 [" in capsys.readouterr().out
