"""Client for the sandbox service: batching, retries with backoff on 429 and connection errors, a cap
on requests in flight, and `local_service()` which starts a service on a free port when none is given.

A request that still fails after its retries raises `SandboxUnavailable`; callers turn that into an
`error` verdict (score None), never a wrong answer.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from r1harness.errors import VerifierError

URL_ENV = "R1H_SANDBOX_URL"
_CLIENT_ID = f"r1h-{os.getpid()}"  # the service shares slots round-robin between clients


class SandboxUnavailable(VerifierError):
    """The sandbox service could not be reached or kept failing; not a verdict about the program."""


class SandboxClient:
    def __init__(
        self,
        url: str,
        *,
        concurrency: int = 4,
        batch_size: int = 8,
        retries: int = 6,
        timeout_s: float = 600.0,
        backoff_s: float = 0.25,
    ):
        self.url = url.rstrip("/")
        self.concurrency, self.batch_size, self.retries = concurrency, batch_size, retries
        self.timeout_s, self.backoff_s = timeout_s, backoff_s

    def post(self, path: str, body: Any) -> Any:
        data = json.dumps(body).encode()
        last = None
        for attempt in range(self.retries + 1):
            headers = {
                "Content-Type": "application/json",
                "X-Client-Id": _CLIENT_ID,
                "X-Deadline-S": str(self.timeout_s),  # the service stops work nobody will read
            }
            req = urllib.request.Request(self.url + path, data=data, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                payload = _json_or_text(exc.read())
                if exc.code == 400:
                    raise VerifierError(f"sandbox rejected the request: {payload}") from exc
                last = f"HTTP {exc.code}: {payload}"
                wait = float(exc.headers.get("Retry-After") or 0) if exc.code in (429, 503) else 0
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                last, wait = f"{type(exc).__name__}: {exc}", 0
            time.sleep(max(wait, self.backoff_s * (2**attempt)) * (0.5 + random.random()))
        raise SandboxUnavailable(f"sandbox at {self.url} failed {self.retries + 1} times; last: {last}")

    def get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as resp:
                return json.loads(resp.read())
        except (urllib.error.URLError, OSError) as exc:
            raise SandboxUnavailable(f"sandbox at {self.url} unreachable: {exc}") from exc

    def run(self, **body) -> dict[str, Any]:
        return self.post("/v1/run", body)

    def judge(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.post("/v1/judge", request)

    def judge_many(self, requests: list[dict[str, Any]]) -> list[dict[str, Any] | SandboxUnavailable]:
        """Judge many submissions: batches of `batch_size`, at most `concurrency` batches in flight.
        A batch that fails for good yields a SandboxUnavailable in each of its places."""
        chunks = [requests[i : i + self.batch_size] for i in range(0, len(requests), self.batch_size)]

        def one(chunk):
            try:
                return self.post("/v1/batch", {"requests": chunk})["results"]
            except SandboxUnavailable as exc:
                return [exc] * len(chunk)

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return [r for results in pool.map(one, chunks) for r in results]

    def capabilities(self) -> dict[str, Any]:
        return self.get("/capabilities")


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw[:300].decode("utf-8", "replace")


class LocalService:
    """A service in a child process on a free loopback port; stopped by close() or at exit."""

    def __init__(
        self,
        slots: int | None = None,
        extra_args: tuple[str, ...] = (),
        start_timeout_s: float = 60,
        *,
        pid_namespace: bool = False,
        env: dict[str, str] | None = None,
    ):
        """pid_namespace=True runs the service inside a pid namespace of its own (`unshare --pid`), so
        that if isolation ever failed, kill(-1) or a fork bomb would stay inside it (used by tests)."""
        tmp = tempfile.mkdtemp(prefix="r1h-sandbox-client-")
        port_file = os.path.join(tmp, "url")
        cmd = [
            sys.executable,
            "-m",
            "r1harness.sandbox.server",
            "--port",
            "0",
            "--port-file",
            port_file,
            *(["--slots", str(slots)] if slots else []),
            *extra_args,
        ]
        if pid_namespace:
            cmd = ["unshare", "--fork", "--pid", "--mount-proc", "--kill-child", "--"] + cmd
        self.pid_namespace = pid_namespace
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, **(env or {})}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + start_timeout_s
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read() if self.proc.poll() is not None else "timed out"
                self.close()
                raise SandboxUnavailable(f"could not start a local sandbox service: {err[-2000:]}")
            time.sleep(0.05)
        self.url = Path(port_file).read_text().strip()
        os.remove(port_file)
        os.rmdir(tmp)

    def server_pid(self) -> int:
        """The server's host pid (under unshare it is unshare's child)."""
        if not self.pid_namespace:
            return self.proc.pid
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else self.proc.pid

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.kill(self.server_pid(), 15)  # a clean stop removes the session directories
            except (ProcessLookupError, OSError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_local: LocalService | None = None
_local_lock = threading.Lock()


def default_client(**options) -> SandboxClient:
    """$R1H_SANDBOX_URL when set, else one local service per process, started on first use."""
    global _local
    url = os.environ.get(URL_ENV)
    if not url:
        with _local_lock:
            if _local is None or _local.proc.poll() is not None:
                _local = LocalService()
                atexit.register(_local.close)
            url = _local.url
    return SandboxClient(url, **options)
