"""A pool of worker processes with a per-item deadline: a worker that overruns is killed and replaced.

Why not `concurrent.futures.ProcessPoolExecutor` or `multiprocessing.Pool`: neither can kill the one worker
stuck on a pathological input (sympy on `10^{10^{10^{10}}}` never returns) without tearing down the whole
pool, and math-verify's own timeout (`signal.alarm`) works only on a process's main thread. Here each worker
owns a pipe, receives small chunks of items and answers item by item, so the parent knows which item a worker
is on and since when; past `timeout_s` that item is a "timeout", the worker is killed, a fresh one starts,
and the rest of its chunk goes back to the queue. A worker that dies (segfault, OOM kill) costs its current
item an "error" and nothing else. Workers are fresh interpreters (not forks); after the first replacement
one spare is kept warm, so later replacements are ready at once.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_connections
from typing import Any

from r1harness.errors import VerifierError
from r1harness.resolve import resolve

OK, TIMEOUT, ERROR = "ok", "timeout", "error"
READY = -1  # message index a worker sends once its task module is imported
STARTUP_TIMEOUT_S = 120  # a worker that cannot import its task in this long is broken, not slow


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok | timeout | error
    value: Any = None  # the function's result when ok, else a short reason


def _worker_main(fn_path: str, read_fd: int, write_fd: int) -> None:
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    # Import before the first item: a spare worker warms up while idle.
    fn = resolve(fn_path, what="worker function", error=VerifierError)
    warm_up = getattr(sys.modules[fn.__module__], "warm_up", None)
    if warm_up is not None:  # one-off lazy imports must not eat the first item's deadline
        warm_up()
    outbox.send((READY, None, None))  # deadlines start only once the worker can work
    while True:
        try:
            chunk = inbox.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for idx, item in chunk:
            try:
                outbox.send((idx, OK, fn(item)))
            except Exception as exc:  # the item's own failure; the worker lives on
                outbox.send((idx, ERROR, f"{type(exc).__name__}: {str(exc)[:200]}"))


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    return env


class _Worker:
    """A fresh interpreter (`python -m r1harness.verify.pool`), never a fork: it inherits no threads or
    locks from the parent and does not re-run the user's `__main__` as multiprocessing's spawn would."""

    def __init__(self, fn_path: str):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "r1harness.verify.pool", fn_path, str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=_child_env(),
            close_fds=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.outbox = Connection(to_child_w, readable=False)
        self.conn = Connection(from_child_r, writable=False)
        self.assigned: collections.deque[int] = collections.deque()
        self.since = 0.0  # when the current item started (last answer or dispatch)
        self.started = time.monotonic()
        self.ready = False

    def dispatch(self, chunk: list[tuple[int, Any]]) -> None:
        self.assigned.extend(idx for idx, _ in chunk)
        self.since = time.monotonic()
        self.outbox.send(chunk)

    def stop(self) -> None:
        try:
            self.outbox.send(None)
        except OSError:
            pass

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.conn.close()
        self.outbox.close()


class DeadlinePool:
    """Run `fn(item)` for many items in `workers` processes; each item gets at most `timeout_s` seconds.

    `fn_path` is "module:function" (importable in the workers); a `warm_up()` function in that module, if
    any, runs in each worker before it counts as ready. `map()` returns one `Outcome` per item in
    order and is safe to call from several threads (calls are serialised)."""

    def __init__(self, fn_path: str, *, workers: int = 2, timeout_s: float = 5.0, chunk_size: int = 8):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.fn_path, self.n_workers, self.timeout_s, self.chunk_size = (
            fn_path,
            workers,
            timeout_s,
            chunk_size,
        )
        self._workers: list[_Worker] = []
        self._spare: _Worker | None = None  # started ahead, so a replacement is ready at once
        self._keep_spare = False  # set after the first replacement: inputs that need one tend to recur
        self._lock = threading.Lock()
        self.replaced = 0  # workers killed on a deadline or found dead

    def map(self, items: list[Any], lanes: list[int] | None = None) -> list[Outcome]:
        """One Outcome per item, in order. `lanes` (optional, one int per item) sends items of the same lane
        to the same worker while it keeps up, e.g. all answers to one gold, so that worker's caches stay
        warm; an idle worker with nothing in its lane helps the busiest one."""
        if lanes is not None and len(lanes) != len(items):
            raise ValueError(f"got {len(lanes)} lanes for {len(items)} items")
        with self._lock:
            self._ensure_workers()
            return self._run(items, _Lanes(self.n_workers, lanes or [0] * len(items)))

    def start(self) -> None:
        """Start the workers now and wait until each has imported and warmed up its task."""
        with self._lock:
            self._ensure_workers()
            while not all(w.ready for w in self._workers):
                waiting = [w for w in self._workers if not w.ready]
                ready = wait_connections([w.conn for w in waiting], timeout=self._next_deadline(waiting))
                for worker in waiting:
                    if worker.conn in ready:
                        self._collect(worker, [], _Lanes(self.n_workers, []))
                    elif time.monotonic() - worker.started > STARTUP_TIMEOUT_S:
                        raise VerifierError(
                            f"a worker for {self.fn_path} did not start within {STARTUP_TIMEOUT_S}s"
                        )

    def _ensure_workers(self) -> None:
        if not self._workers:
            self._workers = [_Worker(self.fn_path) for _ in range(self.n_workers)]

    def _run(self, items: list[Any], queue: _Lanes) -> list[Outcome]:
        results: list[Outcome | None] = [None] * len(items)
        remaining = len(items)
        while remaining:
            self._feed(queue, items)
            waiting = [w for w in self._workers if w.assigned or not w.ready]
            ready = wait_connections([w.conn for w in waiting], timeout=self._next_deadline(waiting))
            for worker in waiting:
                if worker.conn in ready:
                    remaining -= self._collect(worker, results, queue)
            if self._keep_spare and self._spare is None and all(w.ready for w in self._workers):
                self._spare = _Worker(self.fn_path)  # after the others: it must not slow their start
            now = time.monotonic()
            for worker in waiting:
                if worker.assigned and now - worker.since > self.timeout_s:
                    remaining -= self._replace(
                        worker, results, queue, Outcome(TIMEOUT, f"over {self.timeout_s}s")
                    )
                elif not worker.ready and now - worker.started > STARTUP_TIMEOUT_S:
                    raise VerifierError(
                        f"a worker for {self.fn_path} did not start within {STARTUP_TIMEOUT_S}s"
                    )
        return results  # type: ignore[return-value]

    def _next_deadline(self, waiting: list[_Worker]) -> float:
        ends = [w.since + self.timeout_s if w.assigned else w.started + STARTUP_TIMEOUT_S for w in waiting]
        return max(0.0, min(ends) - time.monotonic())

    def _feed(self, queue: _Lanes, items: list[Any]) -> None:
        idle = [w for w in self._workers if w.ready and not w.assigned]
        for worker in idle:
            lane = self._workers.index(worker)
            if not queue:
                return
            if worker.proc.poll() is not None:  # died while idle (OOM killer, a stray signal): no item lost
                self._respawn(worker)
                continue
            share = max(1, min(self.chunk_size, -(-len(queue) // self.n_workers)))
            chunk = [(i, items[i]) for i in queue.take(lane, share)]
            try:
                worker.dispatch(chunk)
            except OSError:  # it died while idle: nothing of it ran, so requeue everything
                queue.put_back(lane, [i for i, _ in chunk])
                worker.assigned.clear()
                self._respawn(worker)

    def _collect(self, worker: _Worker, results: list, queue: _Lanes) -> int:
        done = 0
        try:
            while worker.conn.poll():
                idx, kind, value = worker.conn.recv()
                worker.since = time.monotonic()
                if idx == READY:
                    worker.ready = True
                    continue
                worker.assigned.remove(idx)
                results[idx] = Outcome(kind, value)
                done += 1
        except (EOFError, OSError):  # the worker died: its current item is an error, the rest is retried
            if not worker.ready:
                raise VerifierError(
                    f"a worker for {self.fn_path} died while starting (exit code "
                    f"{worker.proc.wait()}); its stderr above says why"
                ) from None
            done += self._replace(worker, results, queue, Outcome(ERROR, "worker process died"))
        return done

    def _replace(self, worker: _Worker, results: list, queue: _Lanes, outcome: Outcome) -> int:
        current = worker.assigned.popleft() if worker.assigned else None
        queue.put_back(self._workers.index(worker), list(worker.assigned))
        worker.assigned.clear()
        self._respawn(worker)
        if current is None:
            return 0
        results[current] = outcome
        return 1

    def _respawn(self, worker: _Worker) -> None:
        worker.kill()
        fresh, self._spare = (self._spare or _Worker(self.fn_path)), None
        self._keep_spare = True
        self._workers[self._workers.index(worker)] = fresh
        self.replaced += 1

    def close(self) -> None:
        with self._lock:
            everyone = self._workers + ([self._spare] if self._spare else [])
            for worker in everyone:
                worker.stop()
            for worker in everyone:
                try:
                    worker.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
                worker.kill()
            self._workers, self._spare = [], None

    def __enter__(self) -> DeadlinePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Lanes:
    """Pending item indices, one lane per worker: a worker takes from its own lane first, else from the
    longest one (so no worker idles while work waits)."""

    def __init__(self, n_workers: int, lanes: list[int]):
        self._lanes = [collections.deque() for _ in range(n_workers)]
        for idx, lane in enumerate(lanes):
            self._lanes[lane % n_workers].append(idx)

    def __len__(self) -> int:
        return sum(len(q) for q in self._lanes)

    def take(self, lane: int, n: int) -> list[int]:
        q = self._lanes[lane] if self._lanes[lane] else max(self._lanes, key=len)
        return [q.popleft() for _ in range(min(n, len(q)))]

    def put_back(self, lane: int, idxs: list[int]) -> None:
        self._lanes[lane].extendleft(reversed(idxs))


if __name__ == "__main__":
    _worker_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
