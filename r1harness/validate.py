"""`r1h validate`: check config files of every kind without loading a model or touching a store.

VALIDATORS maps a config kind to its default files (a glob relative to the repository) and its checker, a
function from a path to a list of problems (empty when the file is valid). The registry lives here, above
every package it names, so each checker stays in its own layer: benchmark specs in evals, curation recipes
in curate, training configs in train, pipeline configs in pipeline. Checks that span two packages (a spec
against its dataset manifest) are made here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from r1harness.curate.recipe import load_recipe
from r1harness.errors import ConfigError, R1HarnessError
from r1harness.evals.spec import load_spec
from r1harness.evals.validate import validate_eval_spec
from r1harness.ingest import load_manifest
from r1harness.paths import REPO_ROOT
from r1harness.pipeline.validate import validate_pipeline_file
from r1harness.train.validate import validate_training_file


def validate_recipe(path: Path) -> list[str]:
    """A curation recipe (datasets/recipes/): curation's own loader checks it."""
    load_recipe(path)
    return []


def validate_eval_file(path: Path) -> list[str]:
    """A benchmark spec: its own checks, then its breakdowns and verifier against its dataset manifest."""
    problems = validate_eval_spec(path)
    return problems + _check_dataset(path, load_spec(path))


VALIDATORS: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "eval": ("evals/*.yaml", validate_eval_file),
    "pipeline": ("datasets/pipelines/*.yaml", validate_pipeline_file),
    "recipe": ("datasets/recipes/*.yaml", validate_recipe),
    "training": ("datasets/training/*.yaml", validate_training_file),
}


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
    return VALIDATORS[kind][1]


def default_files(kind: str, root: Path | None = None) -> list[Path]:
    pattern = VALIDATORS[kind][0]
    base = root or (Path.cwd() if any(Path.cwd().glob(pattern)) else REPO_ROOT)
    return sorted(base.glob(pattern))


def validate_paths(paths: list[str] | None = None, kinds: list[str] | None = None) -> list[Finding]:
    """Validate `paths` (with the validator of `kinds[0]`, or guessed from the folder), or, with no paths,
    every default file of every kind."""
    kinds = kinds or list(VALIDATORS)
    for kind in kinds:
        validator(kind)  # an unknown kind fails before any file is read
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


def _check_dataset(path: Path, spec) -> list[str]:
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
