"""`r1h train grpo|sft|r1zero-tiny`: TRL training over the store, with every rollout and metric logged."""

from __future__ import annotations

import json

from r1harness.commands._common import add_command, add_store_arg, open_store


def register(sub) -> None:
    p = add_command(
        sub,
        "train",
        help="GRPO / SFT training over the store (TRL owns the loops)",
        example="r1h train grpo --store r1h-store --config datasets/recipes/grpo_arithmetic.yaml",
    )
    tsub = p.add_subparsers(dest="train_command", metavar="ACTION")

    g = add_command(
        tsub,
        "grpo",
        help="GRPO with verifier rewards; rollouts of every step go to the store",
        example="r1h train grpo --store r1h-store --config datasets/recipes/grpo_arithmetic.yaml "
        "--option trl.learning_rate=1e-4 --max-steps 50\n"
        "  r1h train grpo --store r1h-store --config CFG.yaml --resume",
    )
    g.add_argument(
        "--config", metavar="FILE.yaml", help="run config (keys of GRPORunConfig; TRL's under trl:)"
    )
    g.add_argument("--model", help="override config.model")
    g.add_argument("--out", help="override config.output_dir")
    g.add_argument("--max-steps", type=int, help="override trl.max_steps")
    g.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its newest checkpoint"
    )
    _add_common(g)
    g.set_defaults(func=run_grpo_cmd)

    s = add_command(
        tsub,
        "sft",
        help="SFT on a set from the store (loss on assistant turns only)",
        example="r1h train sft --store r1h-store --set coldstart@v1 --model models/tiny --out runs/sft",
    )
    s.add_argument("--set", dest="set_ref", required=True, metavar="NAME@vN", help="a ready set in the store")
    s.add_argument("--model", required=True, help="model folder or hub id")
    s.add_argument("--out", required=True, metavar="DIR", help="where to save the trained model")
    s.add_argument(
        "--config", metavar="FILE.yaml", help="optional SFTRunConfig YAML (TRL options under trl:)"
    )
    s.add_argument("--max-steps", type=int, help="override trl.max_steps")
    _add_common(s)
    s.set_defaults(func=run_sft_cmd)

    z = add_command(
        tsub,
        "r1zero-tiny",
        help="R1-Zero in miniature: pretrain tiny bases, GRPO, held-out curves",
        example="r1h train r1zero-tiny --store r1z-store --config datasets/recipes/r1zero_tiny.yaml "
        "--seeds 0,1,2 --out runs/r1zero_tiny",
    )
    z.add_argument("--config", default="datasets/recipes/r1zero_tiny.yaml", metavar="FILE.yaml")
    z.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    z.add_argument("--out", default="runs/r1zero_tiny", metavar="DIR")
    _add_common(z)
    z.set_defaults(func=run_r1zero_cmd)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _add_common(p) -> None:
    p.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (dotted for nesting: trl.learning_rate=1e-5); repeatable",
    )
    add_store_arg(p)


def run_grpo_cmd(args) -> int:
    from r1harness.train.config import GRPORunConfig, load_config, parse_overrides
    from r1harness.train.grpo import run_grpo

    overrides = parse_overrides(args.option)
    for key, value in (("model", args.model), ("output_dir", args.out), ("trl.max_steps", args.max_steps)):
        if value is not None:
            overrides[key] = value
    config = load_config(GRPORunConfig, args.config, overrides)
    summary = run_grpo(open_store(args), config, resume=args.resume)
    print(json.dumps(summary, default=str))
    return 0


def run_sft_cmd(args) -> int:
    from r1harness.train.config import SFTRunConfig, load_config, parse_overrides
    from r1harness.train.sft import run_sft

    overrides = parse_overrides(args.option)
    overrides.update({"set": args.set_ref, "model": args.model, "output_dir": args.out})
    if args.max_steps is not None:
        overrides["trl.max_steps"] = args.max_steps
    config = load_config(SFTRunConfig, args.config, overrides)
    print(json.dumps(run_sft(open_store(args), config), default=str))
    return 0


def run_r1zero_cmd(args) -> int:
    from r1harness.train.config import parse_overrides
    from r1harness.train.miniature import load_recipe, run_miniature

    recipe = load_recipe(args.config, parse_overrides(args.option))
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    print(json.dumps(run_miniature(open_store(args), recipe, seeds=seeds, out_dir=args.out), default=str))
    return 0
