"""Pipeline configs: frozen dataclasses read from `datasets/pipelines/<name>.yaml`.

A pipeline config names the models, the prompts and, per stage, the overrides layered onto the trainers'
own configs (`GRPORunConfig` / `SFTRunConfig` in r1harness/train/config.py, TRL options under `trl:`) and
the curation recipe. The pipeline fills in what it owns (model paths, datasets, output folders, run
names); everything else a stage dict says is passed through, so a key the trainer does not know is
rejected when the config is loaded, before any work starts.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1harness.configs import apply_overrides, build, check_keys
from r1harness.errors import ConfigError
from r1harness.executors.ray_executor import ExecutorConfig
from r1harness.paths import REPO_ROOT
from r1harness.templates import text_template

PIPELINE_DIR = REPO_ROOT / "datasets" / "pipelines"
BACKENDS = ("transformers", "vllm", "openai")
# layout, passes, traces: r1harness/tasks/corpus.py; tokenizer_docs: r1harness/pipeline/models.py
PRETRAIN_KEYS = {"docs", "format_share", "layout", "passes", "seed", "tokenizer_docs", "traces", "trl"}
# The stages in pipeline order (r1harness/pipeline/stages.py STAGES holds their functions).
STAGE_NAMES = (
    "prompts",
    "base",
    "r1zero",
    "cold_start",
    "reasoning_rl",
    "rejection",
    "sft2",
    "final_rl",
    "student",
    "distill_sft",
    "distill_rl",
    "eval",
    "report",
)


@dataclass(frozen=True)
class TaskSpec:
    """A synthetic task (r1harness/tasks) split into train prompts and held-out evaluation prompts."""

    task: str  # registry name in r1harness.tasks.TASKS
    train: int = 1000
    heldout: int = 100
    seed: int = 0
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        from r1harness.tasks import TASKS

        if self.task not in TASKS:
            raise ConfigError(f"prompts.tasks: unknown task {self.task!r}; tasks are {sorted(TASKS)}")
        if self.train < 1 or self.heldout < 1:
            raise ConfigError(f"prompts.tasks.{self.task}: train and heldout must be >= 1")

    @property
    def train_dataset(self) -> str:
        return f"{self.task}_train"

    @property
    def heldout_dataset(self) -> str:
        return f"{self.task}_heldout"


@dataclass(frozen=True)
class PromptsConfig:
    tasks: tuple[TaskSpec, ...] = ()
    benchmarks: tuple[str, ...] = ()  # dataset manifests ingested when their data is available
    train: tuple[str, ...] = ()  # ingested datasets (besides the tasks' train splits) for RL prompts
    eval_benchmarks: tuple[str, ...] = ()  # eval specs (evals/*.yaml) run on every model in the eval stage
    general: int = 0  # general (non-reasoning) chat samples for the SFT set

    def __post_init__(self):
        if not self.tasks and not self.train:
            raise ConfigError(
                "prompts: list at least one task (tasks: [{task: arithmetic}]) or train dataset "
                "(train: [math_train], ingested via benchmarks)"
            )
        missing = [d for d in self.train if d not in self.benchmarks]
        if missing:
            raise ConfigError(
                f"prompts.train: {missing} must also be listed under prompts.benchmarks so the "
                "prompts stage ingests them"
            )


@dataclass(frozen=True)
class ModelSpec:
    """A starting model: a hub id / local folder, or `tiny` (built with r1harness.train.tiny_model and
    pretrained briefly on the plain corpus so it is a *base* model that has rarely seen the format)."""

    model: str = "tiny"
    tiny: dict = field(default_factory=dict)  # init_tiny_model keyword arguments
    pretrain: dict | None = None  # {docs, format_share, seed, trl: {...}}; None: skip

    def __post_init__(self):
        if not self.model:
            raise ConfigError("model: give a hub id, a local folder, or `tiny`")
        if self.model != "tiny" and (self.tiny or self.pretrain):
            raise ConfigError(f"model {self.model!r}: `tiny` and `pretrain` apply only to model: tiny")
        hint = " (TRL SFTConfig options go under pretrain.trl)"
        check_keys(self.pretrain or {}, PRETRAIN_KEYS, "pretrain", hint=hint)

    @property
    def is_tiny(self) -> bool:
        return self.model == "tiny"


@dataclass(frozen=True)
class RejectionConfig:
    samples: int = 4  # k completions per prompt from the reasoning-RL checkpoint
    max_prompts: int | None = 200
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 128
    recipe: str = "tiny"  # curation recipe (datasets/recipes/<name>.yaml)
    recipe_overrides: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.samples < 1:
            raise ConfigError(f"rejection.samples must be >= 1, got {self.samples}")


@dataclass(frozen=True)
class EvalConfig:
    n: int = 4  # samples per problem: pass@1 = mean correctness over them
    k: tuple[int, ...] = (1, 4)
    cons: tuple[int, ...] = (4,)
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 128
    limit: int | None = None  # held-out problems per task (None: all)
    batch_size: int = 64

    def __post_init__(self):
        bad = [v for v in (*self.k, *self.cons) if not 1 <= v <= self.n]
        if bad or 1 not in self.k:
            raise ConfigError(
                f"eval: k must include 1 and k/cons values must lie in 1..n={self.n} (got "
                f"k={list(self.k)}, cons={list(self.cons)})"
            )


STAGE_KEYS = ("r1zero", "cold_start", "reasoning_rl", "sft2", "final_rl", "distill_sft", "distill_rl")


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    prompts: PromptsConfig
    base: ModelSpec = ModelSpec()
    student: ModelSpec = ModelSpec()
    # The prompt every stage shows a model (a raw-text template of r1harness/templates.py): GRPO prompts,
    # the pretraining corpus, tiny models' chat template, rejection sampling and evaluation.
    template: str = "r1-zero@1"
    chat_template: bool = True  # tiny models: SFT chats rendered with `template`
    # The stages to run, in pipeline order; e.g. the R1-Zero miniature runs [prompts, base, r1zero, eval].
    stages: tuple[str, ...] = STAGE_NAMES
    backend: str = "transformers"  # generation backend for rejection sampling and eval
    backend_options: dict = field(default_factory=dict)
    # where rejection sampling and evaluation fan out: local (this process) or a Ray cluster
    # ({kind: ray, address: auto, workers: N}; r1harness/executors, README "Past one machine")
    executor: ExecutorConfig = ExecutorConfig()
    work_dir: str = ""  # models and checkpoints; default runs/pipelines/<name>
    report_dir: str = ""  # default reports/<name>
    threads: int | None = None
    seed: int = 0
    # Per-stage overrides: GRPO stages take GRPORunConfig keys, SFT stages SFTRunConfig keys (+ recipe).
    r1zero: dict = field(default_factory=dict)
    cold_start: dict = field(default_factory=dict)
    reasoning_rl: dict = field(default_factory=dict)
    sft2: dict = field(default_factory=dict)
    final_rl: dict = field(default_factory=dict)
    distill_sft: dict = field(default_factory=dict)
    distill_rl: dict = field(default_factory=dict)
    rejection: RejectionConfig = RejectionConfig()
    eval: EvalConfig = EvalConfig()
    description: str = ""
    origin: str = ""

    def __post_init__(self):
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"pipeline name must be a plain identifier, got {self.name!r}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        text_template(self.template)
        unknown = [s for s in self.stages if s not in STAGE_NAMES]
        if unknown or not self.stages:
            raise ConfigError(f"stages: {unknown or 'empty'}; choose from {list(STAGE_NAMES)}")
        if list(self.stages) != sorted(self.stages, key=STAGE_NAMES.index):
            raise ConfigError(
                f"stages: list them in pipeline order, {[s for s in STAGE_NAMES if s in self.stages]}"
            )
        if not isinstance(self.chat_template, bool):
            raise ConfigError(
                f"chat_template must be true (tiny models: render SFT chats with `template`) or "
                f"false (keep the model's own), got {self.chat_template!r}"
            )

    @property
    def work_path(self) -> Path:
        return Path(self.work_dir or Path("runs") / "pipelines" / self.name)

    @property
    def report_path(self) -> Path:
        return Path(self.report_dir or Path("reports") / self.name)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("origin")
        return out


NESTED = {
    "prompts": PromptsConfig,
    "base": ModelSpec,
    "student": ModelSpec,
    "rejection": RejectionConfig,
    "eval": EvalConfig,
    "executor": ExecutorConfig,
}
TUPLES = {"tasks", "benchmarks", "train", "eval_benchmarks", "k", "cons", "stages"}


def _build(cls, raw: Any, where: str):
    return build(cls, raw, where, convert=_CONVERT, exclude={"origin"})


def _tuple(value: Any, where: str) -> Any:
    return tuple(value or ()) if isinstance(value, (list, tuple, type(None))) else value


def _tasks(value: Any, where: str) -> tuple[TaskSpec, ...]:
    return tuple(_build(TaskSpec, v, f"{where}[{i}]") for i, v in enumerate(value or []))


# How a value under each key becomes a field: nested sections are built, lists become tuples.
_CONVERT = {
    **{key: _tuple for key in TUPLES},
    **{key: lambda value, where, cls=cls: _build(cls, value or {}, where) for key, cls in NESTED.items()},
    "tasks": _tasks,
}


def config_from_dict(raw: dict, origin: str = "") -> PipelineConfig:
    where = origin or "pipeline"
    if isinstance(raw, dict) and "eval_template" in raw:
        raise ConfigError(
            f"{where}: eval_template is gone: `template` is the one prompt for training and evaluation "
            f"(r1harness/templates.py); remove eval_template"
        )
    try:
        cfg = _build(PipelineConfig, raw, where)
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(where) else f"{where}: {msg}") from None
    return dataclasses.replace(cfg, origin=origin)


def load_pipeline_config(name_or_path: str | os.PathLike, overrides: dict | None = None) -> PipelineConfig:
    """`datasets/pipelines/<name>.yaml` by name, or a file by path; `overrides` are dotted keys."""
    from r1harness.yaml_files import read_yaml_mapping, resolve_named_yaml

    path = resolve_named_yaml(name_or_path, PIPELINE_DIR, kind="pipeline config", known_label="configs here")
    raw = apply_overrides(read_yaml_mapping(path, "a config"), overrides)
    return config_from_dict(raw, origin=str(path))
