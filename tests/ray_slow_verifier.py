"""A math verifier that takes its time and says which process ran it: lets the Ray fault tests kill a
worker (or a node, or the driver) while chunks are in flight. Importable by Ray workers via PYTHONPATH.

Its verdicts carry their own identity (`slow_math`, version `slow-1`), so a retried chunk recognises the
rows an earlier attempt wrote, exactly as a registered verifier's would be."""

import dataclasses
import os
import time
from pathlib import Path

from r1harness.verify.math import verify_math_batch

NAME, VERSION = "slow_math", "slow-1"


def slow_math(completions, references, pids=None, delay_s=0.05, **options):
    if pids:  # the fault tests watch this folder to know which worker processes are busy
        Path(pids, str(os.getpid())).touch()
    time.sleep(delay_s * len(completions))
    verdicts = verify_math_batch(completions, references, workers=0)
    return [dataclasses.replace(v, verifier=NAME, version=VERSION) for v in verdicts]


slow_math.version = VERSION
slow_math.stored_name = lambda options: NAME
