"""Curation recipes: frozen dataclasses read from `datasets/recipes/<name>.yaml`.

A recipe says everything a set build depends on (sources, filters, caps, quotas, dedup, decontamination,
general-data policy, output layout), so a set can be rebuilt from the recipe stored with it. Unknown keys and
unknown filters are rejected here, before any work starts.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from r1harness.configs import build, check_keys, field_names, unknown_keys_error
from r1harness.errors import ConfigError
from r1harness.paths import REPO_ROOT
from r1harness.yaml_files import read_yaml_mapping, resolve_named_yaml

RECIPE_DIR = REPO_ROOT / "datasets" / "recipes"
GENERAL = "general"

# filter name -> (parameter defaults, default scope). Scope: which rows it applies to.
FILTER_DEFAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "correct": ({"verifiers": ["math", "code"], "min_score": 1.0}, "reasoning"),
    "not_truncated": ({}, "all"),
    "length": ({"min_chars": 1, "max_chars": 100_000}, "all"),
    "mixed_language": ({"max_other_language_share": 0.05}, "reasoning"),
    "long_paragraph": ({"max_chars": 3000}, "reasoning"),
    "code_in_cot": ({"max_code_blocks": 0}, "reasoning"),
    "repetition": ({"ngram": 10, "max_repeated_ngram_share": 0.3}, "reasoning"),
    "accepted": ({"annotator": None}, "all"),
}
# Readability filters measure what r1harness.verify.readability measures; their values are read from
# `rewards` rows (verifier readability.<name>, details.value) when present and computed otherwise.
READABILITY_FILTERS = {
    "not_truncated": "truncated",
    "mixed_language": "mixed_language",
    "long_paragraph": "long_paragraph",
    "code_in_cot": "code_in_cot",
    "repetition": "repetition",
}
SCOPES = ("reasoning", "general", "all")
LAYOUTS = ("think", "cold_start", "plain")


def _check_keys(raw: dict, allowed: set[str], where: str) -> None:
    check_keys(raw, allowed, where, label="allowed keys are")


@dataclass(frozen=True)
class FilterSpec:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    scope: str = "all"

    def __post_init__(self):
        if self.name not in FILTER_DEFAULTS:
            raise ConfigError(
                f"filters: unknown filter {self.name!r}; known filters: {sorted(FILTER_DEFAULTS)}"
            )
        defaults, _ = FILTER_DEFAULTS[self.name]
        unknown = set(self.params) - set(defaults)
        if unknown:  # `scope` is taken out of the parameters by _filters
            where = f"filters.{self.name}"
            raise unknown_keys_error(
                where, unknown, {*defaults, "scope"}, noun="parameter(s)", label="it takes"
            )
        if self.scope not in SCOPES:
            raise ConfigError(f"filters.{self.name}.scope must be one of {SCOPES}, not {self.scope!r}")

    def get(self, key: str) -> Any:
        return self.params.get(key, FILTER_DEFAULTS[self.name][0][key])


@dataclass(frozen=True)
class Quota:
    group: str
    count: int
    domains: tuple[str, ...]

    def __post_init__(self):
        if not isinstance(self.count, int) or self.count < 0:
            raise ConfigError(f"quotas.{self.group}.count must be a non-negative integer, got {self.count!r}")
        if not self.domains:
            raise ConfigError(f"quotas.{self.group}.domains must list at least one domain")


@dataclass(frozen=True)
class NearDedup:
    fields: tuple[str, ...] = ("prompt", "completion")
    threshold: float = 0.8  # estimated Jaccard of word shingles at or above which two texts are dups
    num_perm: int = 64  # signature length (one-permutation hashing bins)
    bands: int = 16  # LSH bands; rows per band = num_perm // bands
    shingle: int = 5  # words per shingle

    def __post_init__(self):
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"dedup.near.threshold must be in (0, 1], got {self.threshold}")
        if self.num_perm % self.bands:
            raise ConfigError(
                f"dedup.near.num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})"
            )
        _check_fields(self.fields, "dedup.near.fields")


@dataclass(frozen=True)
class Dedup:
    exact: tuple[str, ...] = ("prompt", "completion")
    near: NearDedup | None = field(default_factory=NearDedup)

    def __post_init__(self):
        _check_fields(self.exact, "dedup.exact")


@dataclass(frozen=True)
class Decontamination:
    ngram: int = 8
    fields: tuple[str, ...] = ("prompt", "completion")
    benchmarks: tuple[str, ...] | str = "registered"  # "registered" = every spec in evals/ (decontam.py)

    def __post_init__(self):
        if self.ngram < 3:
            raise ConfigError(f"decontamination.ngram must be >= 3 (8 is the standard), got {self.ngram}")
        _check_fields(self.fields, "decontamination.fields")


@dataclass(frozen=True)
class GeneralPolicy:
    """R1's policy for simple (non-reasoning) prompts: answer without a chain of thought."""

    simple_prompt_max_words: int = 12  # prompts this short count as simple
    simple_think: str = "drop"  # drop | keep: the <think> block of a simple prompt's answer

    def __post_init__(self):
        if self.simple_think not in ("drop", "keep"):
            raise ConfigError(f"general.simple_think must be drop or keep, got {self.simple_think!r}")


@dataclass(frozen=True)
class Output:
    layout: str = "think"  # think: <think>..</think> answer | cold_start: R1's readable layout
    special_token: str = "|special_token|"
    system_prompt: str | None = None

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise ConfigError(f"output.layout must be one of {LAYOUTS}, got {self.layout!r}")


def _check_fields(fields_: tuple[str, ...], where: str) -> None:
    bad = [f for f in fields_ if f not in ("prompt", "completion")]
    if bad:
        raise ConfigError(f"{where}: {bad} not understood; use prompt and/or completion")


@dataclass(frozen=True)
class Recipe:
    name: str
    source: str = "SELECT * FROM rollouts"  # any store query yielding rollouts columns (rollout_id needed)
    filters: tuple[FilterSpec, ...] = ()
    per_prompt: int = 1
    quotas: tuple[Quota, ...] = ()
    dedup: Dedup = field(default_factory=Dedup)
    decontamination: Decontamination | None = field(default_factory=Decontamination)
    general: GeneralPolicy = field(default_factory=GeneralPolicy)
    output: Output = field(default_factory=Output)
    seed: int = 0
    description: str = ""
    origin: str = ""

    def __post_init__(self):
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(
                f"recipe name must be a plain identifier (letters, digits, - and _), got {self.name!r}"
            )
        if self.per_prompt < 1:
            raise ConfigError(f"per_prompt must be >= 1, got {self.per_prompt}")
        if not self.quotas:
            raise ConfigError(f"recipe {self.name}: quotas must name at least one group with a count")
        seen: dict[str, str] = {}
        for q in self.quotas:
            for d in q.domains:
                if d in seen:
                    raise ConfigError(f"quotas: domain {d!r} is in both {seen[d]!r} and {q.group!r}")
                seen[d] = q.group

    @property
    def domains(self) -> list[str]:
        return [d for q in self.quotas for d in q.domains]

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain data (what is stored with the set, and what `from_dict` reads back)."""
        out = asdict(self)
        out.pop("origin")
        out["filters"] = {f.name: {**f.params, "scope": f.scope} for f in self.filters}
        out["quotas"] = {q.group: {"count": q.count, "domains": list(q.domains)} for q in self.quotas}
        if self.decontamination is None:
            out["decontamination"] = False
        if self.dedup.near is None:
            out["dedup"]["near"] = False
        return out


RECIPE_KEYS = field_names(Recipe, exclude={"origin"})


def _filters(raw: Any) -> tuple[FilterSpec, ...]:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError("filters: expected a mapping of filter name -> parameters")
    out = []
    for name, params in raw.items():
        params = dict(params or {})
        scope = params.pop("scope", FILTER_DEFAULTS.get(name, ({}, "all"))[1])
        out.append(FilterSpec(name, params, scope))
    return tuple(out)


def _quotas(raw: Any) -> tuple[Quota, ...]:
    if not isinstance(raw, dict):
        raise ConfigError("quotas: expected a mapping of group -> {count, domains}")
    out = []
    for group, spec in raw.items():
        _check_keys(spec, field_names(Quota, exclude={"group"}), f"quotas.{group}")
        domains = spec.get("domains", [group])
        out.append(Quota(group, spec.get("count"), tuple([domains] if isinstance(domains, str) else domains)))
    return tuple(out)


def _dedup(raw: Any) -> Dedup:
    raw = {} if raw is None else raw
    _check_keys(raw, field_names(Dedup), "dedup")
    near_raw = raw.get("near", {})
    near = None
    if near_raw is not False and near_raw is not None:
        _check_keys(near_raw, field_names(NearDedup), "dedup.near")
        near = NearDedup(**{k: tuple(v) if k == "fields" else v for k, v in near_raw.items()})
    return Dedup(exact=tuple(raw.get("exact", ("prompt", "completion"))), near=near)


def _decontam(raw: Any) -> Decontamination | None:
    if raw is False:
        return None
    raw = {} if raw is None else raw
    _check_keys(raw, field_names(Decontamination), "decontamination")
    kw = dict(raw)
    if "fields" in kw:
        kw["fields"] = tuple(kw["fields"])
    if isinstance(kw.get("benchmarks"), list):
        kw["benchmarks"] = tuple(kw["benchmarks"])
    return Decontamination(**kw)


def _section(cls, raw: Any, where: str):
    return build(cls, raw or {}, where, label="allowed keys are")


def recipe_from_dict(raw: dict[str, Any], origin: str = "") -> Recipe:
    where = origin or "recipe"
    _check_keys(raw, RECIPE_KEYS, where)
    try:
        return Recipe(
            name=raw.get("name") or Path(origin).stem,
            source=raw.get("source", Recipe.source),
            filters=_filters(raw.get("filters")),
            per_prompt=int(raw.get("per_prompt", 1)),
            quotas=_quotas(raw.get("quotas")),
            dedup=_dedup(raw.get("dedup")),
            decontamination=_decontam(raw.get("decontamination")),
            general=_section(GeneralPolicy, raw.get("general"), "general"),
            output=_section(Output, raw.get("output"), "output"),
            seed=int(raw.get("seed", 0)),
            description=raw.get("description", ""),
            origin=origin,
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_recipe(name_or_path: str | os.PathLike) -> Recipe:
    """Load `datasets/recipes/<name>.yaml` by name, or a recipe file by path."""
    path = resolve_named_yaml(name_or_path, RECIPE_DIR, kind="recipe", known_label="recipes here")
    raw = read_yaml_mapping(path, "a recipe")
    return recipe_from_dict(raw, origin=str(path))
