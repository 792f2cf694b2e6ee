"""Benchmark specs: one YAML file per benchmark in `evals/`, loaded into a frozen `EvalSpec`.

name: aime24
version: 1                 # bump on any change that can move a number; stamped on every result
dataset: aime24            # the dataset manifest (datasets/aime24.yaml); ingested when missing
template: r1-math@1        # prompt template name@version (r1harness/templates.py)
verifier: math             # verifier registry name (r1harness/verify/registry.py)
n: 64                      # samples per problem
k: [1, 4, 16, 64]          # pass@k values (each <= n)
cons: [64]                 # cons@k values (majority vote over the first k samples)
sampling: {temperature: 0.6, top_p: 0.95, max_tokens: 32768}
breakdowns: [subject, level]   # prompt metadata fields to report pass@1 by
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1harness.configs import check_keys, field_names
from r1harness.errors import ConfigError
from r1harness.generate.backend import SamplingParams
from r1harness.paths import REPO_ROOT
from r1harness.store.ids import canonical_json, content_id
from r1harness.yaml_files import read_yaml_mapping, resolve_named_yaml


def evals_dir() -> Path:
    """Where specs live: $R1H_EVALS_DIR, else ./evals, else the repository's evals/."""
    env = os.environ.get("R1H_EVALS_DIR")
    if env:
        return Path(env)
    local = Path("evals")
    return local if local.is_dir() and any(local.glob("*.yaml")) else REPO_ROOT / "evals"


@dataclass(frozen=True)
class EvalSpec:
    name: str
    version: int
    dataset: str
    template: str
    verifier: str
    n: int = 1
    k: tuple[int, ...] = (1,)
    cons: tuple[int, ...] = ()
    sampling: SamplingParams = field(default_factory=SamplingParams)
    breakdowns: tuple[str, ...] = ()
    verifier_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    max_infra_failure_rate: float = 0.02
    rating: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    origin: str = ""

    def __post_init__(self):
        where = self.origin or self.name
        if self.version < 1:
            raise ConfigError(f"{where}: version must be a positive integer, got {self.version}")
        if self.n < 1:
            raise ConfigError(f"{where}: n (samples per problem) must be >= 1, got {self.n}")
        for name, values in (("k", self.k), ("cons", self.cons)):
            bad = [v for v in values if not 1 <= v <= self.n]
            if bad:
                raise ConfigError(
                    f"{where}: {name} values {bad} must lie in 1..n (n={self.n}); raise n or drop them"
                )
        if 1 not in self.k:
            raise ConfigError(f"{where}: k must include 1 (pass@1 is the headline metric)")
        if not 0 <= self.max_infra_failure_rate <= 1:
            raise ConfigError(f"{where}: max_infra_failure_rate must be in [0, 1]")
        if self.verifier == "math":
            from r1harness.verify.extract import PRESETS

            if self.extract not in PRESETS:
                raise ConfigError(
                    f"{where}: verifier_options.extract {self.extract!r} is no extraction preset; "
                    f"choose from {', '.join(PRESETS)}"
                )

    @property
    def extract(self) -> str:
        """The math answer-extraction preset (verifier_options.extract; r1 when unset): part of the protocol
        and of the verifier version stamped on each verdict."""
        return str(self.verifier_options.get("extract", "r1"))

    @property
    def benchmark_version(self) -> str:
        return f"v{self.version}"

    def with_overrides(self, *, n: int | None = None, max_tokens: int | None = None) -> EvalSpec:
        """A copy with n / max_tokens changed. With a smaller n, k and cons values above it become n
        (e.g. the AIME spec's cons@64 becomes cons@8 with n=8); the new protocol is stamped on results."""
        from dataclasses import replace

        spec = self
        if max_tokens is not None:
            spec = replace(spec, sampling=replace(spec.sampling, max_tokens=max_tokens))
        if n is not None:
            spec = replace(
                spec,
                n=n,
                k=tuple(sorted({min(v, n) for v in spec.k})),
                cons=tuple(sorted({min(v, n) for v in spec.cons})),
            )
        return spec

    def protocol(self) -> dict[str, Any]:
        """Everything that decides the numbers; stamped as JSON on every eval result."""
        return {
            "benchmark": self.name,
            "version": self.version,
            "dataset": self.dataset,
            "template": self.template,
            "verifier": self.verifier,
            "verifier_options": self.verifier_options,
            "n": self.n,
            "k": list(self.k),
            "cons": list(self.cons),
            "sampling": self.sampling.to_dict(),
            "seed": self.seed,
        }

    def protocol_id(self) -> str:
        return content_id("protocol", self.protocol())[:12]


# The keys a spec file may have: the fields, and free-text notes.
SPEC_KEYS = field_names(EvalSpec, exclude={"origin"}) | {"notes"}


def load_spec(name_or_path: str | os.PathLike) -> EvalSpec:
    path = resolve_named_yaml(name_or_path, evals_dir(), kind="benchmark spec", known_label="known")
    raw = read_yaml_mapping(path, "a benchmark spec")
    return spec_from_dict(raw, origin=str(path), default_name=path.stem)


def spec_from_dict(raw: dict[str, Any], *, origin: str = "", default_name: str = "") -> EvalSpec:
    where = origin or default_name or "spec"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a benchmark spec is a YAML mapping")
    check_keys(raw, SPEC_KEYS, where, label="spec keys are")
    missing = [k for k in ("version", "dataset", "template", "verifier") if k not in raw]
    if missing:
        raise ConfigError(f"{where}: missing required key(s) {missing}")
    try:
        sampling = SamplingParams.from_dict(raw.get("sampling"))
    except ConfigError as exc:
        raise ConfigError(f"{where}: sampling: {exc}") from None
    try:
        return EvalSpec(
            name=str(raw.get("name") or default_name),
            version=int(raw["version"]),
            dataset=str(raw["dataset"]),
            template=str(raw["template"]),
            verifier=str(raw["verifier"]),
            n=int(raw.get("n", 1)),
            k=_ints(raw.get("k", [1]), where, "k"),
            cons=_ints(raw.get("cons", []), where, "cons"),
            sampling=sampling,
            breakdowns=tuple(raw.get("breakdowns") or ()),
            verifier_options=dict(raw.get("verifier_options") or {}),
            seed=int(raw.get("seed", 0)),
            max_infra_failure_rate=float(raw.get("max_infra_failure_rate", 0.02)),
            rating=dict(raw.get("rating") or {}),
            description=str(raw.get("description", "")),
            origin=origin,
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{where}: {exc}") from None


def list_specs() -> list[EvalSpec]:
    return [load_spec(p) for p in sorted(evals_dir().glob("*.yaml"))]


def _ints(value: Any, where: str, key: str) -> tuple[int, ...]:
    values = [value] if isinstance(value, int) else value
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, int) for v in values):
        raise ConfigError(f"{where}: {key} must be a list of integers, got {value!r}")
    return tuple(sorted(set(values)))


__all__ = ["EvalSpec", "load_spec", "list_specs", "spec_from_dict", "evals_dir", "canonical_json"]
