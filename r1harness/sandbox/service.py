"""The sandbox service's logic, without HTTP: run, judge, batch, Piston execute, capabilities."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from r1harness.sandbox import cgroups
from r1harness.sandbox import judge as jg
from r1harness.sandbox.comparators import COMPARATORS
from r1harness.sandbox.isolation import describe
from r1harness.sandbox.languages import LANGUAGES, resolve
from r1harness.sandbox.limits import ServiceConfig
from r1harness.sandbox.requests import RequestError, parse_judge, parse_run
from r1harness.sandbox.slots import Admission, SlotPool, probe_isolation

log = logging.getLogger("r1harness.sandbox")
VERSION = "1"
CACHE_ITEM_MAX_BYTES = 64 * 1024  # bounds the cache's memory: entries x 64 KB at most


BASE_PREFIX = "r1h-sandbox-"


def _base_dir() -> tuple[str, int]:
    """Session directories live on tmpfs (/dev/shm) when it is writable. The directory holds a lock
    for the service's lifetime, so a later service can tell (and remove) what a killed one left."""
    parent = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
    _remove_stale(parent)
    base = tempfile.mkdtemp(prefix=BASE_PREFIX, dir=parent)
    os.chmod(base, 0o711)  # slot uids may traverse, not list
    lock = os.open(os.path.join(base, ".lock"), os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    return base, lock


def _remove_stale(parent: str) -> None:
    for name in os.listdir(parent):
        path = os.path.join(parent, name)
        if not name.startswith(BASE_PREFIX) or not os.path.isdir(path):
            continue
        try:
            fd = os.open(os.path.join(path, ".lock"), os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live service holds it
        finally:
            os.close(fd)
        log.warning("removing %s left by a sandbox service that did not shut down cleanly", path)
        shutil.rmtree(path, ignore_errors=True)
        cgroups.remove_stale(name)


class LRUCache:
    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                self.hits += 1
                return self.data[key]
            self.misses += 1
            return None

    def put(self, key: str, value) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


class SandboxService:
    def __init__(self, config: ServiceConfig | None = None):
        self.config = _bounded_by_cores(config or ServiceConfig())
        self.base, self._lock = _base_dir()
        try:
            self.isolation = probe_isolation(self.base, self.config.use_cgroups)
            (log.info if self.isolation.safe else log.warning)(describe(self.isolation))
            self.pool = SlotPool(self.config.slots, self.isolation, self.base)
        except BaseException:
            shutil.rmtree(self.base, ignore_errors=True)
            os.close(self._lock)
            raise
        self.admission = Admission(self.config.slots + self.config.queue_size)
        self.cache = LRUCache(self.config.cache_entries)
        self.batch_pool = ThreadPoolExecutor(max_workers=self.config.slots, thread_name_prefix="batch")
        self.stats = {"judged": 0, "runs": 0, "sandbox_errors": 0}

    def close(self) -> None:
        self.batch_pool.shutdown(wait=True)
        self.pool.close()
        shutil.rmtree(self.base, ignore_errors=True)
        os.close(self._lock)

    # --- endpoints -------------------------------------------------------------------------------
    def run(self, body: Any) -> dict[str, Any]:
        language, source, stdin, limits = parse_run(body, self.config)
        with self.pool.acquire() as slot:
            try:
                res = jg.run_once(slot, language, source, stdin, limits, self.config.compile)
            except jg.SlotError as exc:
                self.stats["sandbox_errors"] += 1
                res = {**jg._compile_error_run(str(exc)), "status": "sandbox_error"}
        self.stats["runs"] += 1
        return res

    def judge(self, body: Any, where: str = "") -> dict[str, Any]:
        return self._judge_parsed(parse_judge(body, self.config, where))

    def _judge_parsed(self, req) -> dict[str, Any]:
        key = req.cache_key()
        hit = self.cache.get(key)
        if hit is not None:
            return {**hit, "cached": True}
        with self.pool.acquire() as slot:
            try:
                res = jg.judge(slot, req, self.config.compile)
            except jg.SlotError as exc:
                res = {
                    "verdict": "sandbox_error",
                    "passed": 0,
                    "total": len(req.tests),
                    "pass_fraction": 0.0,
                    "tests": [],
                    "error": str(exc),
                }
        self.stats["judged"] += 1
        if res["verdict"] == "sandbox_error":
            self.stats["sandbox_errors"] += 1
        elif len(json.dumps(res)) <= CACHE_ITEM_MAX_BYTES:
            self.cache.put(key, res)  # infrastructure failures are retried, never remembered
        return {**res, "cached": False}

    def batch(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise RequestError("requests", "must be a list of judge requests")
        parsed = [parse_judge(r, self.config, f"requests[{i}].") for i, r in enumerate(body["requests"])]
        return {"results": list(self.batch_pool.map(self._judge_parsed, parsed))}

    def piston_execute(self, body: Any) -> dict[str, Any]:
        """Piston v2 /api/v2/execute: files[0] is the program; timeouts in ms, memory in bytes."""
        if not isinstance(body, dict):
            raise RequestError("body", "must be a JSON object")
        files = body.get("files")
        if not isinstance(files, list) or not files or not isinstance(files[0], dict):
            raise RequestError("files", "must be a non-empty list of {name, content}")
        run_body = {
            "language": body.get("language"),
            "source": files[0].get("content"),
            "stdin": body.get("stdin") or "",
        }
        if isinstance(body.get("run_timeout"), (int, float)) and body["run_timeout"] > 0:
            run_body["time_limit_s"] = body["run_timeout"] / 1000
        if isinstance(body.get("run_memory_limit"), int) and body["run_memory_limit"] > 0:
            run_body["memory_limit_mb"] = max(16, body["run_memory_limit"] // (1024 * 1024))
        res = self.run(run_body)
        lang = resolve(body["language"])
        out = {"language": lang.name, "version": _version(lang.name), "run": _piston_stage(res)}
        if res.get("compile") or (res["status"] == "compile_error" and lang.compile):
            out["compile"] = _piston_stage(res.get("compile") or res)
        return out

    def capabilities(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "isolation": self.isolation.to_dict(),
            "safe": self.isolation.safe,
            "summary": describe(self.isolation),
            "languages": {
                n: {"available": lang.available(), "aliases": list(lang.aliases), "version": _version(n)}
                for n, lang in LANGUAGES.items()
            },
            "comparators": [*COMPARATORS, "checker"],
            "test_kinds": ["stdio", "functional", "assert"],
            "limits": {
                "run": self.config.run.to_dict(),
                "compile": self.config.compile.to_dict(),
                "mechanism": _mechanism(self.isolation),
            },
            "slots": self.config.slots,
            "queue_size": self.config.queue_size,
        }

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "slots": self.config.slots,
            "busy": self.pool.busy,
            "inside": self.admission.inside,
            "rejected_429": self.admission.rejected,
            "cache": {"entries": len(self.cache.data), "hits": self.cache.hits, "misses": self.cache.misses},
            **self.stats,
        }


def _bounded_by_cores(config: ServiceConfig) -> ServiceConfig:
    """More slots than cores only make each run slower (and CPU-time limits unfair): cap them."""
    import dataclasses

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if config.slots > cores:
        log.warning("sandbox: %d slots requested but only %d cores; using %d", config.slots, cores, cores)
        return dataclasses.replace(config, slots=cores)
    return config


def _version(name: str) -> str:
    import platform

    return platform.python_version() if name == "python" else "c++17"


_PISTON_STATUS = {
    "timeout": "TO",
    "output_limit": "OL",
    "memory_limit": "SG",
    "runtime_error": "RE",
    "compile_error": "RE",
    "sandbox_error": "XX",
}


def _piston_stage(res: dict[str, Any]) -> dict[str, Any]:
    import signal as _signal

    sig = res.get("signal")
    return {
        "stdout": res["stdout"],
        "stderr": res["stderr"],
        "output": res["stdout"] + res["stderr"],
        "code": res["exit_code"],
        "signal": _signal.Signals(sig).name if sig else None,
        "status": _PISTON_STATUS.get(res["status"]),
        "message": None if res["status"] == "ok" else res["status"],
        "cpu_time": res["cpu_ms"],
        "wall_time": res["wall_ms"],
        "memory": int(res["peak_memory_mb"] * 1024 * 1024),
    }


def _mechanism(iso) -> str:
    return (
        "cgroup v1 memory+pids per slot, and rlimits"
        if iso.cgroups
        else "rlimits only (cgroups unavailable or disabled)"
    )
