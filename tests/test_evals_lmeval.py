"""lm-eval bridge: `r1h import lm-eval DIR` puts lm-eval runs into the store and the leaderboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r1harness.errors import IngestError
from r1harness.evals.lmeval import import_lmeval

FIXTURE = Path(__file__).parent / "fixtures" / "lmeval" / "run1"


def test_import_lmeval_samples(store):
    summary = import_lmeval(store, FIXTURE, dataset="gsm8k_fixture", model="tiny")
    assert summary.tasks == ("gsm8k_r1h_local",)
    assert (summary.prompts, summary.rollouts, summary.rewards, summary.results) == (3, 3, 6, 2)
    roll = store.sql("SELECT * FROM rollouts ORDER BY completion").to_dicts()
    assert {r["stage"] for r in roll} == {"import"} and {r["backend"] for r in roll} == {"lm-eval"}
    assert roll[0]["prompt_text"].startswith("Question: ") and roll[0]["prompt_text"].endswith("\nAnswer:")
    rewards = store.sql(
        "SELECT verifier, extracted, score FROM rewards ORDER BY verifier, extracted"
    ).to_dicts()
    flexible = [r for r in rewards if r["verifier"] == "lm-eval:exact_match:flexible-extract"]
    assert sorted(r["extracted"] for r in flexible) == ["18", "4", "[invalid]"]
    results = {r["metric"]: r for r in store.sql("SELECT * FROM eval_results").to_dicts()}
    assert results["exact_match,strict-match"]["value"] == pytest.approx(1 / 3)
    assert results["exact_match,strict-match"]["benchmark_version"] == "lm-eval:1.0"
    assert (
        json.loads(results["exact_match,strict-match"]["protocol"])["generation_kwargs"]["do_sample"] is False
    )
    # prompts link: same dataset + problem -> the same content-hash id as r1harness would give it
    from r1harness.store import ids

    pid = ids.prompt_id("gsm8k_fixture", store.sql("SELECT problem FROM prompts LIMIT 1")["problem"][0])
    assert store.sql(f"SELECT count(*) AS n FROM rollouts WHERE prompt_id = '{pid}'")["n"][0] == 1


def test_import_is_idempotent_and_shows_in_leaderboard(store):
    from r1harness.evals.leaderboard import build

    import_lmeval(store, FIXTURE, model="tiny")
    again = import_lmeval(store, FIXTURE, model="tiny")
    assert (again.prompts, again.rollouts, again.rewards) == (0, 0, 0)
    assert store.count("eval_results") == 2  # replaced, not duplicated
    board = build(store, metrics=["exact_match,strict-match"])
    assert board.wide.columns == ["model", "gsm8k_r1h_local@lm-eval:1.0"]
    assert board.wide.row(0)[1].startswith("33.3 [")


def test_import_errors_name_the_problem(store, tmp_path):
    with pytest.raises(IngestError, match="no lm-eval results_"):
        import_lmeval(store, tmp_path)
    run = tmp_path / "m"
    run.mkdir()
    (run / "results_x.json").write_text(json.dumps({"results": {"t": {}}}))
    (run / "samples_t_x.jsonl").write_text('{"doc_id": 0}\n')
    with pytest.raises(IngestError, match=r"samples_t_x.jsonl:1: lm-eval sample lacks \['doc', 'resps'\]"):
        import_lmeval(store, tmp_path)
    assert store.count("rollouts") == 0
