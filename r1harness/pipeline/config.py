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

from r1harness.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINE_DIR = REPO_ROOT / "datasets" / "pipelines"
BACKENDS = ("transformers", "vllm", "openai")
PRETRAIN_KEYS = {"docs", "format_share", "seed", "trl"}


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
        unknown = sorted(set(self.pretrain or {}) - PRETRAIN_KEYS)
        if unknown:
            raise ConfigError(
                f"pretrain: unknown key(s) {unknown}; valid keys are {sorted(PRETRAIN_KEYS)} "
                "(TRL SFTConfig options go under pretrain.trl)"
            )

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
    template: str = "r1zero"  # GRPO prompt template (r1harness/train/templates.py)
    eval_template: str = "r1-zero@1"  # the same text for generation (r1harness/generate)
    chat_template: bool = True  # tiny models: SFT chats rendered with `template`
    backend: str = "transformers"  # generation backend for rejection sampling and eval
    backend_options: dict = field(default_factory=dict)
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
}
TUPLES = {"tasks", "benchmarks", "train", "eval_benchmarks", "k", "cons"}


def _build(cls, raw: Any, where: str):
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    valid = {f.name for f in dataclasses.fields(cls)} - {"origin"}
    unknown = sorted(set(raw) - valid)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(valid)}")
    kwargs = {}
    for key, value in raw.items():
        if key in NESTED:
            value = _build(NESTED[key], value or {}, f"{where}.{key}")
        elif key == "tasks":
            value = tuple(_build(TaskSpec, v, f"{where}.tasks[{i}]") for i, v in enumerate(value or []))
        elif key in TUPLES and isinstance(value, (list, tuple, type(None))):
            value = tuple(value or ())
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def config_from_dict(raw: dict, origin: str = "") -> PipelineConfig:
    where = origin or "pipeline"
    try:
        cfg = _build(PipelineConfig, raw, where)
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(where) else f"{where}: {msg}") from None
    return dataclasses.replace(cfg, origin=origin)


def load_pipeline_config(name_or_path: str | os.PathLike, overrides: dict | None = None) -> PipelineConfig:
    """`datasets/pipelines/<name>.yaml` by name, or a file by path; `overrides` are dotted keys."""
    from r1harness.train.config import _set_dotted, read_yaml
    from r1harness.yaml_files import resolve_named_yaml

    path = resolve_named_yaml(name_or_path, PIPELINE_DIR, kind="pipeline config", known_label="configs here")
    raw = read_yaml(path)
    for key, value in (overrides or {}).items():
        _set_dotted(raw, key, value)
    return config_from_dict(raw, origin=str(path))
