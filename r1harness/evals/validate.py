"""`r1h validate`: check config files without loading a model or touching a store.

VALIDATORS is a plain dict: kind -> (default glob, relative to the repository, and "module:function").
The function takes a path and returns a list of problems (empty when the file is valid). Other config kinds
(pipeline configs, curation recipes) register by adding an entry, e.g.

    VALIDATORS["recipe"] = ("datasets/recipes/*.yaml", "r1harness.curate.recipe:validate_recipe_file")
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from r1harness.errors import ConfigError, R1HarnessError

REPO_ROOT = Path(__file__).resolve().parents[2]

VALIDATORS: dict[str, tuple[str, str]] = {
    "eval": ("evals/*.yaml", "r1harness.evals.validate:validate_eval_spec"),
}
VALIDATORS["pipeline"] = ("datasets/pipelines/*.yaml", "r1harness.pipeline.validate:validate_pipeline_file")
VALIDATORS["recipe"] = ("datasets/recipes/*.yaml", "r1harness.train.validate:validate_recipe_file")


@dataclass(frozen=True)
class Finding:
    kind: str
    path: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def validator(kind: str) -> Callable[[Path], list[str]]:
    if kind not in VALIDATORS:
        raise ConfigError(f"no validator for kind {kind!r}; kinds are {sorted(VALIDATORS)}")
    module, attr = VALIDATORS[kind][1].split(":")
    return getattr(importlib.import_module(module), attr)


def default_files(kind: str, root: Path | None = None) -> list[Path]:
    pattern = VALIDATORS[kind][0]
    base = root or (Path.cwd() if any(Path.cwd().glob(pattern)) else REPO_ROOT)
    return sorted(base.glob(pattern))


def validate_paths(paths: list[str] | None = None, kinds: list[str] | None = None) -> list[Finding]:
    """Validate `paths` (with the validator of `kinds[0]`, or guessed from the folder), or, with no paths,
    every default file of every kind."""
    kinds = kinds or list(VALIDATORS)
    jobs: list[tuple[str, Path]] = []
    if paths:
        for p in paths:
            path = Path(p)
            files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
            jobs += [(kinds[0] if len(kinds) == 1 else _guess_kind(f), f) for f in files]
    else:
        jobs = [(kind, f) for kind in kinds for f in default_files(kind)]
    return [Finding(kind, str(f), tuple(_run(kind, f))) for kind, f in jobs]


def _run(kind: str, path: Path) -> list[str]:
    if not path.exists():
        return [f"{path}: no such file"]
    try:
        return list(validator(kind)(path))
    except R1HarnessError as exc:
        return [str(exc)]


def _guess_kind(path: Path) -> str:
    for kind, (pattern, _) in VALIDATORS.items():
        if path.parent.name in (pattern.split("/")[0], Path(pattern).parent.name):
            return kind
    return "eval"


def validate_eval_spec(path: Path) -> list[str]:
    """A benchmark spec: parses; its template, verifier, dataset manifest and breakdown fields exist."""
    from r1harness.evals.spec import load_spec
    from r1harness.generate.templates import get_template

    spec = load_spec(path)  # raises ConfigError with the file and key
    problems = []
    try:
        get_template(spec.template)
    except ConfigError as exc:
        problems.append(f"{path}: template: {exc}")
    problems += _check_verifier(path, spec.verifier)
    problems += _check_dataset(path, spec)
    return problems


def _check_verifier(path: Path, name: str) -> list[str]:
    try:
        registry = importlib.import_module("r1harness.verify.registry")
    except ImportError:
        return []  # the verifier registry is not installed in this tree: nothing to check against
    known = getattr(registry, "VERIFIERS", None) or getattr(registry, "REGISTRY", None)
    if isinstance(known, dict):
        return (
            [] if name in known else [f"{path}: verifier {name!r} is not registered; known: {sorted(known)}"]
        )
    return []


def _check_dataset(path: Path, spec) -> list[str]:
    try:
        from r1harness.ingest import load_manifest
    except ImportError:
        return []
    try:
        manifest = load_manifest(spec.dataset)
    except ConfigError as exc:
        return [f"{path}: dataset: {exc}"]
    problems = []
    fields = set(manifest.metadata or [])
    missing = [b for b in spec.breakdowns if manifest.metadata is not None and b not in fields]
    if missing:
        problems.append(
            f"{path}: breakdowns {missing} are not metadata fields of manifest {manifest.name} "
            f"(it keeps {sorted(fields)})"
        )
    if manifest.verifier and manifest.verifier != spec.verifier:
        problems.append(
            f"{path}: verifier {spec.verifier!r} differs from manifest {manifest.name}'s "
            f"{manifest.verifier!r}; set them equal or explain in the spec"
        )
    return problems
