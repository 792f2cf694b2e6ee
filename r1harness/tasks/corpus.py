"""A plain-text "pretraining" corpus: worked solutions of the synthetic tasks, as a base model's web text.

Most documents answer in plain prose ("... The answer is 85."). A small share (`format_share`) uses the
R1-Zero layout `<think> ... </think> <answer> ... </answer>`, as web text shows it rarely: a base model
pretrained on it seldom uses the format unprompted, yet sampling can discover it, which GRPO then rewards.

Two layouts of the same worked solution (`layout=`):
- "spaced": `<think> STEPS </think> <answer> N </answer>` vs `STEPS The answer is N.`
- "aligned": `<think>STEPS</think><answer> the answer is N.</answer>` vs ` STEPS Therefore, the answer is N.`
  The tags take the places of tokens the prose has at the same positions (`<think>` the space before the
  first step; `</think><answer>` the words "Therefore," — one token each in the tiny tokenizer), so every
  step and the answer sit at the same relative positions in both modes. Why: a 1M-parameter model does not
  carry a skill across a shift of a few positions. Measured 2026-11-26 (reports/r1zero_tiny/README.md):
  with "spaced", a base competent in prose (0.89 greedy) scored 0.02 when made to start with `<think>`, and
  0.14 after 400 more steps at a 10% share; with "aligned" (5% share, 1,200 steps) both modes scored 0.94,
  so formatted samples found by sampling are as often right as prose ones.

`traces` (None: every solution step by step) writes a share of two-term sums step by step, a share as
self-checking traces, and the rest answered at once (r1harness/tasks/traces.py): the base of the R1-Zero
self-evolution miniature, which has rarely seen the long and reflective behaviours RL should grow.
"""

from __future__ import annotations

import random

from r1harness.errors import ConfigError
from r1harness.tasks import arithmetic, countdown
from r1harness.tasks import traces as trace_styles
from r1harness.templates import render_text

LAYOUTS = ("spaced", "aligned")


def pretraining_corpus(
    n: int = 4000,
    seed: int = 0,
    *,
    format_share: float = 0.05,
    template: str = "r1-zero@1",
    tasks: dict[str, dict] | None = None,
    exclude_problems: set[str] | frozenset = frozenset(),
    layout: str = "spaced",
    passes: int = 1,
    traces: dict | None = None,
) -> list[str]:
    """`passes` x `n` documents mixing the tasks in `tasks` (name -> generator params), shuffled
    deterministically within each pass.

    Each pass draws its own problems and format flags (another seed), so a task with few distinct problems
    (1-2-digit addition has ~10k) shows each problem in both layouts over a long pretraining.
    `exclude_problems` keeps held-out evaluation problems out of the corpus."""
    if passes < 1:
        raise ConfigError(f"passes must be >= 1, got {passes}")
    if not 0.0 <= format_share <= 1.0:
        raise ConfigError(f"format_share must be in [0, 1], got {format_share}")
    if layout not in LAYOUTS:
        raise ConfigError(f"corpus layout must be one of {LAYOUTS}, got {layout!r}")
    trace_styles.check_shares(traces)
    docs = []
    for p in range(passes):
        docs += _one_pass(
            n,
            seed + 104729 * p,
            format_share=format_share,
            template=template,
            tasks=tasks,
            exclude_problems=exclude_problems,
            layout=layout,
            traces=traces,
        )
    return docs


def _one_pass(n, seed, *, format_share, template, tasks, exclude_problems, layout, traces) -> list[str]:
    tasks = tasks or {"arithmetic": {"digits": 2}}
    rng = random.Random(seed)
    # Its own generator, so a corpus without `traces` is the same, document for document, as before.
    style_rng = random.Random(seed + 15485863) if traces is not None else None
    shares = trace_styles.check_shares(traces)
    per_task = -(-n // len(tasks))
    docs = []
    for i, (name, params) in enumerate(sorted(tasks.items())):
        gen = {"arithmetic": arithmetic.generate, "countdown": countdown.generate}.get(name)
        if gen is None:
            raise ConfigError(f"corpus task {name!r} unknown; use arithmetic or countdown")
        rows = gen(per_task + len(exclude_problems), seed + 7919 * (i + 1), **params)
        rows = [r for r in rows if r["problem"] not in exclude_problems][:per_task]
        for r in rows:
            formatted = rng.random() < format_share
            solution = None
            if style_rng is not None:
                solution = trace_styles.trace(r, trace_styles.draw_style(style_rng, shares), style_rng)
            docs.append(document(r, formatted=formatted, template=template, layout=layout, solution=solution))
    rng.shuffle(docs)
    return docs[:n]


def document(
    row: dict,
    *,
    formatted: bool,
    template: str = "r1-zero@1",
    layout: str = "spaced",
    solution: str | None = None,
) -> str:
    """One training document: the rendered prompt followed by a worked answer (plain or R1 format);
    `solution` replaces the row's own worked solution (a trace style of r1harness/tasks/traces.py)."""
    steps = row["metadata"].get("solution", "") if solution is None else solution
    if "target" in row["metadata"]:  # countdown: the answer is the equation itself
        answer = steps
        steps = f"{steps} = {row['answer']}."
    else:
        answer = row["answer"]
    if layout == "aligned":
        body = (
            f"<think>{steps}</think><answer> the answer is {answer}.</answer>"
            if formatted
            else f" {steps} Therefore, the answer is {answer}."
        )
    elif formatted:
        body = f" <think> {steps} </think> <answer> {answer} </answer>"
    else:
        body = f" {steps} The answer is {answer}."
    return render_text(template, row["problem"]) + body
