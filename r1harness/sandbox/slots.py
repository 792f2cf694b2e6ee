"""Slots: one launcher process each, handed to one submission at a time; and the admission gate."""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
from contextlib import contextmanager
from typing import Any

from r1harness.sandbox.isolation import Isolation
from r1harness.sandbox.judge import SlotError

log = logging.getLogger("r1harness.sandbox")


def _launcher_cmd(base: str) -> list[str]:
    return [sys.executable, "-m", "r1harness.sandbox.launcher", "--base", base]


def probe_isolation(base: str, use_cgroups: bool = True) -> Isolation:
    """Run the start-up probe in a launcher process (the server itself never starts sandboxed runs)."""
    flags = ["--probe"] + ([] if use_cgroups else ["--no-cgroups"])
    out = subprocess.run(
        _launcher_cmd(base) + flags, capture_output=True, text=True, timeout=120, env=_launcher_env()
    )
    if out.returncode != 0:
        raise SlotError(f"isolation probe failed: {out.stderr[-2000:]}")
    data = json.loads(out.stdout)
    data.pop("safe", None)
    data["warnings"] = tuple(data.get("warnings", ()))
    return Isolation(**data)


def _launcher_env() -> dict[str, str]:
    """Launchers get a minimal environment: secrets in the server's environment stay there."""
    keep = ("PATH", "PYTHONPATH", "R1H_SANDBOX_BWRAP", "LANG")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class Slot:
    """A launcher process speaking JSON lines; restarted when it dies."""

    def __init__(self, index: int, iso: Isolation, base: str):
        self.index, self.iso, self.base = index, iso, base
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        iso_json = json.dumps(self.iso.to_dict())
        cmd = _launcher_cmd(self.base) + ["--slot", str(self.index), "--isolation", iso_json]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=_launcher_env()
        )

    def call(self, req: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if self.proc.poll() is not None:  # died while idle: nothing was lost, start a fresh one
                self._restart()
            try:
                self.proc.stdin.write(json.dumps(req) + "\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except (BrokenPipeError, OSError, ValueError) as exc:
                line, err = "", exc
            else:
                err = None
            if not line:
                self._restart()
                raise SlotError(f"slot {self.index} launcher died ({err or 'no reply'}); restarted")
            return json.loads(line)

    def _restart(self) -> None:
        log.error("sandbox slot %d launcher died; restarting it", self.index)
        self.close()
        self._start()

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class SlotPool:
    def __init__(self, n: int, iso: Isolation, base: str):
        self.slots = [Slot(i, iso, base) for i in range(n)]
        self.free: queue.Queue[Slot] = queue.Queue()
        for s in self.slots:
            self.free.put(s)

    @contextmanager
    def acquire(self):
        slot = self.free.get()
        try:
            yield slot
        finally:
            self.free.put(slot)

    @property
    def busy(self) -> int:
        return len(self.slots) - self.free.qsize()

    def close(self) -> None:
        for s in self.slots:
            s.close()


class Admission:
    """At most `capacity` requests inside the service; the next one is told 429 at once."""

    def __init__(self, capacity: int):
        self.capacity, self.inside, self.rejected = capacity, 0, 0
        self.lock = threading.Lock()

    def try_enter(self) -> bool:
        with self.lock:
            if self.inside >= self.capacity:
                self.rejected += 1
                return False
            self.inside += 1
            return True

    def leave(self) -> None:
        with self.lock:
            self.inside -= 1
