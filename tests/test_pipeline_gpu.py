"""The short pipeline on a CUDA device: the same config as the CPU end-to-end test
(test_pipeline_e2e.py), with no setting changed, trains, samples and evaluates every model on the
GPU. Skipped without one (marker `gpu`);
run with `pytest -m gpu tests/test_pipeline_gpu.py`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r1harness.pipeline import load_pipeline_config, run_pipeline
from r1harness.pipeline.evaluation import MODEL_STAGES
from r1harness.pipeline.stages import STAGES
from r1harness.store import Store

CONFIG = Path(__file__).resolve().parent / "fixtures" / "pipeline_short.yaml"


@pytest.mark.gpu
def test_short_pipeline_runs_every_stage_on_cuda(tmp_path):
    import torch

    assert torch.cuda.is_available()
    torch.cuda.reset_peak_memory_stats()
    config = load_pipeline_config(
        CONFIG, {"work_dir": str(tmp_path / "work"), "report_dir": str(tmp_path / "report")}
    )
    store = Store.open(tmp_path / "store")
    result = run_pipeline(store, config, progress=False)

    assert result.complete and result.ran == tuple(STAGES)
    # the work happened on the GPU: CUDA memory was allocated in this process
    # (trainers and generation run here)
    assert torch.cuda.max_memory_allocated() > 0
    for stage in MODEL_STAGES:
        assert (Path(result.outputs[stage]["model"]) / "config.json").exists(), stage
    board = store.sql(
        "SELECT model, metric, n_samples FROM leaderboard "
        "WHERE benchmark = 'arithmetic_heldout' AND metric = 'pass@1'"
    )
    assert set(board["model"]) == {result.outputs[s]["model"] for s in MODEL_STAGES}
    assert (board["n_samples"] > 0).all()
    grpo = store.sql("SELECT config FROM runs WHERE kind = 'grpo'")["config"].to_list()
    assert grpo, "the pipeline's GRPO stages recorded their runs"
    # TRL was not given the CPU-only defaults the harness applies without a GPU
    assert all(json.loads(c)["resolved_trl"].get("use_cpu") is not True for c in grpo)
