"""Side by side with lm-evaluation-harness on a tiny local model (slow: runs lm_eval in a subprocess).
The full 100-problem comparison with a format-fitted model is benchmarks/lmeval_side_by_side.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "lmeval_side_by_side.py"


@pytest.mark.slow
def test_same_greedy_completions_and_verdicts_as_lm_eval(tmp_path, shared_data, monkeypatch):
    spec = importlib.util.spec_from_file_location("side_by_side", BENCH)
    side = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(side)
    from r1harness.evals.lmeval import import_lmeval
    from r1harness.store import Store
    from r1harness.train.tiny_model import init_tiny_model

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    model = init_tiny_model(tmp_path / "tiny")
    out = side.run_lmeval(model, tmp_path, 10, 16, shared_data / "gsm8k" / "gsm8k_test.jsonl")
    store = Store.open(tmp_path / "store")
    side.run_r1harness(store, model, 10, 16)
    import_lmeval(store, out, dataset="gsm8k", model=str(model))
    report = side.compare(store, str(model))
    assert report["problems"] == 10
    assert report["identical_completions"] == 10  # same prompt, greedy, stop strings, token budget
    # a random model writes no number both harnesses would take as a right answer
    assert report["r1harness_accuracy"] == report["lmeval_exact_match_strict"] == 0.0
    assert report["verdict_agreement_vs_strict"] == 10
