"""The R1 pipeline in one resumable run over one store (see stages.py for the stages).

    from r1harness.pipeline import load_pipeline_config, run_pipeline
    result = run_pipeline(store, load_pipeline_config("tiny"))     # rerun after a kill: resumes
    print(result.report)

Modules: config (frozen dataclasses + YAML), runner (runs rows, resume), stages (the stage functions),
context, prompts, models (tiny base/student models), training (GRPO/SFT through r1harness.train),
curation (cold-start and rejection-sampling sets through r1harness.curate), evaluation (r1harness.evals),
validate (the config checks `r1h validate` and `run_pipeline` both run), miniature (the first stages
per seed: `r1h train r1zero-tiny`).
"""

from r1harness.pipeline.config import PipelineConfig, config_from_dict, load_pipeline_config
from r1harness.pipeline.runner import PipelineResult, pipeline_run_id, run_pipeline, stage_runs

__all__ = [
    "PipelineConfig",
    "PipelineResult",
    "config_from_dict",
    "load_pipeline_config",
    "pipeline_run_id",
    "run_pipeline",
    "stage_runs",
]
