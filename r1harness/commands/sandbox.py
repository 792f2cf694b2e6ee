"""`r1h sandbox serve` and `r1h sandbox capabilities`: the sandboxed verifier service."""

from __future__ import annotations

import json
import sys

from r1harness.commands._common import add_command


def register(sub) -> None:
    p = add_command(
        sub,
        "sandbox",
        help="the sandboxed code-execution service (serve, capabilities)",
        example="r1h sandbox serve --port 8731 --slots 2",
    )
    verbs = p.add_subparsers(dest="sandbox_command", metavar="VERB")
    serve = add_command(
        verbs,
        "serve",
        help="run the sandbox service on loopback until interrupted",
        example="r1h sandbox serve --host 127.0.0.1 --port 8731 --slots 2",
    )
    from r1harness.sandbox.serve_args import add_serve_args

    add_serve_args(serve)
    serve.set_defaults(func=run_serve)
    caps = add_command(
        verbs,
        "capabilities",
        help="print the isolation a service achieves (JSON)",
        example="r1h sandbox capabilities --url http://127.0.0.1:8731",
    )
    caps.add_argument(
        "--url",
        default=None,
        help="a running service (default: $R1H_SANDBOX_URL, else "
        "probe this machine without starting a server)",
    )
    caps.set_defaults(func=run_capabilities)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_serve(args) -> int:
    from r1harness.sandbox.serve_args import config_from_args
    from r1harness.sandbox.server import serve

    return serve(args.host, args.port, config_from_args(args), args.port_file)


def run_capabilities(args) -> int:
    import os

    url = args.url or os.environ.get("R1H_SANDBOX_URL")
    if url:
        from r1harness.sandbox.client import SandboxClient

        caps = SandboxClient(url).capabilities()
    else:
        import shutil
        import tempfile

        from r1harness.sandbox.slots import probe_isolation

        base = tempfile.mkdtemp(prefix="r1h-sandbox-probe-")
        os.chmod(base, 0o711)
        try:
            caps = {"isolation": probe_isolation(base).to_dict()}
        finally:
            shutil.rmtree(base, ignore_errors=True)
    json.dump(caps, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if caps.get("isolation", {}).get("safe") else 3
