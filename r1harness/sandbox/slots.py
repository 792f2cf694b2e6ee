"""Slots: one launcher process each, handed to one submission at a time; and the admission gate."""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections import OrderedDict, deque
from contextlib import contextmanager
from typing import Any

from r1harness.sandbox.isolation import Isolation
from r1harness.sandbox.judge import Cancelled, SlotError

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
    return Isolation.from_dict(json.loads(out.stdout))


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


class QueueTimeout(RuntimeError):
    """No slot became free within the request's queue wait (answered 503 with Retry-After)."""


class FairGate:
    """Hands free slots to waiting requests round-robin over clients (FIFO within a client), so one
    client flooding the service cannot starve another; a waiter gives up after its timeout."""

    def __init__(self, n: int):
        self.free = n
        self.cv = threading.Condition()
        self.queues: OrderedDict[str, deque] = OrderedDict()

    def _head(self):
        for q in self.queues.values():
            return q[0]
        return None

    def _drop(self, client: str, ticket) -> None:
        q = self.queues.get(client)
        if q is not None and ticket in q:
            q.remove(ticket)
            if not q:
                del self.queues[client]

    def acquire(self, client: str, timeout_s: float, cancel=None) -> None:
        ticket, deadline = object(), time.monotonic() + timeout_s
        with self.cv:
            self.queues.setdefault(client, deque()).append(ticket)
            while not (self.free > 0 and self._head() is ticket):
                left = deadline - time.monotonic()
                gone = cancel is not None and cancel()
                if left <= 0 or gone:
                    self._drop(client, ticket)
                    self.cv.notify_all()
                    raise (
                        Cancelled("client gone or past its deadline")
                        if gone
                        else QueueTimeout(f"no slot free within {timeout_s:g} s")
                    )
                self.cv.wait(min(left, 0.25))
            q = self.queues[client]
            q.popleft()
            if q:
                self.queues.move_to_end(client)  # its next request waits behind the other clients
            else:
                del self.queues[client]
            self.free -= 1
            self.cv.notify_all()

    def try_acquire(self, n: int) -> int:
        """Up to n permits at once, only while nobody waits (helpers for one submission's tests)."""
        with self.cv:
            k = 0 if self.queues else max(0, min(n, self.free))
            self.free -= k
            return k

    def release(self, n: int = 1) -> None:
        with self.cv:
            self.free += n
            self.cv.notify_all()

    @property
    def waiting(self) -> int:
        with self.cv:
            return sum(len(q) for q in self.queues.values())


class SlotPool:
    def __init__(self, n: int, iso: Isolation, base: str):
        self.slots = [Slot(i, iso, base) for i in range(n)]
        self.free: queue.Queue[Slot] = queue.Queue()
        self.gate = FairGate(n)
        for s in self.slots:
            self.free.put(s)

    @contextmanager
    def acquire(self, client: str = "", timeout_s: float = 3600.0, cancel=None):
        self.gate.acquire(client, timeout_s, cancel)
        slot = self.free.get()
        try:
            yield slot
        finally:
            self.free.put(slot)
            self.gate.release()

    @contextmanager
    def helpers(self, n: int):
        """Free slots lent to a running submission while nobody waits (possibly none)."""
        k = self.gate.try_acquire(n)
        slots = [self.free.get() for _ in range(k)]
        try:
            yield slots
        finally:
            for slot in slots:
                self.free.put(slot)
            if k:
                self.gate.release(k)

    def nobody_waits(self) -> bool:
        return not self.gate.queues

    @property
    def busy(self) -> int:
        return len(self.slots) - self.free.qsize()

    def close(self) -> None:
        for s in self.slots:
            s.close()


class Admission:
    """At most `capacity` requests inside the service (running or waiting for a slot, each for at most
    the queue wait); past that the next one is told 429 at once."""

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
