"""The R1 pipeline's stages, in order. Each is `fn(ctx) -> summary dict`; it reads its inputs from the store
and the summaries of earlier stages (`ctx.outputs`), writes its outputs to the store, and returns what
later stages need (`model`: the model folder it produced; `runs`: the runs it started, which the runner
files under the stage's run so reports can find them).

STAGES is a plain ordered dict of name -> function. The paper's stages:
  prompts       synthetic tasks (train + held-out) and the benchmarks whose data is available
  base          the base model (a hub id, or a tiny model pretrained on the plain corpus)
  r1zero        R1-Zero: GRPO from the base model with accuracy + format rewards
  cold_start    correct, readable R1-Zero traces -> cold-start layout set -> SFT of the base model
  reasoning_rl  GRPO from the cold-start model with accuracy + language-consistency rewards
  rejection     k samples per prompt from that checkpoint, verified, curated (+ general data) into a set
  sft2          SFT of the base model on that set (the paper fine-tunes the base, not the RL checkpoint)
  final_rl      a final GRPO stage from the second SFT model
  student       a smaller base model (the distillation student's starting point)
  distill_sft   SFT of the student on the same set
  distill_rl    GRPO of the student for the same number of steps (the distillation-vs-RL comparison)
  eval          every model on held-out problems: pass@1 over n samples, pass@k, cons@k
  report        Markdown + HTML report of the run from SQL over the store
"""

from __future__ import annotations

from collections.abc import Callable

from r1harness.pipeline import curation, evaluation, training
from r1harness.pipeline.context import Context, PipelineError


def stage_prompts(ctx: Context) -> dict:
    from r1harness.pipeline.prompts import ingest_prompts

    return ingest_prompts(ctx)


def _starting_model(ctx: Context, stage: str, spec) -> dict:
    from r1harness.pipeline.models import prepare_model
    from r1harness.pipeline.prompts import heldout_problems

    cfg = ctx.config
    corpus_tasks = {t.task: t.params for t in cfg.prompts.tasks}
    model = prepare_model(
        spec,
        ctx.stage_dir(stage),
        corpus_tasks=corpus_tasks,
        exclude=heldout_problems(cfg.prompts.tasks),
        template=cfg.template,
        chat_template=cfg.chat_template,
        seed=cfg.seed,
        threads=cfg.threads,
    )
    return {"model": model, "tiny": spec.is_tiny}


def stage_base(ctx: Context) -> dict:
    return _starting_model(ctx, "base", ctx.config.base)


def stage_r1zero(ctx: Context) -> dict:
    return training.run_grpo_stage(ctx, "r1zero", ctx.model_of("base"))


def stage_cold_start(ctx: Context) -> dict:
    built = curation.cold_start_set(ctx)
    if not built["n_samples"]:
        raise PipelineError(
            "cold start: no R1-Zero rollout passed the recipe's filters (none correct and "
            "readable); train R1-Zero longer or loosen cold_start.recipe_overrides"
        )
    sft = training.run_sft_stage(ctx, "cold_start", ctx.model_of("base"), built["set"])
    return {**built, **sft, "runs": built["runs"] + sft["runs"]}


def stage_reasoning_rl(ctx: Context) -> dict:
    return training.run_grpo_stage(ctx, "reasoning_rl", ctx.model_of("cold_start"))


def stage_rejection(ctx: Context) -> dict:
    built = curation.rejection_set(ctx)
    if not built["n_samples"]:
        raise PipelineError(
            f"rejection sampling kept no sample; see the set's funnel with `r1h sets show {built['set']}`"
        )
    return built


def stage_sft2(ctx: Context) -> dict:
    return training.run_sft_stage(ctx, "sft2", ctx.model_of("base"), ctx.output("rejection", "set"))


def stage_final_rl(ctx: Context) -> dict:
    return training.run_grpo_stage(ctx, "final_rl", ctx.model_of("sft2"))


def stage_student(ctx: Context) -> dict:
    return _starting_model(ctx, "student", ctx.config.student)


def stage_distill_sft(ctx: Context) -> dict:
    return training.run_sft_stage(ctx, "distill_sft", ctx.model_of("student"), ctx.output("rejection", "set"))


def stage_distill_rl(ctx: Context) -> dict:
    """Same budget as distillation: unless the config says otherwise, as many optimizer steps as the
    distillation SFT took."""
    steps = ctx.outputs.get("distill_sft", {}).get("steps")
    defaults = {"trl": {"max_steps": int(steps)}} if steps else {}
    return training.run_grpo_stage(ctx, "distill_rl", ctx.model_of("student"), defaults)


def stage_eval(ctx: Context) -> dict:
    return evaluation.evaluate_models(ctx)


def stage_report(ctx: Context) -> dict:
    from r1harness.report import build_report

    out = ctx.config.report_path
    report = build_report(ctx.store, out, run_id=ctx.run_id, title=f"r1harness pipeline {ctx.run_name}")
    return {"report": str(report.html), "markdown": str(report.markdown), "findings": list(report.findings)}


STAGES: dict[str, Callable[[Context], dict]] = {
    "prompts": stage_prompts,
    "base": stage_base,
    "r1zero": stage_r1zero,
    "cold_start": stage_cold_start,
    "reasoning_rl": stage_reasoning_rl,
    "rejection": stage_rejection,
    "sft2": stage_sft2,
    "final_rl": stage_final_rl,
    "student": stage_student,
    "distill_sft": stage_distill_sft,
    "distill_rl": stage_distill_rl,
    "eval": stage_eval,
    "report": stage_report,
}
