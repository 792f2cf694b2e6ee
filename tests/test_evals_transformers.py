"""An end-to-end eval on a tiny local model with the transformers backend (real generate, real verifier)."""

from __future__ import annotations

import pytest

from r1harness.evals.runner import run_eval
from r1harness.evals.spec import spec_from_dict
from r1harness.generate import get_backend


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from r1harness.train.tiny_model import init_tiny_model

    return str(init_tiny_model(tmp_path_factory.mktemp("tiny") / "model"))


@pytest.mark.usefixtures("shared_data")  # GSM8K from the benchmark data folder
def test_tiny_model_eval_on_gsm8k(store, tiny_model):
    spec = spec_from_dict(
        {
            "name": "gsm8k_tiny",
            "version": 1,
            "dataset": "gsm8k",
            "template": "qa@1",
            "verifier": "math",
            "n": 2,
            "k": [1, 2],
            "cons": [2],
            "sampling": {"temperature": 0.6, "top_p": 0.95, "max_tokens": 8, "stop": ["Question:"]},
        }
    )
    backend = get_backend("transformers", tiny_model, batch_size=4)
    outcome = run_eval(store, backend, spec, limit=3, progress=False)
    rollouts = store.sql("SELECT * FROM rollouts").to_dicts()
    assert len(rollouts) == 6 and {r["backend"] for r in rollouts} == {"transformers"}
    assert all(
        1 <= r["completion_tokens"] <= 8 and r["finish_reason"] in ("stop", "length") for r in rollouts
    )
    assert all(r["prompt_text"].startswith("Question: ") for r in rollouts)
    assert {r["backend_version"] for r in rollouts} == {__import__("transformers").__version__}
    rewards = store.sql("SELECT status FROM rewards")["status"].to_list()
    assert len(rewards) == 6 and set(rewards) <= {"correct", "wrong", "unparseable"}
    assert outcome.value("pass@1") == pytest.approx(rewards.count("correct") / 6)
    again = run_eval(store, backend, spec, limit=3, progress=False)
    assert (again.generated, again.verified) == (0, 0)
    assert again.value("pass@1") == outcome.value("pass@1")
