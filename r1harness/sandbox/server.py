"""The HTTP front of the sandbox service (stdlib ThreadingHTTPServer; loopback by default).

  POST /v1/run  /v1/judge  /v1/batch  /api/v2/execute (Piston)  /run_code (SandboxFusion)
  GET  /health  /capabilities  /api/v2/runtimes

A request waits for a slot (round-robin over clients: the X-Client-Id header, else the peer address) at
most queue_wait_s, then gets 503 with Retry-After; only past queue_size requests inside is 429 answered
at once. A client that disconnects, or whose X-Deadline-S (seconds) passes, stops its work between
tests. A bad request gets 400 naming the field.
`python -m r1harness.sandbox.server --port 0 --port-file F` is what tests and the client start.
"""

from __future__ import annotations

import argparse
import json
import logging
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from r1harness.sandbox.limits import ServiceConfig
from r1harness.sandbox.requests import RequestError
from r1harness.sandbox.serve_args import DEFAULT_PORT, add_serve_args, config_from_args
from r1harness.sandbox.service import SandboxService
from r1harness.sandbox.slots import Cancelled, QueueTimeout

log = logging.getLogger("r1harness.sandbox")
POSTS = {
    "/v1/run": "run",
    "/v1/judge": "judge",
    "/v1/batch": "batch",
    "/api/v2/execute": "piston_execute",
    "/run_code": "run_code",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 2048  # the load test opens 1,000 connections at once
    service: SandboxService


class Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # route http.server's access log through logging
        log.debug("%s " + fmt, self.address_string(), *args)

    def _send(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            self._get()
        except Exception as exc:  # answer, never drop the connection
            log.exception("sandbox GET failed")
            self._send(500, {"error": f"{type(exc).__name__}: {exc}"})

    def _get(self):
        svc = self.server.service
        if self.path == "/health":
            self._send(200, svc.health())
        elif self.path == "/capabilities":
            self._send(200, svc.capabilities())
        elif self.path == "/api/v2/runtimes":
            self._send(200, svc.runtimes())
        else:
            self._send(404, {"error": f"no such endpoint {self.path}"})

    def do_POST(self):
        svc = self.server.service
        method = POSTS.get(self.path)
        body = self._read_body()
        if body is None:
            return
        if method is None:
            return self._send(404, {"error": f"no such endpoint {self.path}; POST one of {sorted(POSTS)}"})
        if not svc.admission.try_enter():
            return self._send(
                429, {"error": "queue full, retry later", "retry_after_s": 1}, {"Retry-After": "1"}
            )
        try:
            self._send(200, getattr(svc, method)(body, self._client_id(), self._cancelled))
        except Cancelled:
            self.close_connection = True  # nobody to answer
        except QueueTimeout as exc:
            self._send(503, {"error": str(exc), "retry_after_s": 1}, {"Retry-After": "1"})
        except RequestError as exc:
            self._send(400, {"error": str(exc), "field": exc.field})
        except Exception as exc:  # a bug here must still answer, as a 500 the client counts as an error
            log.exception("sandbox request failed")
            self._send(500, {"error": f"{type(exc).__name__}: {exc}"})
        finally:
            svc.admission.leave()

    def _client_id(self) -> str:
        return self.headers.get("X-Client-Id") or self.client_address[0]

    def _cancelled(self) -> bool:
        """True once the client has closed its connection or its X-Deadline-S has passed."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            return True
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _read_body(self) -> Any:
        self._deadline = None
        try:
            deadline = float(self.headers.get("X-Deadline-S") or 0)
        except ValueError:
            deadline = 0
        if deadline > 0:
            self._deadline = time.monotonic() + deadline
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > self.server.service.config.max_request_bytes:
            self._send(
                413 if length > 0 else 400,
                {"error": "bad or too large Content-Length", "field": "Content-Length"},
            )
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._send(400, {"error": f"body is not JSON: {exc}", "field": "body"})
            return None


class SandboxServer:
    """The service plus its HTTP server, run on a background thread; use as a context manager."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: ServiceConfig | None = None
    ):
        self.service = SandboxService(config)
        try:
            self.httpd = _Server((host, port), Handler)
        except OSError:
            self.service.close()
            raise
        self.httpd.service = self.service
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="sandbox-http", daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread:
            self.thread.join()
        self.service.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def serve(host: str, port: int, config: ServiceConfig, port_file: str | None = None) -> int:
    server = SandboxServer(host, port, config).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(
        f"sandbox service on {server.url} ({server.service.isolation.level} isolation, "
        f"safe={server.service.isolation.safe}, {config.slots} slots)",
        file=sys.stderr,
        flush=True,
    )
    if port_file:
        tmp = Path(port_file + ".tmp")
        tmp.write_text(server.url)
        tmp.rename(port_file)
    try:
        stop.wait()
    finally:
        server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m r1harness.sandbox.server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_serve_args(ap)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return serve(args.host, args.port, config_from_args(args), args.port_file)


if __name__ == "__main__":
    raise SystemExit(main())
