"""Resource limits for one sandboxed run, and the service's defaults (sandbox/limits.yaml)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from r1harness.configs import check_keys, field_names
from r1harness.errors import ConfigError

MAX_TIME_LIMIT_S = 60.0
MAX_MEMORY_LIMIT_MB = 8192


@dataclass(frozen=True)
class Limits:
    """Limits for one run. Time is CPU time (RLIMIT_CPU plus a measured check); wall time is a backstop
    for sleeping or blocked programs. Memory is memory (the slot's memory cgroup, else the launcher's
    MemoryWatch: resident anonymous memory plus tmpfs use), never address space."""

    time_limit_s: float = 2.0
    wall_limit_s: float | None = None  # default: 2 x time_limit_s + 1 s
    memory_limit_mb: int = 512
    output_limit_bytes: int = 16 * 1024 * 1024  # stdout; past it the run is killed -> output_limit
    stderr_limit_bytes: int = 1024 * 1024  # kept; the rest is dropped and flagged, never a failure
    max_processes: int = 32  # RLIMIT_NPROC for the slot's uid
    max_file_mb: int = 64  # RLIMIT_FSIZE
    max_open_files: int = 64  # RLIMIT_NOFILE
    tmpfs_mb: int = 64  # size of the private writable /tmp

    def __post_init__(self):
        if not 0 < self.time_limit_s <= MAX_TIME_LIMIT_S:
            raise ConfigError(f"time_limit_s must be in (0, {MAX_TIME_LIMIT_S}], got {self.time_limit_s}")
        if self.wall_limit_s is not None and self.wall_limit_s < self.time_limit_s:
            raise ConfigError(
                f"wall_limit_s ({self.wall_limit_s}) must be >= time_limit_s ({self.time_limit_s})"
            )
        if not 16 <= self.memory_limit_mb <= MAX_MEMORY_LIMIT_MB:
            raise ConfigError(
                f"memory_limit_mb must be in [16, {MAX_MEMORY_LIMIT_MB}], got {self.memory_limit_mb}"
            )
        for name in (
            "output_limit_bytes",
            "stderr_limit_bytes",
            "max_processes",
            "max_file_mb",
            "max_open_files",
            "tmpfs_mb",
        ):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")

    @property
    def wall_s(self) -> float:
        return self.wall_limit_s if self.wall_limit_s is not None else 2 * self.time_limit_s + 1.0

    @property
    def cpu_rlimit_s(self) -> int:
        return int(math.ceil(self.time_limit_s)) + 1

    def with_overrides(self, **overrides: Any) -> Limits:
        clean = {k: v for k, v in overrides.items() if v is not None}
        check_keys(clean, field_names(Limits), "", noun="limit(s)", label="known:")
        return replace(self, **clean)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Compiling C++ needs more room than running the result.
COMPILE_LIMITS = Limits(
    time_limit_s=30.0,
    wall_limit_s=60.0,
    memory_limit_mb=2048,
    max_processes=64,
    max_file_mb=256,
    max_open_files=256,
    tmpfs_mb=256,
)


@dataclass(frozen=True)
class ServiceConfig:
    """What `r1h sandbox serve` runs with; loaded from sandbox/limits.yaml or --config."""

    slots: int = 2
    queue_size: int = 1024  # requests waiting for a slot before new ones get 429
    queue_wait_s: float = 120.0  # a request waits at most this long for a slot, then 503 + Retry-After
    submission_budget_s: float = 60.0  # wall time for all tests of one submission (tests past it: timeout)
    cache_entries: int = 4096
    max_tests: int = 1000
    max_source_bytes: int = 1024 * 1024
    max_request_bytes: int = 64 * 1024 * 1024
    use_cgroups: bool = True  # per-slot cgroups where writable (kernel-charged memory); else MemoryWatch
    run: Limits = Limits()
    compile: Limits = COMPILE_LIMITS

    def __post_init__(self):
        if self.slots < 1:
            raise ConfigError(f"slots must be >= 1, got {self.slots}")
        if self.queue_size < 0:
            raise ConfigError(f"queue_size must be >= 0, got {self.queue_size}")
        if not self.queue_wait_s > 0 or not self.submission_budget_s > 0:
            raise ConfigError(
                f"queue_wait_s and submission_budget_s must be > 0 seconds, got {self.queue_wait_s}, "
                f"{self.submission_budget_s}"
            )

    @classmethod
    def from_yaml(cls, path: str | Path) -> ServiceConfig:
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read sandbox config: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping at top level")
        check_keys(data, field_names(cls), str(path), label="known:")
        try:
            run = Limits().with_overrides(**(data.pop("run", None) or {}))
            comp = COMPILE_LIMITS.with_overrides(**(data.pop("compile", None) or {}))
            return cls(run=run, compile=comp, **data)
        except (ConfigError, TypeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
