"""Reward functions for `trl.GRPOTrainer`, adapted from the registered verifiers.

Each component calls a verifier's batch function (`r1harness.verify.registry.get_verifier`) with the
completions and their `prompts` rows, and maps every `Verdict` to a reward:
    correct / wrong / unparseable -> the verdict's score (1.0 / 0.0 / 0.0, or a share for language)
    timeout / error               -> None: TRL drops the sample from the group statistics; it is counted,
                                     never scored 0 (an infrastructure failure is not a wrong answer).
A verifier that raises turns the whole batch into `error` verdicts the same way. Every verdict is handed to
a recorder (see `store_log.py`) so the store gets one `rewards` row per component with its status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from r1harness.train.config import RewardSpec
from r1harness.verify.verdict import Verdict

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
        self.infra_failures = 0

    @property
    def fn(self) -> Callable:
        if self._fn is None:
            self._fn = resolve_verifier(self.spec.verifier)
        return self._fn

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
        return [verdict_reward(v) for v in verdicts]

    def score(self, texts: list[str], refs: list[dict]) -> list[Verdict]:
        try:
            verdicts = list(self.fn(texts, refs, **self.spec.options))
            if len(verdicts) != len(texts):
                raise ValueError(f"returned {len(verdicts)} verdicts for {len(texts)} completions")
        except Exception as exc:  # the verifier itself broke: no sample is scored
            reason = f"verifier {self.spec.verifier!r} raised {type(exc).__name__}: {exc}"[:500]
            return [Verdict("error", None, self.spec.verifier, "unknown", reason=reason) for _ in texts]
        return verdicts


def resolve_verifier(name: str) -> Callable:
    """A registry name (`math`, `format`, ...) or, for task-specific probes, a "module:attr" path."""
    if ":" in name:
        import importlib

        from r1harness.errors import ConfigError

        module, attr = name.split(":", 1)
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"reward verifier {name!r} cannot be loaded: {exc}") from None
    from r1harness.verify.registry import get_verifier

    return get_verifier(name)


def completion_text(completion: Any) -> str:
    """TRL passes strings for plain prompts and message lists for conversational ones."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)


def references(kwargs: dict, n: int, completion_ids: list | None = None) -> list[dict]:
    """`prompts` rows (as verifiers expect them) from the dataset columns TRL repeated per completion."""
    refs = []
    for i in range(n):
        ref = {k: kwargs[k][i] for k in REFERENCE_COLUMNS if k in kwargs and kwargs[k] is not None}
        meta = ref.get("metadata")
        if isinstance(meta, str):
            try:
                ref["metadata"] = json.loads(meta)
            except json.JSONDecodeError:
                pass
        if "finish_reason" in kwargs:
            ref["finish_reason"] = kwargs["finish_reason"][i]
        refs.append(ref)
    return refs


def build_reward_components(specs, recorder=None) -> list[RewardComponent]:
    """Components with their verifiers resolved now, so a misspelt verifier fails before training starts."""
    components = [RewardComponent(spec, recorder) for spec in specs]
    for component in components:
        component.fn  # noqa: B018 (resolves, raising ConfigError naming the registered verifiers)
    return components
