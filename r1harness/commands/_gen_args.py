"""Options shared by `r1h generate` and `r1h eval`: the model and backend."""

from __future__ import annotations

import json

from r1harness.errors import ConfigError
from r1harness.generate import get_backend
from r1harness.generate.backend import check_backend_options

BACKEND_CHOICES = ("transformers", "vllm", "openai", "fake")


def add_backend_args(p) -> None:
    p.add_argument(
        "--model",
        required=True,
        help="model path or hub id (transformers/vllm), server model name (openai), or a fake "
        "script JSON / 'echo' (fake)",
    )
    p.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default="transformers",
        help="generation backend (default transformers)",
    )
    p.add_argument(
        "--base-url",
        default=None,
        help="openai backend: server URL (default $OPENAI_BASE_URL or http://localhost:8000/v1)",
    )
    p.add_argument("--concurrency", type=int, default=16, help="openai backend: requests in flight")
    p.add_argument("--device", default=None, help="transformers backend: cpu, cuda, cuda:1 ...")
    p.add_argument(
        "--gen-batch-size",
        type=int,
        default=16,
        help="transformers backend: sequences per generate() call (default 16)",
    )
    p.add_argument(
        "--backend-options",
        default=None,
        metavar="JSON",
        help="extra backend options as JSON, e.g. '{\"tensor_parallel_size\": 2}' for vllm, "
        '\'{"extra_body": {"chat_template_kwargs": {"enable_thinking": true}}}\' for openai (request '
        "fields passed through to the server; sampling is set by its own flags)",
    )


def make_backend(args):
    spec = backend_spec(args)
    return get_backend(spec["name"], spec["model"], **spec["options"])


def backend_spec(args) -> dict:
    """{name, model, options} of the backend the arguments describe (what Ray workers build it from)."""
    options = {}
    if args.backend_options:
        try:
            options = json.loads(args.backend_options)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--backend-options is not valid JSON: {exc.msg}") from None
        if not isinstance(options, dict):
            raise ConfigError(f"--backend-options must be a JSON object, got {args.backend_options!r}")
    if args.backend == "openai":
        options.setdefault("concurrency", args.concurrency)
        if args.base_url:
            options.setdefault("base_url", args.base_url)
    elif args.backend == "transformers":
        options.setdefault("batch_size", args.gen_batch_size)
        if args.device:
            options.setdefault("device", args.device)
    check_backend_options(args.backend, options)  # here, not first in a Ray worker
    return {"name": args.backend, "model": args.model, "options": options}
