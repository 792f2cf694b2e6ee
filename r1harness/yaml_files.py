"""Loading the YAML files r1harness is configured by (manifests, recipes, training and pipeline configs),
with errors that say the fix."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from r1harness.errors import ConfigError


class _Loader(yaml.SafeLoader):
    """safe_load, except that 1e-5 is a float (YAML 1.1 wants 1.0e-5, which nobody types)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_yaml_text(text: str):
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


def resolve_named_yaml(name_or_path: str | os.PathLike, folder: Path, *, kind: str, known_label: str) -> Path:
    """`folder/<name>.yaml` for a bare name, else the path itself; a missing file lists the known names."""
    path = Path(name_or_path)
    if not path.suffix:
        path = folder / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError(f"no {kind} {str(name_or_path)!r} (looked for {path}); {known_label}: {known}")
    return path


def read_yaml_mapping(path: Path, what: str) -> dict:
    """The YAML file at `path` as a dict (empty file -> {}); ConfigError for a missing file, invalid YAML
    (with its line) or a non-mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist ({what} was expected there)")
    try:
        raw = load_yaml_text(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{line} invalid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {what} is a YAML mapping")
    return raw
