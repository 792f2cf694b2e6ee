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

from r1harness.sandbox import cgroups, compat
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
        if self.config.use_cgroups:
            cgroups.enter_v2_leaf(os.path.basename(self.base))  # v2 only; before any launcher starts
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
        self.stats = {"judged": 0, "runs": 0, "sandbox_errors": 0, "joined": 0, "cancelled": 0}
        self.inflight: dict[str, dict[str, Any]] = {}  # cache key -> {"done", "result", "cancels"}
        self.inflight_lock = threading.Lock()
        self.versions = _versions(self.isolation)

    def close(self) -> None:
        self.batch_pool.shutdown(wait=True)
        self.pool.close()
        shutil.rmtree(self.base, ignore_errors=True)
        os.close(self._lock)

    # --- endpoints -------------------------------------------------------------------------------
    def _slot(self, client: str = "", cancel=None):
        return self.pool.acquire(client, self.config.queue_wait_s, cancel)

    def run(self, body: Any, client: str = "", cancel=None) -> dict[str, Any]:
        language, source, stdin, limits = parse_run(body, self.config)
        with self._slot(client, cancel) as slot:
            try:
                res = jg.run_once(slot, language, source, stdin, limits, self.config.compile)
            except jg.SlotError as exc:
                self.stats["sandbox_errors"] += 1
                res = {**jg._compile_error_run(str(exc)), "status": "sandbox_error"}
        self.stats["runs"] += 1
        return res

    def judge(self, body: Any, client: str = "", cancel=None) -> dict[str, Any]:
        return self._judge_parsed(parse_judge(body, self.config), client, cancel, _budget(body, self.config))

    def _judge_parsed(self, req, client: str = "", cancel=None, budget_s: float | None = None) -> dict:
        """Cached verdicts are answered at once; a request equal to one already running (a client's
        retry) waits for that run instead of starting another."""
        key = req.cache_key()
        hit = self.cache.get(key)
        if hit is not None:
            return {**hit, "cached": True}
        with self.inflight_lock:
            entry = self.inflight.get(key)
            owner = entry is None
            if owner:
                entry = self.inflight[key] = {"done": threading.Event(), "result": None, "cancels": []}
            else:
                self.stats["joined"] += 1
            entry["cancels"].append(cancel)
        if not owner:
            entry["done"].wait()
            if entry["result"] is None:  # the run it joined was cancelled or failed: run it itself
                return self._judge_parsed(req, client, cancel, budget_s)
            return {**entry["result"], "cached": False, "joined": True}

        def all_gone() -> bool:  # stop only when every request waiting for this result is gone
            with self.inflight_lock:
                return all(c is not None and c() for c in entry["cancels"])

        try:
            res = self._judge_owned(req, client, all_gone, budget_s or self.config.submission_budget_s)
            entry["result"] = res
            return {**res, "cached": False}
        finally:
            with self.inflight_lock:
                self.inflight.pop(key, None)
            entry["done"].set()

    def _judge_owned(self, req, client: str, cancel, budget_s: float) -> dict[str, Any]:
        key = req.cache_key()
        with self._slot(client, cancel) as slot, self.pool.helpers(len(req.tests) - 1) as helpers:
            try:
                res = jg.judge(
                    slot,
                    req,
                    self.config.compile,
                    budget_s=budget_s,
                    cancel=cancel,
                    helpers=helpers,
                    keep_helping=self.pool.nobody_waits,
                )
            except jg.Cancelled:
                self.stats["cancelled"] += 1
                raise
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
        return res

    def batch(self, body: Any, client: str = "", cancel=None) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise RequestError("requests", "must be a list of judge requests")
        reqs = body["requests"]
        parsed = [parse_judge(r, self.config, f"requests[{i}].") for i, r in enumerate(reqs)]
        budgets = [_budget(r, self.config) for r in reqs]
        futures = [
            self.batch_pool.submit(self._judge_parsed, p, client, cancel, b) for p, b in zip(parsed, budgets)
        ]
        return {"results": [f.result() for f in futures]}

    def run_code(self, body: Any, client: str = "", cancel=None) -> dict[str, Any]:
        """SandboxFusion's POST /run_code (verl's sandbox_fusion reward)."""
        return compat.fusion_response(self.run(compat.fusion_request(body), client, cancel))

    def piston_execute(self, body: Any, client: str = "", cancel=None) -> dict[str, Any]:
        """Piston v2 /api/v2/execute: a plain run of files[0] (timeouts in ms, memory in bytes), or the
        codeforces / cms_ioi packages open-r1 uses (compat.py)."""
        if not isinstance(body, dict):
            raise RequestError("body", "must be a JSON object")
        files = compat.piston_files(body)
        pkg = compat.piston_package(body.get("language"), body["files"])
        if pkg is not None:
            with self._slot(client, cancel) as slot:
                if pkg.name == "cms":
                    out = compat.run_cms(slot, files, body, self.config)
                else:
                    out = compat.run_codeforces(slot, pkg, files, body, self.config)
            self.stats["runs"] += 1
            return out
        source = next(iter(files.values()))  # files[0] is the program
        run_body = {"language": body.get("language"), "source": source, "stdin": body.get("stdin") or ""}
        if isinstance(body.get("run_timeout"), (int, float)) and body["run_timeout"] > 0:
            run_body["time_limit_s"] = min(body["run_timeout"] / 1000, 60.0)
        if isinstance(body.get("run_memory_limit"), int) and body["run_memory_limit"] > 0:
            run_body["memory_limit_mb"] = max(16, body["run_memory_limit"] // (1024 * 1024))
        res = self.run(run_body, client, cancel)
        lang = resolve(body["language"])
        out = {"language": lang.name, "version": self.versions[lang.name], "run": _piston_stage(res)}
        if res.get("compile") or (res["status"] == "compile_error" and lang.compile):
            out["compile"] = _piston_stage(res.get("compile") or res)
        return out

    def runtimes(self) -> list[dict[str, Any]]:
        """GET /api/v2/runtimes: the plain languages and the packages (Piston's shape)."""
        out = [
            {"language": n, "version": self.versions[n], "aliases": list(lang.aliases), "runtime": n}
            for n, lang in LANGUAGES.items()
            if lang.available()
        ]
        if LANGUAGES["cpp"].available():
            cf = sorted(compat.CODEFORCES_LANGUAGES)
            out.append({"language": "codeforces", "version": compat.PACKAGE_VERSION, "aliases": cf})
            out.append(
                {"language": "cms", "version": compat.PACKAGE_VERSION, "aliases": list(compat.CMS_LANGUAGES)}
            )
        return out

    def capabilities(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "isolation": self.isolation.to_dict(),
            "safe": self.isolation.safe,
            "summary": describe(self.isolation),
            "languages": {
                n: {"available": lang.available(), "aliases": list(lang.aliases), "version": self.versions[n]}
                for n, lang in LANGUAGES.items()
            },
            "apis": {
                "piston": "/api/v2/execute, /api/v2/runtimes (plain runs; packages codeforces, cms_ioi)",
                "sandbox_fusion": "/run_code",
                "native": "/v1/run, /v1/judge, /v1/batch",
            },
            "comparators": [*COMPARATORS, "checker"],
            "test_kinds": ["stdio", "functional", "assert"],
            "limits": {
                "run": self.config.run.to_dict(),
                "compile": self.config.compile.to_dict(),
                "mechanism": _mechanism(self.isolation),
                "enforced": self.isolation.enforced(),
            },
            "slots": self.config.slots,
            "queue_size": self.config.queue_size,
            "queue_wait_s": self.config.queue_wait_s,
            "submission_budget_s": self.config.submission_budget_s,
            "fairness": "round-robin over clients (X-Client-Id header, else the peer address)",
            "retries": "an identical request already running is joined, not run twice",
        }

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "slots": self.config.slots,
            "busy": self.pool.busy,
            "inside": self.admission.inside,
            "waiting": self.pool.gate.waiting,
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


def _budget(body: Any, config: ServiceConfig) -> float:
    """A request may ask for a smaller submission budget (`time_budget_s`), never a larger one."""
    asked = body.get("time_budget_s") if isinstance(body, dict) else None
    if isinstance(asked, (int, float)) and not isinstance(asked, bool) and asked > 0:
        return min(float(asked), config.submission_budget_s)
    return config.submission_budget_s


def _versions(iso) -> dict[str, str]:
    """What actually runs in the sandbox: the probe reports the sandbox's Python; g++ reports itself."""
    import subprocess

    cpp = "c++17"
    try:
        out = subprocess.run(["/usr/bin/g++", "-dumpfullversion"], capture_output=True, text=True, timeout=10)
        cpp = out.stdout.strip() or cpp
    except (OSError, subprocess.SubprocessError):
        pass
    return {"python": str(iso.facts.get("python_version") or "unknown"), "cpp": cpp}


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
    if iso.cgroups:
        return f"cgroup v{iso.cgroup_version} memory+pids per slot, and rlimits"
    return (
        "memory watched by the launcher (RSS + tmpfs, 10 ms polls), and rlimits (cgroups unavailable or off)"
    )
