"""Verifier registry: name -> "module:attr" of a batch function `fn(completions, references, **options)`.

Resolved lazily so `import r1harness` stays light. Add an entry to register a verifier (additive edits).
A batch function may carry `version` (str) and `stored_name(options) -> str` attributes: the identity
(verifier, version) its verdicts are stored under, which r1harness.scoring uses to skip rollouts already
verified at that version and to name a verifier that crashed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from r1harness.errors import ConfigError
from r1harness.resolve import resolve

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
    "final_number": "r1harness.verify.final_number:verify_final_number_batch",  # arithmetic, format-blind
}


def get_verifier(name: str) -> Callable:
    """The batch function registered as `name`; a ConfigError listing the names when unknown."""
    target = VERIFIERS.get(name)
    if target is None:
        raise ConfigError(f"unknown verifier {name!r}; registered verifiers: {', '.join(sorted(VERIFIERS))}")
    return resolve(target, what=f"verifier {name!r} is registered as")


def declared_version(fn: Callable, options: dict | None = None) -> str | None:
    """The version `fn` stamps on its verdicts with `options`: its `version_for(options)` when it has one
    (math: the extraction preset is part of the version), else its `version` attribute, else the one
    `*VERIFIER_VERSION` constant of its module (None when it declares neither: unknown until it runs)."""
    version_for = getattr(fn, "version_for", None)
    if version_for is not None:
        return version_for(options or {})
    version = getattr(fn, "version", None)
    if version is None:
        module = importlib.import_module(fn.__module__)
        consts = [v for k, v in vars(module).items() if k.endswith("VERIFIER_VERSION") and isinstance(v, str)]
        version = consts[0] if len(consts) == 1 else None
    return version


def declared_name(fn: Callable, name: str, options: dict | None = None) -> str | None:
    """The `rewards.verifier` value `fn`, called as `name` with `options`, writes: its `stored_name(options)`
    (e.g. "format" with layout=coldstart writes "format.coldstart"), else `name`. None for a
    "module:attr" path without a stored_name: such a locator is no name, the verdicts name themselves."""
    namer = getattr(fn, "stored_name", None)
    if namer is not None:
        return namer(options or {})
    return None if ":" in name else name


def verifier_version(name: str, options: dict | None = None) -> str | None:
    """The version a registered verifier stamps on its verdicts (with `options`), when it declares one."""
    return declared_version(get_verifier(name), options)


def stored_name(name: str, options: dict | None = None) -> str:
    """The `rewards.verifier` value the registered verifier `name` writes with `options`."""
    return declared_name(get_verifier(name), name, options) or name
