"""Dataset manifests (`datasets/<name>.yaml`): where a dataset comes from and how its fields map.

name: aime24
version: 1
domain: math            # math | code | science | general
split: test
verifier: math
source:
  path: "{data}/aime24/aime24.jsonl"     # {data} = the benchmark data folder (r1harness/paths.py)
  hub: {id: HuggingFaceH4/aime_2024, split: train, revision: main}
  # or: generator: "r1harness.tasks.arithmetic:generate", params: {n: 100, seed: 0}
fields: {problem: problem, answer: answer}   # prompts column <- source column
normalize: {answer: [integer]}               # see normalize.NORMALIZERS
metadata: [id, url]                          # source columns kept in `metadata` (default: all others)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1harness.configs import check_keys, field_names
from r1harness.errors import ConfigError
from r1harness.ingest.normalize import NORMALIZERS
from r1harness.paths import REPO_ROOT, data_dir
from r1harness.yaml_files import read_yaml_mapping, resolve_named_yaml

DOMAINS = ("math", "code", "science", "general")
MAPPABLE = ("problem", "answer", "tests")
SOURCE_KEYS = {"path", "hub", "generator", "params"}
MANIFEST_DIR = REPO_ROOT / "datasets"


@dataclass(frozen=True)
class Manifest:
    name: str
    domain: str = "math"
    split: str | None = None
    verifier: str | None = None
    version: int = 1
    description: str = ""
    source: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    normalize: dict[str, list[str]] = field(default_factory=dict)
    metadata: list[str] | None = None
    notes: str = ""
    origin: str = ""  # the file the manifest was read from

    def __post_init__(self):
        where = self.origin or self.name
        if not self.name or not str(self.name).replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"{where}: name must be a plain identifier, got {self.name!r}")
        if self.domain not in DOMAINS:
            raise ConfigError(f"{where}: domain must be one of {DOMAINS}, got {self.domain!r}")
        check_keys(self.source, SOURCE_KEYS, where, noun="source key(s)", label="use")
        for key in self.fields:
            if key not in MAPPABLE:
                raise ConfigError(f"{where}: fields.{key} is not a prompts field; map one of {MAPPABLE}")
        for key, names in self.normalize.items():
            for n in names:
                if n not in NORMALIZERS:
                    raise ConfigError(
                        f"{where}: normalize.{key}: unknown normaliser {n!r}; known: {sorted(NORMALIZERS)}"
                    )

    @property
    def local_path(self) -> Path | None:
        path = self.source.get("path")
        return Path(str(path).format(data=data_dir())) if path else None


MANIFEST_KEYS = field_names(Manifest, exclude={"origin"})


def load_manifest(name_or_path: str | os.PathLike) -> Manifest:
    """Load `datasets/<name>.yaml` by name, or a manifest file by path."""
    path = resolve_named_yaml(name_or_path, MANIFEST_DIR, kind="manifest", known_label="known manifests")
    raw = read_yaml_mapping(path, "a manifest")
    check_keys(raw, MANIFEST_KEYS, str(path), label="manifest keys are")
    normalize = {k: [v] if isinstance(v, str) else list(v) for k, v in (raw.get("normalize") or {}).items()}
    return Manifest(
        name=raw.get("name") or path.stem,
        domain=raw.get("domain", "math"),
        split=raw.get("split"),
        verifier=raw.get("verifier"),
        version=int(raw.get("version", 1)),
        description=raw.get("description", ""),
        source=raw.get("source") or {},
        fields=raw.get("fields") or {},
        normalize=normalize,
        metadata=raw.get("metadata"),
        notes=raw.get("notes", ""),
        origin=str(path),
    )


def list_manifests() -> list[Manifest]:
    return [load_manifest(p) for p in sorted(MANIFEST_DIR.glob("*.yaml"))]
