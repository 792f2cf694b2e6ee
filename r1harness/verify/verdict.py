"""The `Verdict`: what every verifier returns.

An infrastructure failure (timeout, crash, sandbox down) is never `wrong`: its score is None, so GRPO
drops the sample (TRL accepts None rewards) and evaluation counts it instead of scoring it 0.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("correct", "wrong", "unparseable", "timeout", "error")
INFRA_STATUSES = frozenset({"timeout", "error"})


@dataclass(frozen=True)
class Verdict:
    status: str  # correct | wrong | unparseable | timeout | error
    score: float | None  # None exactly when status is timeout or error
    verifier: str  # e.g. "math", "format.r1zero", "code"
    version: str  # bump whenever a policy change can change a verdict
    extracted: str | None = None  # the answer the verifier looked at
    reason: str = ""  # short human-readable why
    details: dict[str, Any] = field(default_factory=dict)  # measured values, e.g. {"share": 0.97}

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"Verdict.status must be one of {STATUSES}, not {self.status!r}")
        if self.status in INFRA_STATUSES and self.score is not None:
            raise ValueError(
                f"a {self.status} verdict has no score (got {self.score}); infrastructure "
                "failures are never scored"
            )
        if self.status not in INFRA_STATUSES and self.score is None:
            raise ValueError(f"a {self.status} verdict needs a score")

    @property
    def is_infra_failure(self) -> bool:
        return self.status in INFRA_STATUSES

    def to_row(self) -> dict[str, Any]:
        """The fields of a `rewards` row this verdict fills."""
        return {
            "verifier": self.verifier,
            "verifier_version": self.version,
            "status": self.status,
            "score": self.score,
            "extracted": self.extracted,
            "reason": self.reason,
            "details": json.dumps(self.details, default=str, ensure_ascii=False),
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
