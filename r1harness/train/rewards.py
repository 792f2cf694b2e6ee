"""Reward functions for `trl.GRPOTrainer`, adapted from the registered verifiers.

Each component calls a verifier's batch function (`r1harness.verify.registry.get_verifier`) with the
completions and their `prompts` rows, and maps every `Verdict` to a reward:
    correct / wrong / unparseable -> the verdict's score (1.0 / 0.0 / 0.0, or a share for language)
    timeout / error               -> None: TRL drops the sample from the group statistics; it is counted,
                                     never scored 0 (an infrastructure failure is not a wrong answer).
A verifier that raises turns the whole batch into `error` verdicts under the verifier's real name and
version (r1harness.scoring.scorer). Every verdict is handed to a recorder (see `store_log.py`) so the store
gets one `rewards` row per component with its status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from r1harness.scoring.scorer import Scorer, resolve_verifier
from r1harness.train.config import RewardSpec
from r1harness.verify.reference import verifier_reference
from r1harness.verify.verdict import Verdict

__all__ = ["RewardComponent", "build_reward_components", "references", "resolve_verifier", "verdict_reward"]

# Columns of `prompts` that verifiers read; GRPOTrainer passes dataset columns to reward functions.
REFERENCE_COLUMNS = ("prompt_id", "answer", "tests", "metadata", "domain", "verifier")


def verdict_reward(verdict: Verdict) -> float | None:
    """The GRPO reward of one verdict: its score, or None for infrastructure failures."""
    return None if verdict.is_infra_failure else float(verdict.score)


class RewardComponent:
    """A TRL reward function (callable with `__name__`) wrapping one verifier."""

    def __init__(self, spec: RewardSpec, recorder=None, verifier_fn: Callable | None = None):
        self.spec = spec
        self.__name__ = spec.name  # TRL names reward columns/metrics after this
        self.recorder = recorder
        self._fn = verifier_fn
        self._scorer: Scorer | None = None
        self.infra_failures = 0
        self.calls = 0  # seeds the `shuffle` control's permutation: the same one for every component

    @property
    def scorer(self) -> Scorer:
        if self._scorer is None:
            self._scorer = Scorer.resolve(self.spec.verifier, self.spec.options, fn=self._fn)
        return self._scorer

    @property
    def fn(self) -> Callable:
        return self.scorer.fn

    def __call__(
        self, prompts: list, completions: list, completion_ids: list | None = None, **kwargs: Any
    ) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        refs = references(kwargs, len(texts), completion_ids)
        verdicts = self.score(texts, refs)
        failures = sum(v.is_infra_failure for v in verdicts)
        self.infra_failures += failures
        log_metric = kwargs.get("log_metric")
        if log_metric is not None:
            log_metric(f"rewards/{self.spec.name}/infra_failures", float(failures))
        if self.recorder is not None:
            self.recorder.record(self.spec.name, verdicts, texts, completion_ids)
        rewards = [verdict_reward(v) for v in verdicts]
        self.calls += 1
        if self.spec.shuffle:
            import random

            random.Random(self.calls).shuffle(rewards)
        return rewards

    def score(self, texts: list[str], refs: list[dict]) -> list[Verdict]:
        """Verdicts for one batch; a verifier that breaks gives `error` verdicts under its real identity."""
        return self.scorer.score(texts, refs, on_crash="record")


def completion_text(completion: Any) -> str:
    """TRL passes strings for plain prompts and message lists for conversational ones."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)


def references(kwargs: dict, n: int, completion_ids: list | None = None) -> list[dict]:
    """The verifier references (r1harness.verify.reference) from the dataset columns TRL repeated per
    completion."""
    refs = []
    for i in range(n):
        row = {k: kwargs[k][i] for k in REFERENCE_COLUMNS if k in kwargs and kwargs[k] is not None}
        finish = kwargs["finish_reason"][i] if "finish_reason" in kwargs else None
        refs.append(verifier_reference(row, finish_reason=finish))
    return refs


def build_reward_components(specs, recorder=None) -> list[RewardComponent]:
    """Components with their verifiers resolved now, so a misspelt verifier fails before training starts."""
    components = [RewardComponent(spec, recorder) for spec in specs]
    for component in components:
        component.scorer  # noqa: B018 (resolves, raising ConfigError naming the registered verifiers)
    return components
