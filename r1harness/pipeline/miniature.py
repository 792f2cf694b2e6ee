"""R1-Zero in miniature (`r1h train r1zero-tiny`): a pipeline config that runs the first stages (prompts,
base, r1zero, eval; datasets/pipelines/r1zero_tiny.yaml) once per seed into one store.

Each seed is its own pipeline run (the seed is part of the config, so of the run id): a rerun resumes it.
The prompts and their held-out split are the same for every seed (the task's own seed); the seed changes
the base's corpus and initialisation and GRPO's sampling. Each tiny base is also probed on the held-out
problems, unprompted and forced to open `<think>` (r1harness/train/base_probe.py; saved beside it as
base_probe.json): near 0 forced, GRPO has no accuracy signal to find. The held-out curves during GRPO are
SQL over the store (`curve_sql`; reports/r1zero_tiny/curves.py plots them).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from r1harness.pipeline.config import PipelineConfig


def run_seeds(store, config: PipelineConfig, seeds: list[int], *, progress: bool = True) -> dict[int, dict]:
    """The config's stages once per seed, one after the other; a summary per seed."""
    from r1harness.pipeline.runner import run_pipeline

    results = {}
    for seed in seeds:
        seeded = dataclasses.replace(config, seed=seed)
        result = run_pipeline(store, seeded, progress=progress)
        out = result.outputs
        results[seed] = {
            "run_id": result.run_id,
            "complete": result.complete,
            "models": {s: out[s]["model"] for s in ("base", "r1zero") if out.get(s, {}).get("model")},
            "grpo_run_id": out.get("r1zero", {}).get("grpo_run_id"),
            "steps": out.get("r1zero", {}).get("steps"),
            "pretrain_s": out.get("base", {}).get("seconds"),
            "grpo_s": out.get("r1zero", {}).get("seconds"),
            "eval": out.get("eval", {}).get("results"),
            "base_probe": base_probe(seeded, out["base"]["model"])
            if out.get("base", {}).get("tiny")
            else None,
        }
    return results


def base_probe(config: PipelineConfig, base: str) -> dict:
    """The tiny base's held-out accuracy unprompted and forced into the format, saved beside the base."""
    from r1harness.pipeline.prompts import task_rows
    from r1harness.train.base_probe import probe_base

    path = Path(base).parent / "base_probe.json"
    if path.exists():
        return json.loads(path.read_text())
    heldout = [r for spec in config.prompts.tasks for r in task_rows(spec)[1]]
    # The opener as the corpus writes it: the "spaced" layout puts a space before <think>.
    opener = "<think>" if (config.base.pretrain or {}).get("layout") == "aligned" else " <think>"
    max_tokens = config.r1zero.get("trl", {}).get("max_completion_length", 64)
    probe = probe_base(base, heldout, config.template, opener=opener, max_new_tokens=max_tokens)
    path.write_text(json.dumps(probe, indent=1) + "\n")
    return probe


def curve_sql(run_ids: list[str] | None = None) -> str:
    """Held-out accuracy (strict = math verifier on <answer>; final_number = format-blind), format and
    response length per GRPO step and decoding, straight from rollouts + rewards (the evaluations during
    training: they have a step; the eval stage's rollouts have none)."""
    where = "" if not run_ids else "AND r.run_id IN (" + ", ".join(f"'{x}'" for x in run_ids) + ")"
    return f"""
        SELECT r.run_id, r.step,
               CASE WHEN json_extract(r.sampling, '$.greedy') = 'true' THEN 'greedy' ELSE 'sampled' END
                 AS decoding,
               count(DISTINCT r.rollout_id) AS n,
               avg(CASE WHEN w.verifier = 'math' THEN w.score END) AS accuracy,
               avg(CASE WHEN w.verifier = 'final_number' THEN w.score END) AS final_number_accuracy,
               avg(CASE WHEN w.verifier LIKE 'format%' THEN w.score END) AS format,
               avg(r.completion_tokens) AS mean_completion_tokens
        FROM rollouts r JOIN rewards w USING (rollout_id)
        WHERE r.stage = 'eval' AND r.step IS NOT NULL {where}
        GROUP BY ALL ORDER BY r.run_id, decoding, r.step"""


def _run_filter(run_ids: list[str] | None, column: str = "r.run_id") -> str:
    return "" if not run_ids else f"AND {column} IN (" + ", ".join(f"'{x}'" for x in run_ids) + ")"


# A completion that answered, then checked and corrected itself: the number before "wait" differs from the
# one it settles on ("478 + 356 = 824. wait, let me check: ... so it is 834."; r1harness/tasks/traces.py).
_FIRST = r"regexp_extract(r.completion, '= (\d+)\.? *wait', 1)"
_SETTLED = r"regexp_extract(r.completion, 'so it is (\d+)', 1)"
_STEP_LINE = r"\d \+ \d \+ \d = \d+[.,]"  # one column of a scratchpad: worked step by step


def evolve_sql(run_ids: list[str] | None = None, stage: str = "eval") -> str:
    """R1-Zero's self-evolution per GRPO step (the paper's Figures 2-3), straight from rollouts + rewards:
    accuracy (math verifier on <answer>), response length, the share of completions with reflection words
    (the store's one pattern, `REFLECTION_PATTERN`), the share that corrected their own first answer, and
    the share worked step by step (a column line "d + d + c = n"), per run, step and decoding. `stage`
    'eval' = held-out prompts scored at that step; 'grpo' = that step's training rollouts (sampled)."""
    from r1harness.store.views import REFLECTION_PATTERN

    if stage not in ("eval", "grpo"):
        raise ValueError(f"stage must be 'eval' (held-out) or 'grpo' (training rollouts), got {stage!r}")
    return f"""
        WITH per AS (
            SELECT r.run_id, r.step, r.rollout_id, r.completion_tokens,
                   CASE WHEN json_extract(r.sampling, '$.greedy') = 'true' THEN 'greedy' ELSE 'sampled' END
                     AS decoding,
                   regexp_matches(lower(r.completion), '{REFLECTION_PATTERN}') AS reflects,
                   regexp_matches(r.completion, '{_STEP_LINE}') AS steps,
                   {_FIRST} <> '' AND {_SETTLED} <> '' AND {_FIRST} <> {_SETTLED} AS corrects,
                   max(CASE WHEN w.verifier = 'math' THEN w.score END) AS accuracy,
                   max(CASE WHEN w.verifier = 'final_number' THEN w.score END) AS final_number_accuracy,
                   max(CASE WHEN w.verifier LIKE 'format%' THEN w.score END) AS format
            FROM rollouts r JOIN rewards w USING (rollout_id)
            WHERE r.stage = '{stage}' AND r.step IS NOT NULL {_run_filter(run_ids)}
            GROUP BY ALL)
        SELECT run_id, step, decoding, count(*) AS n,
               avg(accuracy) AS accuracy, avg(final_number_accuracy) AS final_number_accuracy,
               avg(format) AS format, avg(completion_tokens) AS mean_completion_tokens,
               avg(reflects::INT) AS reflection_share, avg(corrects::INT) AS self_correction_share,
               avg(steps::INT) AS step_by_step_share,
               avg(CASE WHEN reflects THEN accuracy END) AS accuracy_reflecting,
               avg(CASE WHEN NOT reflects AND steps THEN accuracy END) AS accuracy_steps_only,
               avg(CASE WHEN NOT reflects AND NOT steps THEN accuracy END) AS accuracy_direct
        FROM per GROUP BY ALL ORDER BY run_id, decoding, step"""


def aha_sql(run_ids: list[str] | None = None, limit: int = 5) -> str:
    """Held-out "aha" completions: they answered, said a reflection word, found their first answer wrong and
    settled on the right one (math verifier 1.0); latest steps first."""
    from r1harness.store.views import REFLECTION_PATTERN

    return f"""
        SELECT r.rollout_id, r.run_id, r.step, r.prompt_text, r.completion, {_FIRST} AS first_answer,
               {_SETTLED} AS settled_answer, w.score AS accuracy
        FROM rollouts r JOIN rewards w USING (rollout_id)
        WHERE r.stage = 'eval' AND r.step IS NOT NULL AND w.verifier = 'math' AND w.score = 1.0
          AND regexp_matches(lower(r.completion), '{REFLECTION_PATTERN}')
          AND {_FIRST} <> '' AND {_FIRST} <> {_SETTLED} {_run_filter(run_ids)}
        ORDER BY r.step DESC, r.rollout_id LIMIT {int(limit)}"""


__all__ = ["aha_sql", "base_probe", "curve_sql", "evolve_sql", "run_seeds"]
