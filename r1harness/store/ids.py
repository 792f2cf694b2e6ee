"""Content-hash ids: the same content always gets the same id, so re-runs are idempotent."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal dicts hash equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_id(kind: str, *parts: Any) -> str:
    """A 32-hex-digit id of `kind` and `parts` (blake2b-128: ample for billions of rows)."""
    payload = canonical_json([kind, *parts]).encode("utf-8")
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def prompt_id(dataset: str, problem: str) -> str:
    return content_id("prompt", dataset, problem)


def rollout_id(
    prompt_id: str,
    model: str,
    template: str,
    sampling: dict | str,
    seed: int | None,
    index: int,
    *,
    run_id: str | None = None,
    step: int | None = None,
) -> str:
    """Id of one sampled completion. `run_id`/`step` distinguish GRPO rollouts of different steps."""
    sampling_key = sampling if isinstance(sampling, str) else canonical_json(sampling)
    extra = [] if run_id is None and step is None else [run_id, step]
    return content_id("rollout", prompt_id, model, template, sampling_key, seed, index, *extra)


def reward_id(rollout_id: str, verifier: str, verifier_version: str) -> str:
    return content_id("reward", rollout_id, verifier, verifier_version)


def sample_id(set_name: str, set_version: int, source_id: str) -> str:
    return content_id("sft_sample", set_name, set_version, source_id)
