"""`r1h ui`: serve the web page onto a store (runs, rollouts, leaderboard, audit queues)."""

from __future__ import annotations

import ipaddress
import secrets
import sys

from r1harness.commands._common import add_command, add_store_arg, open_store
from r1harness.errors import ConfigError


def register(sub) -> None:
    p = add_command(
        sub,
        "ui",
        help="serve the web page onto a store: runs, rollouts, leaderboard, audit queues",
        example="r1h ui --store r1h-store            # then open http://127.0.0.1:8765\n"
        "  r1h ui --host 0.0.0.0    # beyond loopback a token is required; one is printed",
    )
    add_store_arg(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--token",
        default=None,
        help="require this token on every request (a random one is made when --host is not loopback)",
    )
    p.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_settings(host: str, token: str | None) -> str | None:
    """The token the server will require: none on loopback unless asked; elsewhere always one."""
    if token is not None and len(token) < 16:
        raise ConfigError("--token must be at least 16 characters (or leave it out to get a random one)")
    if is_loopback(host):
        return token
    return token or secrets.token_urlsafe(24)


def run(args) -> int:
    import uvicorn

    from r1harness.ui import create_app

    token = serve_settings(args.host, args.token)
    store = open_store(args, create=False)
    app = create_app(store, token=token)
    print(f"r1h ui: indexing the ids of {store.root} (seconds per few million rollouts) ...", file=sys.stderr)
    app.state.lookup.refresh()  # so the first page is as fast as the rest
    url = f"http://{args.host}:{args.port}/" + (f"?token={token}" if token else "")
    print(f"r1h ui: serving {store.root} at {url}  (Ctrl-C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
