"""`r1h model init`: build a tiny tokenizer + causal LM locally (no downloads) as a normal HF folder."""

from __future__ import annotations

import json
from pathlib import Path

from r1harness.commands._common import add_command
from r1harness.errors import ConfigError
from r1harness.train.tiny_model import init_tiny_model


def register(sub) -> None:
    p = add_command(
        sub,
        "model",
        help="tiny-model kit (build a local model for tests and laptops)",
        example="r1h model init --out models/tiny --arch qwen2 --layers 4 --hidden 128",
    )
    msub = p.add_subparsers(dest="model_command", metavar="ACTION")
    init = add_command(
        msub,
        "init",
        help="train a tokenizer on a task corpus and save a random tiny LM",
        example="r1h model init --out models/tiny --layers 2 --hidden 64 --heads 2 --corpus-file my_text.txt",
    )
    init.add_argument("--out", required=True, metavar="DIR", help="folder to save the model and tokenizer in")
    init.add_argument("--arch", choices=["qwen2", "llama"], default="qwen2")
    init.add_argument("--layers", type=int, default=4)
    init.add_argument("--hidden", type=int, default=128)
    init.add_argument("--heads", type=int, default=4)
    init.add_argument("--vocab-size", type=int, default=512)
    init.add_argument("--seed", type=int, default=0)
    init.add_argument(
        "--corpus-file",
        metavar="FILE",
        help="text to train the tokenizer on, one document per line (default: the synthetic "
        "arithmetic + countdown corpus)",
    )
    init.set_defaults(func=run_init)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_init(args) -> int:
    corpus = None
    if args.corpus_file:
        path = Path(args.corpus_file)
        if not path.exists():
            raise ConfigError(f"--corpus-file {path} does not exist")
        corpus = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = init_tiny_model(
        args.out,
        arch=args.arch,
        layers=args.layers,
        hidden=args.hidden,
        heads=args.heads,
        vocab_size=args.vocab_size,
        corpus=corpus,
        seed=args.seed,
    )
    cfg = json.loads((out / "config.json").read_text())
    print(
        json.dumps(
            {
                "out": str(out),
                "arch": args.arch,
                "vocab_size": cfg["vocab_size"],
                "layers": args.layers,
                "hidden": args.hidden,
            }
        )
    )
    return 0
