"""R1-Zero in miniature: pretrain a tiny base on plain prose, then GRPO with accuracy + format rewards.

Per seed: build a corpus (held-out problems excluded; a small share of documents in the `<think>/<answer>`
layout), train a tokenizer and a tiny LM, pretrain it briefly, then run GRPO on the train prompts with the
R1-Zero template while a callback evaluates held-out prompts at step 0 (the base) and every few steps. All
of it lands in the store, so the curves are SQL (see `curve_sql`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from r1harness.errors import ConfigError
from r1harness.train.config import GRPORunConfig, _set_dotted, from_dict, read_yaml

CORPUS_KEYS = {"documents", "format_share", "layout", "passes"}


@dataclass(frozen=True)
class MiniatureRecipe:
    task: dict = field(default_factory=lambda: {"name": "arithmetic", "params": {"digits": 2}})
    dataset: str = "r1zero_arithmetic"  # prompts.dataset for the train/test splits
    data_seed: int = 1234
    train_prompts: int = 2000
    heldout_prompts: int = 200
    corpus: dict = field(default_factory=lambda: {"documents": 20000, "format_share": 0.05})
    model: dict = field(default_factory=lambda: {"arch": "qwen2", "layers": 4, "hidden": 128, "heads": 4})
    pretrain: dict = field(default_factory=dict)  # SFTConfig options for the base's pretraining
    pretrain_threads: int | None = None
    # Optional second pretraining phase (same problems, another format share): SFTConfig options plus
    # "format_share"; lets a base learn the skill longer while its formatted mode stays rare.
    pretrain_continue: dict | None = None
    grpo: dict = field(default_factory=dict)  # GRPORunConfig keys except model/dataset/split
    grpo_time_limit_s: float | None = 600.0  # stop GRPO (and evaluate) after this much wall time

    def __post_init__(self):
        if self.task.get("name") not in ("arithmetic", "countdown"):
            raise ConfigError(f"task.name must be arithmetic or countdown, got {self.task.get('name')!r}")
        unknown = set(self.corpus) - CORPUS_KEYS
        if unknown:
            raise ConfigError(
                f"corpus: unknown key(s) {sorted(unknown)}; valid keys are {sorted(CORPUS_KEYS)}"
            )
        bad = {"model", "dataset", "split"} & set(self.grpo)
        if bad:
            raise ConfigError(f"grpo: {sorted(bad)} are set by the recipe itself; remove them")


def load_recipe(path: str | Path | None, overrides: dict | None = None) -> MiniatureRecipe:
    data = read_yaml(path) if path else {}
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    return from_dict(MiniatureRecipe, data, where=str(path or "recipe"))


def task_prompts(recipe: MiniatureRecipe) -> tuple[list[dict], list[dict]]:
    """(train, held-out) rows from the task generator; held-out problems never appear in train."""
    from r1harness.tasks import get_task

    gen = get_task(recipe.task["name"])
    params = recipe.task.get("params", {})
    heldout = gen(recipe.heldout_prompts, recipe.data_seed + 1, **params)
    held = {r["problem"] for r in heldout}
    train = [
        r
        for r in gen(recipe.train_prompts + len(held), recipe.data_seed, **params)
        if r["problem"] not in held
    ][: recipe.train_prompts]
    return train, heldout


def ingest_task(store, recipe: MiniatureRecipe) -> dict:
    """Append the train/test prompts (idempotent: prompt ids are content hashes)."""
    from r1harness.store.ids import prompt_id

    train, heldout = task_prompts(recipe)
    verifier = "countdown" if recipe.task["name"] == "countdown" else "math"
    rows = []
    for split, part in (("train", train), ("test", heldout)):
        for i, r in enumerate(part):
            rows.append(
                {
                    "prompt_id": prompt_id(recipe.dataset, r["problem"]),
                    "dataset": recipe.dataset,
                    "split": split,
                    "domain": "math",
                    "problem": r["problem"],
                    "answer": r["answer"],
                    "verifier": verifier,
                    "metadata": json.dumps(r["metadata"]),
                    "source": f"generator:{recipe.task['name']}",
                    "source_index": i,
                }
            )
    res = store.append("prompts", rows)
    return {"train": len(train), "test": len(heldout), "written": res.written}


def build_base(recipe: MiniatureRecipe, seed: int, out_dir: Path) -> Path:
    """Tokenizer + tiny LM + brief pretraining on the plain corpus; reuses a finished base in out_dir."""
    from r1harness.train.pretrain import pretrain
    from r1harness.train.tiny_model import init_tiny_model

    base = out_dir / "base"
    if (base / "config.json").exists():
        return base
    share = recipe.corpus.get("format_share", 0.05)
    corpus = base_corpus(recipe, seed, share)
    init = init_tiny_model(out_dir / "init", corpus=corpus[:4000], seed=seed, **recipe.model)
    if not recipe.pretrain_continue:
        pretrain(init, corpus, base, seed=seed, threads=recipe.pretrain_threads, **recipe.pretrain)
        return base
    phase1 = pretrain(
        init, corpus, out_dir / "base_phase1", seed=seed, threads=recipe.pretrain_threads, **recipe.pretrain
    )
    options = dict(recipe.pretrain_continue)
    corpus = base_corpus(recipe, seed, options.pop("format_share", share))
    pretrain(phase1, corpus, base, seed=seed, threads=recipe.pretrain_threads, **options)
    return base


def base_corpus(recipe: MiniatureRecipe, seed: int, format_share: float) -> list[str]:
    """The base's pretraining documents: the task in prose, `format_share` of them in the R1-Zero layout,
    rendered with the GRPO template (so the base has seen the prompt it will be asked) and held-out
    problems excluded."""
    from r1harness.tasks.corpus import pretraining_corpus

    _, heldout = task_prompts(recipe)
    return pretraining_corpus(
        recipe.corpus.get("documents", 20000),
        seed,
        format_share=format_share,
        template=recipe.grpo.get("template", "r1zero"),
        layout=recipe.corpus.get("layout", "spaced"),
        passes=recipe.corpus.get("passes", 1),
        tasks={recipe.task["name"]: recipe.task.get("params", {})},
        exclude_problems={r["problem"] for r in heldout},
    )


def run_miniature(store, recipe: MiniatureRecipe, *, seeds: list[int], out_dir: str | Path) -> dict:
    """Base + GRPO for each seed, one after the other; returns a summary per seed."""
    ingest_task(store, recipe)
    results = {}
    for seed in seeds:
        seed_dir = Path(out_dir) / f"seed{seed}"
        t0 = time.time()
        base = build_base(recipe, seed, seed_dir)
        probe = base_probe(recipe, base, seed_dir)
        t1 = time.time()
        summary = grpo_from_base(store, recipe, seed, base, seed_dir)
        results[seed] = {
            **summary,
            "base_probe": probe,
            "pretrain_s": round(t1 - t0, 1),
            "grpo_s": round(time.time() - t1, 1),
        }
    return results


def base_probe(recipe: MiniatureRecipe, base: Path, seed_dir: Path) -> dict:
    """The base's held-out accuracy unprompted and forced into the format (r1harness/train/base_probe.py),
    saved beside the base: if the forced number is near 0, GRPO has no accuracy signal to find."""
    from r1harness.train.base_probe import probe_base

    path = seed_dir / "base_probe.json"
    if path.exists():
        return json.loads(path.read_text())
    _, heldout = task_prompts(recipe)
    # The opener as the corpus writes it: the "spaced" layout puts a space before <think>.
    opener = "<think>" if recipe.corpus.get("layout", "spaced") == "aligned" else " <think>"
    probe = probe_base(
        base,
        heldout,
        recipe.grpo.get("template", "r1zero"),
        opener=opener,
        max_new_tokens=recipe.grpo.get("trl", {}).get("max_completion_length", 64),
    )
    path.write_text(json.dumps(probe, indent=1) + "\n")
    return probe


def grpo_from_base(store, recipe: MiniatureRecipe, seed: int, base: Path, seed_dir: Path) -> dict:
    """GRPO on the recipe's train split with held-out evaluation on its test split."""
    from r1harness.train.grpo import run_grpo

    grpo = {"eval": {"every": 10}, **recipe.grpo}
    grpo["eval"] = {
        "dataset": recipe.dataset,
        "split": "test",
        "max_prompts": recipe.heldout_prompts,
        **grpo.get("eval", {}),
    }
    config = from_dict(
        GRPORunConfig,
        {
            **grpo,
            "model": str(base),
            "dataset": recipe.dataset,
            "split": "train",
            "seed": seed,
            "output_dir": str(seed_dir / "grpo"),
            "run_name": f"r1zero_tiny seed {seed}",
        },
        where="recipe.grpo",
    )
    return run_grpo(store, config, callbacks=[_time_limit(recipe.grpo_time_limit_s)])


def _time_limit(seconds: float | None):
    from transformers import TrainerCallback

    class TimeLimit(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.time()

        def on_step_end(self, args, state, control, **kwargs):
            if seconds and time.time() - self.start > seconds:
                control.should_training_stop = True

    return TimeLimit()


def curve_sql(run_ids: list[str] | None = None) -> str:
    """Held-out accuracy (strict = math verifier on <answer>; final_number = format-blind), format and
    response length per step and decoding, straight from rollouts + rewards."""
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
        WHERE r.stage = 'eval' {where}
        GROUP BY ALL ORDER BY r.run_id, decoding, r.step"""


def recipe_dict(recipe: MiniatureRecipe) -> dict:
    return dataclasses.asdict(recipe)
