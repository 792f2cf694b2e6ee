"""Command-line options of the service, shared by `r1h sandbox serve` and `python -m
r1harness.sandbox.server`; kept apart from the server so that building the `r1h` parser stays cheap."""

from __future__ import annotations

import argparse
from pathlib import Path

from r1harness.sandbox.limits import ServiceConfig

DEFAULT_PORT = 8731


def add_serve_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    ap.add_argument(
        "--slots",
        type=int,
        default=None,
        help="concurrent sandboxes (default: limits.yaml, else the cores; capped at the cores)",
    )
    ap.add_argument(
        "--queue", type=int, default=None, help="requests inside the service before 429 (default 1024)"
    )
    ap.add_argument("--config", default=None, help="limits YAML (default: sandbox/limits.yaml when present)")
    ap.add_argument("--port-file", default=None, help="write the URL here once listening")
    ap.add_argument(
        "--no-cgroups",
        action="store_true",
        help="no per-slot cgroups even where possible: memory is then watched by polling RSS + tmpfs "
        "(MemoryWatch) and processes limited by RLIMIT_NPROC",
    )


def config_from_args(args) -> ServiceConfig:
    import dataclasses
    import os

    path = args.config or _default_config_path()
    config = ServiceConfig.from_yaml(path) if path else ServiceConfig(slots=os.cpu_count() or 1)
    if args.slots is not None:
        config = dataclasses.replace(config, slots=args.slots)
    if args.queue is not None:
        config = dataclasses.replace(config, queue_size=args.queue)
    if getattr(args, "no_cgroups", False):
        config = dataclasses.replace(config, use_cgroups=False)
    return config


def _default_config_path() -> str | None:
    path = Path(__file__).resolve().parents[2] / "sandbox" / "limits.yaml"
    return str(path) if path.exists() else None
