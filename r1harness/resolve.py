"""The one resolver for "package.module:attribute" strings (registries, generators, verifier paths)."""

from __future__ import annotations

import importlib
from typing import Any

from r1harness.errors import ConfigError


def resolve(target: str, *, what: str = "target", error: type[Exception] = ConfigError) -> Any:
    """Import `package.module` and return its `attribute` (dotted attributes allowed: `mod:Class.method`).

    A malformed string, a module that cannot be imported or a missing attribute raises `error` naming
    `what`, the string, and the part that is missing."""
    module_name, sep, attr = str(target).partition(":")
    if not sep or not module_name or not attr:
        raise error(f"{what} {target!r} is not of the form 'package.module:attribute'")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise error(f"{what} {target!r}: cannot import module {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise error(f"{what} {target!r}: module {module_name!r} has no attribute {attr!r}") from None
    return obj
