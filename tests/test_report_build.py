"""Reports from a synthetic store: every number shown equals the SQL it claims to come from."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from r1harness.report import build_report
from r1harness.report.build import fmt, metric_cell
from r1harness.store.ids import content_id, reward_id
from r1harness.store.runs import finish_run, start_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _stage(store, parent: str, stage: str, model: str | None = None) -> str:
    rid = start_run(store, f"pipeline.{stage}", name=stage, parent_run_id=parent)
    finish_run(store, rid, summary={"model": model} if model else {})
    return rid


def _grpo_rollouts(store, run_id: str, steps: int, acc, fmt_share, reflect_from: int) -> None:
    """Rollouts + math/format rewards for `steps` steps; accuracy acc(step), 4 rollouts per step."""
    rollouts, rewards, metrics = [], [], []
    for step in range(1, steps + 1):
        n_correct = round(4 * acc(step))
        for i in range(4):
            rid = content_id("r", run_id, step, i)
            text = ("wait, let me verify. " if step >= reflect_from and i == 0 else "") + "<think>x</think>"
            rollouts.append(
                {
                    "rollout_id": rid,
                    "prompt_id": f"p{i}",
                    "run_id": run_id,
                    "model": "m",
                    "stage": "grpo",
                    "step": step,
                    "completion": text,
                    "completion_tokens": 10 + step,
                    "reward": 1.0,
                    "created_at": NOW,
                }
            )
            for verifier, ok in (("math", i < n_correct), ("format", True)):
                rewards.append(
                    {
                        "reward_id": reward_id(rid, verifier, "1"),
                        "rollout_id": rid,
                        "run_id": run_id,
                        "verifier": verifier,
                        "verifier_version": "1",
                        "status": "correct" if ok else "wrong",
                        "score": 1.0 if ok else 0.0,
                        "created_at": NOW,
                    }
                )
        for name, value in (
            ("rewards/accuracy/mean", acc(step)),
            ("rewards/format/mean", fmt_share(step)),
            ("rewards/format/infra_failures", 0.0),
            ("loss", 0.1),
        ):
            metrics.append(
                {
                    "metric_id": content_id("m", run_id, step, name),
                    "run_id": run_id,
                    "step": step,
                    "name": name,
                    "value": value,
                    "created_at": NOW,
                }
            )
    store.append("rollouts", rollouts)
    store.append("rewards", rewards)
    store.append("train_metrics", metrics)


def _eval_result(store, run_id: str, model: str, metric: str, value: float, bench: str = "arith_heldout"):
    store.catalog_insert(
        "eval_results",
        [
            {
                "result_id": content_id("res", run_id, model, metric),
                "run_id": run_id,
                "model": model,
                "benchmark": bench,
                "benchmark_version": "v1",
                "protocol": "{}",
                "metric": metric,
                "value": value,
                "ci_low": value - 0.05,
                "ci_high": value + 0.05,
                "n_problems": 50,
                "n_samples": 200,
            }
        ],
    )


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A pipeline run: R1-Zero curves, evals of several models, a curated set; plus an unrelated run."""
    from r1harness.store import Store

    store = Store.open(tmp_path_factory.mktemp("report") / "store")
    pipe = start_run(store, "pipeline", name="tiny")
    stages = {}
    for stage in ("r1zero", "final_rl", "student", "distill_sft", "distill_rl"):
        stages[stage] = _stage(store, pipe, stage, model=f"/models/{stage}")
    grpo = start_run(store, "grpo", name="tiny/r1zero", parent_run_id=stages["r1zero"])
    _grpo_rollouts(store, grpo, 8, acc=lambda s: min(1.0, s / 8), fmt_share=lambda s: s / 8, reflect_from=5)
    eval_stage = _stage(store, pipe, "eval")
    values = {"r1zero": 0.30, "final_rl": 0.60, "student": 0.05, "distill_sft": 0.40, "distill_rl": 0.10}
    for stage, v in values.items():
        ev = start_run(store, "eval", name=f"eval:{stage}", parent_run_id=eval_stage)
        _eval_result(store, ev, f"/models/{stage}", "pass@1", v)
        _eval_result(store, ev, f"/models/{stage}", "pass@4", min(1.0, v * 2))
        _eval_result(store, ev, f"/models/{stage}", "cons@4", v + 0.02)
        _eval_result(store, ev, f"/models/{stage}", "cons_gain@4", 0.02)
    cur_stage = _stage(store, pipe, "rejection")
    cur = start_run(store, "curate", name="tiny", parent_run_id=cur_stage)
    funnel = {
        "stages": [
            {"stage": "source", "domain": "math", "rows_in": 40, "rows_out": 40, "dropped": 0},
            {"stage": "filter.correct", "domain": "math", "rows_in": 40, "rows_out": 18, "dropped": 22},
            {"stage": "quota", "domain": "math", "rows_in": 18, "rows_out": 10, "dropped": 8},
        ]
    }
    with store.catalog() as con:
        con.execute(
            "INSERT INTO sets (name, version, status, recipe, funnel, n_samples, run_id) "
            "VALUES ('tiny', 1, 'ready', '{}', ?, 10, ?)",
            [json.dumps(funnel), cur],
        )
    # An unrelated run the scoped report must leave out.
    other = start_run(store, "grpo", name="other")
    _grpo_rollouts(store, other, 3, acc=lambda s: 0.0, fmt_share=lambda s: 0.0, reflect_from=99)
    _eval_result(store, other, "/models/elsewhere", "pass@1", 0.99)
    return store, pipe


@pytest.fixture(scope="module")
def built(filled, tmp_path_factory):
    store, pipe = filled
    out = tmp_path_factory.mktemp("rep")
    return store, pipe, build_report(store, out, run_id=pipe), out


def test_report_files_are_self_contained(built):
    store, pipe, report, out = built
    page = report.html.read_text()
    assert page.count("data:image/png;base64,") == 5  # curves, components, reflection, pass@k, funnel
    assert "src='http" not in page and 'src="http' not in page
    for name in ("training_curves", "reward_components", "reflection_words", "pass_at_k", "curation_funnel"):
        assert (out / f"{name}.png").read_bytes().startswith(PNG_MAGIC)
    md = report.markdown.read_text()
    assert "![Accuracy and response length per step](training_curves.png)" in md
    assert md.count("```sql") == len(report.sections)


def test_every_section_equals_its_sql(built):
    store, pipe, report, out = built
    for section in report.sections:
        sql = (out / f"{section.spec.name}.sql").read_text()
        rerun = store.sql(sql.rstrip().rstrip(";"))
        csv = pl.read_csv(out / f"{section.spec.name}.csv", try_parse_dates=True)
        assert rerun.height == csv.height == section.frame.height, section.spec.name
        assert rerun.columns == csv.columns
        numeric = [c for c, t in rerun.schema.items() if t.is_numeric()]
        for col in numeric:
            assert rerun[col].to_list() == pytest.approx(csv[col].to_list(), nan_ok=True), (
                section.spec.name,
                col,
            )


def test_numbers_in_markdown_match_the_store(built):
    store, pipe, report, out = built
    md = report.markdown.read_text()
    board = store.sql("SELECT * FROM leaderboard WHERE model = '/models/final_rl'").to_dicts()
    assert len(board) == 4
    for row in board:
        if row["metric"] in ("pass@1", "cons@4", "cons_gain@4"):
            assert metric_cell(row) in md  # e.g. 0.600 [0.550, 0.650]
    acc = store.sql(
        "SELECT accuracy FROM rollout_stats_by_step r JOIN runs USING (run_id) "
        "WHERE runs.name = 'tiny/r1zero' ORDER BY step"
    )["accuracy"].to_list()
    curves = next(s for s in report.sections if s.spec.name == "training_curves").frame
    assert curves["accuracy"].to_list() == pytest.approx(acc)
    funnel = next(s for s in report.sections if s.spec.name == "curation_funnel").frame
    assert funnel["rows_out"].to_list() == [40, 18, 10]
    assert f"| tiny@v1 | {fmt(2)} | filter.correct | 40 | 18 |" in md


def test_run_scope_excludes_other_runs(built, tmp_path):
    store, pipe, scoped, out = built
    everything = build_report(store, tmp_path / "b")

    def runs(rep):
        return set(next(s for s in rep.sections if s.spec.name == "training_curves").frame["run"])

    assert runs(scoped) == {"tiny/r1zero"}
    assert runs(everything) == {"tiny/r1zero", "other"}
    assert "/models/elsewhere" not in scoped.markdown.read_text()
    assert "/models/elsewhere" in everything.markdown.read_text()


def test_findings_state_measured_trends(built):
    notes = built[2].findings
    text = "\n".join(notes)
    assert "R1-Zero held-out" not in text  # no eval-stage rollouts in this store: no claim is made
    assert any(n.startswith("R1-Zero training accuracy rises") and n.endswith(": yes") for n in notes)
    assert any(n.startswith("R1-Zero format reward rises") and n.endswith(": yes") for n in notes)
    assert "cons@k >= pass@1 (paper: yes) for 5 of 5" in text
    assert "pass@1 final_rl 0.600 vs r1zero 0.300 (the 95% CIs do not overlap): yes" in text
    assert "pass@1 distill_sft 0.400 vs distill_rl 0.100 (the 95% CIs do not overlap): yes" in text


def test_findings_call_overlapping_intervals_noise():
    import polars as pl

    from r1harness.report.findings import findings

    board = pl.DataFrame(
        {
            "model": ["r1zero", "final_rl", "student", "distill_sft"],
            "benchmark": ["b"] * 4,
            "metric": ["pass@1"] * 4,
            "value": [0.30, 0.34, 0.0, 0.02],
            "ci_low": [0.25, 0.28, None, 0.0],
            "ci_high": [0.36, 0.40, None, 0.05],
            "protocol_id": ["p"] * 4,
        }
    )
    empty = pl.DataFrame({"run": [], "stage": [], "step": [], "accuracy": []})
    notes = "\n".join(findings({"leaderboard": board, "training_curves": empty, "reward_components": empty}))
    assert "pass@1 final_rl 0.340 vs r1zero 0.300 (within noise: the 95% CIs overlap): yes" in notes
    board = pl.concat(
        [
            board,
            pl.DataFrame(
                {
                    "model": ["r1zero"],
                    "benchmark": ["b"],
                    "metric": ["cons@4"],
                    "value": [0.28],
                    "ci_low": [0.20],
                    "ci_high": [0.36],
                    "protocol_id": ["p"],
                }
            ),
        ]
    )
    cons = "\n".join(findings({"leaderboard": board, "training_curves": empty, "reward_components": empty}))
    assert "not for r1zero on b (cons@4 0.280 < pass@1 0.300, within its 95% CI [0.200, 0.360]): NO" in cons
    # a model without a CI (a score of 0 everywhere) counts as the point itself
    assert "pass@1 distill_sft 0.020 vs student 0.000 (within noise: the 95% CIs overlap): yes" in notes


def test_findings_give_the_paired_voting_gain():
    import polars as pl

    from r1harness.report.findings import findings

    rows = [  # model, metric, value, ci_low, ci_high
        ("r1zero", "pass@1", 0.30, 0.25, 0.36),
        ("r1zero", "cons@4", 0.31, 0.24, 0.38),
        ("r1zero", "cons_gain@4", 0.01, -0.02, 0.04),
        ("final_rl", "pass@1", 0.60, 0.55, 0.65),
        ("final_rl", "cons@4", 0.66, 0.60, 0.72),
        ("final_rl", "cons_gain@4", 0.06, 0.03, 0.09),
        ("student", "pass@1", 0.20, 0.15, 0.25),
        ("student", "cons@4", 0.15, 0.10, 0.20),
        ("student", "cons_gain@4", -0.05, -0.08, -0.02),
    ]
    board = pl.DataFrame(rows, schema=["model", "metric", "value", "ci_low", "ci_high"], orient="row")
    board = board.with_columns(benchmark=pl.lit("b"), protocol_id=pl.lit("p"))
    empty = pl.DataFrame({"run": [], "stage": [], "step": [], "accuracy": []})
    notes = findings({"leaderboard": board, "training_curves": empty, "reward_components": empty})
    gain = next(n for n in notes if n.startswith("What voting adds"))
    assert "above 0 for 1 of 3" in gain
    assert "within noise for r1zero on b +0.010 [-0.020, +0.040]" in gain
    assert "below 0 for student on b -0.050 [-0.080, -0.020]" in gain
    assert "final_rl" not in gain  # above 0 is counted, not listed


def test_empty_store_reports_no_data(store, tmp_path):
    report = build_report(store, tmp_path / "rep")
    md = report.markdown.read_text()
    assert md.count("_No data in the store for this section._") == len(report.sections)
    assert not list((tmp_path / "rep").glob("*.png"))
