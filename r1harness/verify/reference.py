"""The one shape of a verifier's reference: what every batch verifier receives beside each completion.

A reference is built from a `prompts` row (plus the rollout's finish reason) by `verifier_reference`, and
by nothing else, so a verifier never has to guess how a field arrives:
  metadata       always a dict ({} when the prompt has none), never a JSON string
  tests          the parsed JSON value (a list or dict), absent when the prompt has none
  answer, problem, prompt_id, dataset, split, domain, verifier (the prompt's own), finish_reason
                 as stored; a field that is null or missing is left out
Anything else in the row (the completion, ids of other tables) is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from r1harness.errors import VerifierInputError

REFERENCE_FIELDS = (
    "prompt_id",
    "dataset",
    "split",
    "domain",
    "problem",
    "answer",
    "tests",
    "metadata",
    "verifier",
    "finish_reason",
)


def verifier_reference(row: Mapping[str, Any], *, finish_reason: str | None = None) -> dict[str, Any]:
    """The reference for one completion from its `prompts` row (JSON columns decoded)."""
    ref = {k: row[k] for k in REFERENCE_FIELDS if row.get(k) is not None}
    if finish_reason is not None:
        ref["finish_reason"] = finish_reason
    ref["metadata"] = _decoded(ref.get("metadata"), "metadata", row) or {}
    if not isinstance(ref["metadata"], dict):
        raise VerifierInputError(
            f"prompt {row.get('prompt_id')!r}: metadata must be a JSON object, got "
            f"{type(ref['metadata']).__name__}; fix the prompt's metadata and re-ingest it"
        )
    if "tests" in ref:
        ref["tests"] = _decoded(ref["tests"], "tests", row)
    return ref


def _decoded(value: Any, name: str, row: Mapping[str, Any]) -> Any:
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise VerifierInputError(
            f"prompt {row.get('prompt_id')!r}: {name} is not valid JSON ({exc.msg} at column {exc.colno}); "
            "fix the prompt and re-ingest it"
        ) from None
