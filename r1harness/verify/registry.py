"""Verifier registry: name -> "module:attr" of a batch function `fn(completions, references, **options)`.

Resolved lazily so `import r1harness` stays light. Add an entry to register a verifier (additive edits).
A batch function may carry `version` (str) and `stored_name(options) -> str` attributes; `r1h verify` uses
them to skip rollouts already verified at that version.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from r1harness.errors import ConfigError

VERIFIERS: dict[str, str] = {
    "math": "r1harness.verify.math:verify_math_batch",
    "format": "r1harness.verify.batch:format_batch",  # options: layout, think_prefilled
    "format.r1zero": "r1harness.verify.batch:format_r1zero_batch",
    "format.coldstart": "r1harness.verify.batch:format_coldstart_batch",
    "format.r1": "r1harness.verify.batch:format_r1_batch",
    "language": "r1harness.verify.batch:language_batch",  # options: target, threshold
    "readability": "r1harness.verify.batch:readability_batch",  # combined: wrong if any check fails
    "readability.mixed_language": "r1harness.verify.batch:readability_mixed_language_batch",
    "readability.long_paragraph": "r1harness.verify.batch:readability_long_paragraph_batch",
    "readability.code_in_cot": "r1harness.verify.batch:readability_code_in_cot_batch",
    "readability.truncated": "r1harness.verify.batch:readability_truncated_batch",
    "readability.repetition": "r1harness.verify.batch:readability_repetition_batch",
    "code": "r1harness.verify.code:verify_code_batch",  # the sandbox client (owned by the sandbox work)
    "countdown": "r1harness.verify.countdown:verify_countdown_batch",
}


def get_verifier(name: str) -> Callable:
    """The batch function registered as `name`; a ConfigError listing the names when unknown."""
    target = VERIFIERS.get(name)
    if target is None:
        raise ConfigError(f"unknown verifier {name!r}; registered verifiers: {', '.join(sorted(VERIFIERS))}")
    module, attr = target.split(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"verifier {name!r} is registered as {target} but cannot be loaded: {exc}") from exc


def verifier_version(name: str) -> str | None:
    """The version a verifier stamps on its verdicts, when it declares one (None: unknown until it runs)."""
    fn = get_verifier(name)
    version = getattr(fn, "version", None)
    if version is None:
        module = importlib.import_module(fn.__module__)
        consts = [v for k, v in vars(module).items() if k.endswith("VERIFIER_VERSION") and isinstance(v, str)]
        version = consts[0] if len(consts) == 1 else None
    return version


def stored_name(name: str, options: dict | None = None) -> str:
    """The `rewards.verifier` value this verifier writes (e.g. "format" with layout=coldstart writes
    "format.coldstart")."""
    fn = get_verifier(name)
    namer = getattr(fn, "stored_name", None)
    return namer(options or {}) if namer else name
