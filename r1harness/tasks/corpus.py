"""A plain-text "pretraining" corpus: worked solutions of the synthetic tasks, as a base model's web text.

Most documents answer in plain prose ("... The answer is 85."). A small share (`format_share`) uses the
R1-Zero layout `<think> ... </think> <answer> ... </answer>`, as web text shows it rarely: a base model
pretrained on it seldom uses the format unprompted, yet sampling can discover it, which GRPO then rewards.
"""

from __future__ import annotations

import random

from r1harness.errors import ConfigError
from r1harness.tasks import arithmetic, countdown
from r1harness.train.templates import render


def pretraining_corpus(n: int = 4000, seed: int = 0, *, format_share: float = 0.05,
                       template: str = "r1zero", tasks: dict[str, dict] | None = None,
                       exclude_problems: set[str] | frozenset = frozenset()) -> list[str]:
    """`n` documents mixing the tasks in `tasks` (name -> generator params), shuffled deterministically.

    `exclude_problems` keeps held-out evaluation problems out of the corpus."""
    if not 0.0 <= format_share <= 1.0:
        raise ConfigError(f"format_share must be in [0, 1], got {format_share}")
    tasks = tasks or {"arithmetic": {"digits": 2}}
    rng = random.Random(seed)
    per_task = -(-n // len(tasks))
    docs = []
    for i, (name, params) in enumerate(sorted(tasks.items())):
        gen = {"arithmetic": arithmetic.generate, "countdown": countdown.generate}.get(name)
        if gen is None:
            raise ConfigError(f"corpus task {name!r} unknown; use arithmetic or countdown")
        rows = gen(per_task + len(exclude_problems), seed + 7919 * (i + 1), **params)
        rows = [r for r in rows if r["problem"] not in exclude_problems][:per_task]
        docs += [document(r, formatted=rng.random() < format_share, template=template) for r in rows]
    rng.shuffle(docs)
    return docs[:n]


def document(row: dict, *, formatted: bool, template: str = "r1zero") -> str:
    """One training document: the rendered prompt followed by a worked answer (plain or R1 format)."""
    steps = row["metadata"].get("solution", "")
    if "target" in row["metadata"]:  # countdown: the answer is the equation itself
        answer = steps
        steps = f"{steps} = {row['answer']}."
    else:
        answer = row["answer"]
    if formatted:
        body = f" <think> {steps} </think> <answer> {answer} </answer>"
    else:
        body = f" {steps} The answer is {answer}."
    return render(template, row["problem"]) + body
