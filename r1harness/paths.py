"""Where things are on disk: the repository root and the benchmark data folder.

The benchmark data folder holds the benchmark files that dataset manifests name as `{data}/...`. It is the
folder `$R1H_DATA_DIR` points at; without it, `data` in a `shared` folder beside the repository.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR_ENV = "R1H_DATA_DIR"
# The tests read this name until the CLI and the tests agreed on one; still accepted, with a warning.
DEPRECATED_DATA_DIR_ENV = "R1H_SHARED_DATA"


def data_dir() -> Path:
    """The benchmark data folder: $R1H_DATA_DIR, else the deprecated $R1H_SHARED_DATA, else the default."""
    value = os.environ.get(DATA_DIR_ENV)
    if not value and os.environ.get(DEPRECATED_DATA_DIR_ENV):
        warnings.warn(
            f"${DEPRECATED_DATA_DIR_ENV} is deprecated; set ${DATA_DIR_ENV} to the benchmark data folder",
            FutureWarning,
            stacklevel=2,
        )
        value = os.environ[DEPRECATED_DATA_DIR_ENV]
    return Path(value) if value else REPO_ROOT.parent / "shared" / "data"
