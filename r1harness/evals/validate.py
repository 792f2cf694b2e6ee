"""Checks of a benchmark spec (`evals/*.yaml`) that need nothing outside evaluation's own layer.

`r1h validate` calls them through the registry of config kinds in r1harness/validate.py, which also checks
a spec against its dataset manifest.
"""

from __future__ import annotations

from pathlib import Path

from r1harness.errors import ConfigError
from r1harness.evals.spec import load_spec
from r1harness.templates import get_template
from r1harness.verify.registry import VERIFIERS


def validate_eval_spec(path: Path) -> list[str]:
    """A benchmark spec: parses; its template and verifier exist."""
    spec = load_spec(path)  # raises ConfigError with the file and key
    problems = []
    try:
        get_template(spec.template)
    except ConfigError as exc:
        problems.append(f"{path}: template: {exc}")
    problems += _check_verifier(path, spec.verifier)
    return problems


def _check_verifier(path: Path, name: str) -> list[str]:
    if name in VERIFIERS:
        return []
    return [f"{path}: verifier {name!r} is not registered; known: {sorted(VERIFIERS)}"]
