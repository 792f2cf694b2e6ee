"""Synthetic reasoning tasks with seeds and gold answers, and a plain-text "pretraining" corpus.

Each generator has the signature `generate(n: int, seed: int, **params) -> list[dict]` and returns rows
with keys `problem`, `answer` and `metadata` (a dict), so a manifest's `source.generator` can ingest them.
Registry: `TASKS` maps a task name to its generator as a lazy "module:attr".
"""

from r1harness.errors import ConfigError
from r1harness.resolve import resolve

TASKS: dict[str, str] = {
    "arithmetic": "r1harness.tasks.arithmetic:generate",
    "countdown": "r1harness.tasks.countdown:generate",
}


def get_task(name: str):
    """The generator function of a registered task."""
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; tasks are {sorted(TASKS)}")
    return resolve(TASKS[name], what=f"task {name!r}")
