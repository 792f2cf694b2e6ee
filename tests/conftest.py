"""Shared fixtures. Tests are offline and CPU-only by default; markers: slow, gpu, sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from r1harness.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
# The benchmark data folder: $R1H_DATA_DIR (the CLI's variable; $R1H_SHARED_DATA still works, with a warning).
SHARED_DATA = data_dir()


@pytest.fixture
def store(tmp_path):
    from r1harness.store import Store

    return Store.open(tmp_path / "store")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.fail(
            f"benchmark data not found at {SHARED_DATA}; set R1H_DATA_DIR to the benchmark data folder"
        )
    return SHARED_DATA


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:
        has_cuda = False
    if has_cuda:
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
