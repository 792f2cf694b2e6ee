"""The one config loader: frozen dataclasses built from YAML mappings, unknown keys rejected with the
closest valid key suggested, dotted overrides (`trl.learning_rate=1e-5`) applied in one place."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from r1harness.errors import ConfigError
from r1harness.yaml_files import load_yaml_text


def suggestions(unknown: Iterable[str], valid: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the unknown keys that are a likely typo of a valid one, else ''."""
    valid = [str(v) for v in valid]
    pairs = [(u, difflib.get_close_matches(str(u), valid, n=1)) for u in unknown]
    pairs = [(u, m[0]) for u, m in pairs if m]
    if not pairs:
        return ""
    if len(pairs) == 1:
        return f" (did you mean {pairs[0][1]!r}?)"
    return " (did you mean " + ", ".join(f"{m!r} for {u!r}" for u, m in pairs) + "?)"


def unknown_keys_error(
    where: str,
    unknown: Iterable[str],
    valid: Iterable[str],
    *,
    noun: str = "key(s)",
    label: str = "valid keys are",
    hint: str = "",
) -> ConfigError:
    """`WHERE: unknown key(s) ['lr'] (did you mean 'lr0'?); valid keys are [...]` (+ hint)."""
    unknown, valid = sorted(unknown), sorted(valid)
    prefix = f"{where}: " if where else ""
    guess = suggestions(unknown, valid)
    return ConfigError(f"{prefix}unknown {noun} {unknown}{guess}; {label} {valid}{hint}")


def check_keys(raw: Any, valid: Iterable[str], where: str, **message: str) -> None:
    """ConfigError unless `raw` is a mapping whose keys are all in `valid` (wording: unknown_keys_error)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    valid = set(valid)
    unknown = set(raw) - valid
    if unknown:
        raise unknown_keys_error(where, unknown, valid, **message)


def field_names(cls, exclude: Iterable[str] = ()) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)} - set(exclude)


def set_dotted(data: dict, key: str, value: Any) -> None:
    """`data["a"]["b"] = value` for key "a.b", creating mappings on the way."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {key}: {part} is not a mapping")
    node[parts[-1]] = value


def parse_overrides(pairs: Iterable[str] | None) -> dict[str, Any]:
    """`--set KEY=VALUE` pairs -> {KEY: VALUE}; values are YAML scalars (1e-5, true, [1, 2], null)."""
    out = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE (e.g. trl.learning_rate=1e-5), got {pair!r}")
        out[key.strip()] = load_yaml_text(raw)
    return out


def apply_overrides(data: dict, overrides: Mapping[str, Any] | None) -> dict:
    """Apply dotted-key overrides to `data` in place (defaults < file < overrides); returns `data`."""
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    return data


def build(
    cls,
    raw: Any,
    where: str,
    *,
    convert: Mapping[str, Callable[[Any, str], Any]] | None = None,
    exclude: Iterable[str] = (),
    **message: str,
):
    """`cls(**raw)` for a frozen dataclass: keys checked against its fields (minus `exclude`), each value
    under a key in `convert` passed through `convert[key](value, "WHERE.key")` (nested sections), and a
    constructor TypeError turned into a ConfigError naming `where`."""
    check_keys(raw, field_names(cls, exclude), where, **message)
    convert = convert or {}
    kwargs = {k: convert[k](v, f"{where}.{k}") if k in convert else v for k, v in raw.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
