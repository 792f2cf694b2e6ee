"""How idle OpenMP threads wait: sleep (PASSIVE) rather than spin, unless the user chose a policy.

Measured 2026-11-26 on the 2-core dev box (150 steps of tiny-model pretraining, 2 torch threads,
reports/LOG.md): alone, 17.1-18.2 s spinning (the default) vs 20.8-22.1 s passive (~20 % slower); two such
jobs at once, 163 s each spinning vs 29-30 s passive (5.5x faster) — spinning threads take the cores the
working ones need (GOMP_SPINCOUNT=10000: 17.6 s alone, 75 s contended). r1harness's CPU work (demo, tests,
training next to evaluation) is often two torch processes on few cores, so the CLI and the pipeline choose
passive.
"""

from __future__ import annotations

import os
import sys


def passive_thread_waits() -> bool:
    """Set OMP_WAIT_POLICY=PASSIVE unless already set. Effective only before torch is first imported (the
    OpenMP runtime reads it once); returns whether it could still apply."""
    if "torch" in sys.modules:
        return False
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return True
