"""`r1h`: the command line. Thin: each verb lives in `r1harness/commands/<verb>.py` and mirrors the API.

A command module defines `register(subparsers)`, which adds its parser and sets `func=handler`;
handlers take the parsed args and return an exit code. Modules are found by listing the package, so
adding a command never means editing a shared file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

import r1harness.commands as commands
from r1harness import __version__
from r1harness.commands._common import warn_deprecated
from r1harness.console import set_verbosity
from r1harness.errors import R1HarnessError
from r1harness.threads import passive_thread_waits


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="r1h",
        description="Run and audit the DeepSeek-R1 pipeline over one store.",
        epilog="example:\n  r1h ingest --manifest datasets/aime24.yaml\n  r1h sql 'SELECT dataset, count(*) "
        "FROM prompts GROUP BY 1'\n\nEvery command has --help with an example.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"r1harness {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"r1harness.commands.{info.name}")
        if hasattr(module, "register"):  # a module may only add to another command's parser
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    set_verbosity(args.verbose)  # -v also shows the libraries' output, which otherwise goes to the run's log
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if getattr(args, "deprecated", None):
        warn_deprecated(*args.deprecated)
    passive_thread_waits()  # before any command imports torch (r1harness/threads.py says why)
    try:
        return int(args.func(args) or 0)
    except R1HarnessError as exc:
        print(f"r1h {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"r1h {args.command}: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
