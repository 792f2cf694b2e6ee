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


__all__ = ["base_probe", "curve_sql", "run_seeds"]
