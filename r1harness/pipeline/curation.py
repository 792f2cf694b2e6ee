"""Curation stages through the curation API (`r1harness.curate.build_set`) and generation/verification APIs.

- cold start: correct, readable R1-Zero training rollouts, rewritten into R1's readable cold-start layout
  (`|special_token|<reasoning>|special_token|<summary>`), capped per prompt, decontaminated against the
  held-out problems;
- rejection sampling: k samples per train prompt from the reasoning-RL checkpoint (`generate_rollouts`),
  verified into `rewards` (`verify_store`), plus general chat samples, curated with the recipe's readability
  filters and quotas.
The recipe (`datasets/recipes/<name>.yaml`) is loaded and only the source, quotas and decontamination
targets the pipeline owns are replaced; the rest comes from the recipe and the config's `recipe_overrides`.
"""

from __future__ import annotations

import json
from pathlib import Path

from r1harness.pipeline.training import deep_merge
from r1harness.store.runs import recorded_run

REASONING_DOMAINS = ["math", "code", "science"]


def recipe_path(ctx, base: str):
    """A recipe name (datasets/recipes/<name>.yaml), or a YAML path (relative paths: next to the config)."""
    if not base.endswith((".yaml", ".yml")) or Path(base).is_absolute() or not ctx.config.origin:
        return base
    return str(Path(ctx.config.origin).parent / base)


def pipeline_recipe(
    ctx, base: str, *, set_name: str, source: str, overrides: dict, replace: dict | None = None
):
    """The recipe with the pipeline's source and held-out decontamination, the config's overrides merged in
    and `replace` keys (e.g. quotas) set as given."""
    from r1harness.curate import load_recipe, recipe_from_dict

    raw = load_recipe(recipe_path(ctx, base)).to_dict()
    raw["decontamination"] = deep_merge(
        raw.get("decontamination") or {},
        {"benchmarks": [f"store:{d}" for d in ctx.heldout_datasets] or "registered"},
    )
    raw = deep_merge(raw, overrides)
    raw.update(replace or {})
    raw.update(name=set_name, source=source)
    return recipe_from_dict(raw, origin=f"{base} (pipeline {ctx.run_name})")


def _build(ctx, recipe) -> dict:
    from r1harness.curate import build_set

    result = build_set(ctx.store, recipe, progress=ctx.progress)
    return {
        "set": result.ref,
        "n_samples": result.n_samples,
        "runs": [result.run_id],
        "quotas": result.funnel.get("quotas"),
    }


def cold_start_set(ctx) -> dict:
    stage = ctx.config.cold_start
    grpo_run = ctx.output("r1zero", "grpo_run_id")
    source = f"SELECT rollout_id FROM rollouts WHERE run_id = '{grpo_run}' AND stage = 'grpo'"
    overrides = deep_merge({"output": {"layout": "cold_start"}}, stage.get("recipe_overrides", {}))
    quotas = {"reasoning": {"count": int(stage.get("samples", 200)), "domains": REASONING_DOMAINS}}
    recipe = pipeline_recipe(
        ctx,
        stage.get("recipe", "tiny"),
        set_name=f"{ctx.run_name}_cold_start",
        source=source,
        overrides=overrides,
        replace={"quotas": quotas},
    )
    return _build(ctx, recipe)


def sample_and_verify(ctx) -> dict:
    """k samples per train prompt from the reasoning-RL model into `rollouts`, graded into `rewards`."""
    from r1harness.generate import SamplingParams, get_backend
    from r1harness.generate.runner import generate_rollouts
    from r1harness.pipeline.evaluation import backend_options
    from r1harness.scoring.verify_store import verify_store
    from r1harness.train.data import load_prompts

    cfg, rej = ctx.config, ctx.config.rejection
    model = ctx.model_of("reasoning_rl")
    sel = ctx.train_selection()
    if cfg.executor.kind == "ray":
        return sample_and_verify_on_ray(ctx, model, sel)
    prompts = load_prompts(
        ctx.store, dataset=sel.get("dataset"), where=sel.get("where"), limit=rej.max_prompts
    )
    sampling = SamplingParams(temperature=rej.temperature, top_p=rej.top_p, max_tokens=rej.max_tokens)
    with recorded_run(
        ctx.store,
        "generate",
        name=f"{cfg.name}/rejection",
        parent_run_id=ctx.stage_run_id,
        run_id=ctx.child_run_id("generate"),
        config={"model": model, "sampling": sampling.to_dict(), "n": rej.samples},
    ) as run:
        run_id = run.run_id
        backend = get_backend(cfg.backend, model, **backend_options(cfg))
        gen = generate_rollouts(
            ctx.store,
            backend,
            prompts,
            template=cfg.template,
            sampling=sampling,
            n=rej.samples,
            seed=cfg.seed,
            stage="generate",
            run_id=run_id,
            progress=ctx.progress,
        )
        run.summary = gen.to_dict()
    verified = verify_store(ctx.store, [ctx.task_verifier()], run_id=run_id, progress=ctx.progress)
    return {
        "generate_run_id": run_id,
        "generated": gen.generated,
        "wanted": gen.wanted,
        "runs": [run_id, verified.run_id],
    }


def sample_and_verify_on_ray(ctx, model: str, sel: dict) -> dict:
    """`sample_and_verify` on the config's Ray cluster: the prompts travel as SQL (the driver holds no
    ids), each worker builds the backend once and writes its own rollouts, then verdicts."""
    from r1harness.executors import generate_on_ray
    from r1harness.executors.dispatch import verify
    from r1harness.generate import SamplingParams
    from r1harness.pipeline.evaluation import backend_options

    cfg, rej = ctx.config, ctx.config.rejection
    cond, params = sel.get("where") or "TRUE", []
    if sel.get("dataset"):
        cond, params = f"dataset = ? AND ({cond})", [sel["dataset"]]
    limit = f" LIMIT {int(rej.max_prompts)}" if rej.max_prompts else ""
    where = f"p.prompt_id IN (SELECT prompt_id FROM prompts WHERE {cond} ORDER BY prompt_id{limit})"
    sampling = SamplingParams(temperature=rej.temperature, top_p=rej.top_p, max_tokens=rej.max_tokens)
    backend = {"name": cfg.backend, "model": model, "options": backend_options(cfg)}
    with recorded_run(
        ctx.store,
        "generate",
        name=f"{cfg.name}/rejection",
        parent_run_id=ctx.stage_run_id,
        run_id=ctx.child_run_id("generate"),
        config={"model": model, "sampling": sampling.to_dict(), "n": rej.samples, "executor": "ray"},
    ) as run:
        gen = generate_on_ray(
            ctx.store, backend, cfg.executor, prompts_where=where, params=params, template=cfg.template,
            sampling=sampling.to_dict(), n=rej.samples, seed=cfg.seed, stage="generate", run_id=run.run_id,
            progress=ctx.progress,
        )  # fmt: skip
        run.summary = gen
    verified = verify(
        ctx.store, [ctx.task_verifier()], executor=cfg.executor, run_id=run.run_id, progress=ctx.progress
    )
    return {
        "generate_run_id": run.run_id,
        "generated": gen["generated"],
        "wanted": gen["prompts"] * rej.samples,
        "runs": [run.run_id, verified["run_id"]],
    }


def rejection_set(ctx) -> dict:
    rej = ctx.config.rejection
    sampled = sample_and_verify(ctx)
    source = (
        f"SELECT rollout_id FROM rollouts WHERE run_id = '{sampled['generate_run_id']}' "
        "AND stage = 'generate'"
    )
    runs = list(sampled["runs"])
    if ctx.config.prompts.general:
        general = import_general(ctx)
        runs.append(general["run_id"])
        source += (
            " UNION ALL SELECT r.rollout_id FROM rollouts r JOIN prompts p USING (prompt_id) "
            f"WHERE p.dataset = '{general['dataset']}' AND r.stage = 'import'"
        )
    recipe = pipeline_recipe(
        ctx, rej.recipe, set_name=f"{ctx.run_name}_sft", source=source, overrides=rej.recipe_overrides
    )
    built = _build(ctx, recipe)
    return {**sampled, **built, "runs": runs + built["runs"]}


WORDS = (
    "apple",
    "river",
    "stone",
    "cloud",
    "green",
    "seven",
    "table",
    "light",
    "music",
    "north",
    "paper",
    "smile",
    "train",
    "water",
    "happy",
    "quiet",
)


def general_records(n: int, seed: int) -> list[dict]:
    """Simple non-reasoning chats ("Repeat exactly: ..."): the general-data share of the SFT set. A tiny
    model has no general ability to draw on, so this stands in for R1's ~200k DeepSeek-V3 SFT samples."""
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))
        out.append(
            {
                "messages": [
                    {"role": "user", "content": f"Repeat exactly: {words}"},
                    {"role": "assistant", "content": words},
                ]
            }
        )
    return out


def import_general(ctx) -> dict:
    from r1harness.ingest.chat import import_chat

    dataset = f"{ctx.run_name}_general"
    path = Path(ctx.stage_dir("rejection")) / "general.jsonl"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        "".join(json.dumps(r) + "\n" for r in general_records(ctx.config.prompts.general, ctx.config.seed))
    )
    tmp.replace(path)
    summary = import_chat(ctx.store, str(path), dataset=dataset)
    return {"dataset": dataset, "run_id": summary.run_id}
