"""Batch adapters with the registry's uniform signature `fn(completions, references, **options)`.

`references` are built by r1harness.verify.reference (metadata a dict, tests decoded, plus the rollout's
"finish_reason"). Each adapter carries `version` and `stored_name(options)` so r1harness.scoring knows,
before running, which `rewards` rows (verifier, version) it would write and can skip those that exist.
"""

from __future__ import annotations

from collections.abc import Callable

from r1harness.verify.format import FORMAT_VERIFIER_VERSION, check_format
from r1harness.verify.language import LANGUAGE_VERIFIER_VERSION, language_consistency
from r1harness.verify.readability import CHECKS, READABILITY_VERIFIER_VERSION, combine, readability_checks
from r1harness.verify.verdict import Verdict


def _meta(version: str, stored_name: Callable[[dict], str]):
    def mark(fn):
        fn.version, fn.stored_name = version, stored_name
        return fn

    return mark


def _same_length(completions: list, references: list) -> None:
    if len(completions) != len(references):
        raise ValueError(f"got {len(completions)} completions but {len(references)} references")


@_meta(FORMAT_VERIFIER_VERSION, lambda o: f"format.{o.get('layout', 'r1zero')}")
def format_batch(
    completions: list[str],
    references: list[dict],
    *,
    layout: str = "r1zero",
    think_prefilled: bool = False,
    **_options,
) -> list[Verdict]:
    """Options: layout (r1zero | coldstart | r1), think_prefilled."""
    _same_length(completions, references)
    return [check_format(c, layout=layout, think_prefilled=think_prefilled) for c in completions]


def _format_layout(layout: str):
    @_meta(FORMAT_VERIFIER_VERSION, lambda o: f"format.{layout}")
    def fn(completions, references, **options):
        return format_batch(completions, references, **{**options, "layout": layout})

    fn.__name__ = f"format_{layout}_batch"
    return fn


format_r1zero_batch = _format_layout("r1zero")
format_coldstart_batch = _format_layout("coldstart")
format_r1_batch = _format_layout("r1")


@_meta(LANGUAGE_VERIFIER_VERSION, lambda o: "language")
def language_batch(
    completions: list[str], references: list[dict], *, target: str = "en", threshold: float = 0.95, **_options
) -> list[Verdict]:
    """Options: target (en | zh | ...), threshold. Score = share of CoT words in the target language."""
    _same_length(completions, references)
    return [language_consistency(c, target, threshold=threshold) for c in completions]


def _checks(completions, references, options) -> list[dict[str, Verdict]]:
    _same_length(completions, references)
    return [
        readability_checks(c, finish_reason=(r or {}).get("finish_reason"), **options)
        for c, r in zip(completions, references)
    ]


@_meta(READABILITY_VERIFIER_VERSION, lambda o: "readability")
def readability_batch(completions: list[str], references: list[dict], **thresholds) -> list[Verdict]:
    """All readability checks combined: correct only when every check passes. details["checks"] holds each
    check's measured value and details["failed"] the names of the failed checks. Use the
    "readability.<check>" entries for one verdict per check."""
    return [combine(checks) for checks in _checks(completions, references, thresholds)]


def _readability_check(check: str):
    @_meta(READABILITY_VERIFIER_VERSION, lambda o: f"readability.{check}")
    def fn(completions, references, **thresholds):
        return [checks[check] for checks in _checks(completions, references, thresholds)]

    fn.__name__ = f"readability_{check}_batch"
    return fn


readability_mixed_language_batch = _readability_check("mixed_language")
readability_long_paragraph_batch = _readability_check("long_paragraph")
readability_code_in_cot_batch = _readability_check("code_in_cot")
readability_truncated_batch = _readability_check("truncated")
readability_repetition_batch = _readability_check("repetition")
assert {f"readability_{c}_batch" for c in CHECKS} <= set(globals())
