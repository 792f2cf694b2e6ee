"""Verifiers: pure functions from (completion, reference) to a `Verdict`. See DESIGN.md §3."""

from r1harness.verify.verdict import STATUSES, Verdict

__all__ = ["Verdict", "STATUSES"]
