"""What a stage function sees: the store, the config, its own run ids and the outputs of earlier stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from r1harness.errors import R1HarnessError
from r1harness.pipeline.config import PipelineConfig


class PipelineError(R1HarnessError):
    """A pipeline cannot continue (a stage's input is missing, a stage failed)."""


@dataclass
class Context:
    store: object
    config: PipelineConfig
    run_id: str  # the pipeline run
    work: Path  # absolute: models and checkpoints live here
    outputs: dict[str, dict] = field(default_factory=dict)  # stage -> summary of its finished run
    stage_run_id: str | None = None  # the run of the stage being executed
    progress: bool = True

    def stage_dir(self, stage: str) -> Path:
        path = self.work / stage
        path.mkdir(parents=True, exist_ok=True)
        return path

    def model_of(self, stage: str) -> str:
        model = self.outputs.get(stage, {}).get("model")
        if not model:
            raise PipelineError(
                f"stage {stage!r} has not produced a model in run {self.run_id}; "
                f"finished stages: {sorted(self.outputs)}"
            )
        return model

    def output(self, stage: str, key: str):
        try:
            return self.outputs[stage][key]
        except KeyError:
            raise PipelineError(f"stage {stage!r} has no output {key!r} in run {self.run_id}") from None

    @property
    def run_name(self) -> str:
        return self.config.name

    def child_run_id(self, suffix: str) -> str:
        """A deterministic id for a run a stage starts, so a rerun of the stage reopens the same run."""
        return f"{self.stage_run_id}-{suffix}"

    # Task datasets -------------------------------------------------------------------------------------
    @property
    def train_datasets(self) -> list[str]:
        return [t.train_dataset for t in self.config.prompts.tasks] + list(self.config.prompts.train)

    @property
    def heldout_datasets(self) -> list[str]:
        return [t.heldout_dataset for t in self.config.prompts.tasks]

    def train_selection(self) -> dict:
        """GRPO prompt selection (GRPORunConfig keys) covering every task's train split, minus any problem
        that is held out: a store reused across configs keeps the train prompts of an earlier split, some
        of which an enlarged held-out split now contains (a reused store trained on 59 of 200 held-out
        problems before this guard)."""
        names, held = self.train_datasets, self.heldout_datasets
        clauses = [] if len(names) == 1 else ["dataset IN (" + ", ".join(f"'{n}'" for n in names) + ")"]
        if held:
            clauses.append(
                "problem NOT IN (SELECT problem FROM prompts WHERE dataset IN ("
                + ", ".join(f"'{n}'" for n in held)
                + "))"
            )
        out = {"dataset": names[0] if len(names) == 1 else None}
        if clauses:
            out["where"] = " AND ".join(clauses)
        return out

    def task_verifier(self) -> str:
        from r1harness.pipeline.prompts import task_verifier

        tasks = self.config.prompts.tasks
        return task_verifier(tasks[0].task) if tasks else "math"
