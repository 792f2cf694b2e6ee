"""`r1h train grpo|sft|r1zero-tiny`: TRL training over the store, with every rollout and metric logged."""

from __future__ import annotations

import json
from pathlib import Path

from r1harness.commands._common import add_command, add_set_arg, add_store_arg, open_store, warn_deprecated
from r1harness.console import library_output_to
from r1harness.errors import ConfigError


def register(sub) -> None:
    p = add_command(
        sub,
        "train",
        help="GRPO / SFT training over the store (TRL owns the loops)",
        example="r1h train grpo --store r1h-store --config datasets/training/grpo_arithmetic.yaml",
    )
    tsub = p.add_subparsers(dest="train_command", metavar="ACTION")

    g = add_command(
        tsub,
        "grpo",
        help="GRPO with verifier rewards; rollouts of every step go to the store",
        example="r1h train grpo --store r1h-store --config datasets/training/grpo_arithmetic.yaml "
        "--set trl.learning_rate=1e-4 --max-steps 50\n"
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
        example="r1h train sft coldstart@v1 --store r1h-store --model models/tiny --out runs/sft",
    )
    s.add_argument("ref", nargs="?", metavar="NAME@vN", help="a ready set in the store")
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
        help="R1-Zero in miniature: the pipeline's prompts, base, r1zero and eval stages once per seed",
        example="r1h train r1zero-tiny --store r1z-store --seeds 0,1,2 --out runs/r1zero_tiny\n"
        "  r1h train r1zero-tiny --store r1z-store --seeds 0 --set r1zero.trl.max_steps=50 --set threads=1",
    )
    z.add_argument(
        "--config",
        default="r1zero_tiny",
        metavar="NAME|FILE.yaml",
        help="a pipeline config (default datasets/pipelines/r1zero_tiny.yaml); --set keys are its keys",
    )
    z.add_argument("--seeds", default="0", help="comma-separated seeds, one pipeline run each (default 0)")
    z.add_argument("--out", default=None, metavar="DIR", help="models, checkpoints (work_dir)")
    z.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_common(z)
    z.set_defaults(func=run_r1zero_cmd)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _add_common(p) -> None:
    add_set_arg(p)
    add_store_arg(p)


def run_grpo_cmd(args) -> int:
    from r1harness.configs import parse_overrides
    from r1harness.train.config import GRPORunConfig, load_config
    from r1harness.train.grpo import run_grpo

    overrides = parse_overrides(args.set)
    for key, value in (("model", args.model), ("output_dir", args.out), ("trl.max_steps", args.max_steps)):
        if value is not None:
            overrides[key] = value
    config = load_config(GRPORunConfig, args.config, overrides)
    with library_output_to(Path(config.output_dir) / "r1h.log"):
        summary = run_grpo(open_store(args), config, resume=args.resume)
    print(json.dumps(summary, default=str))
    return 0


def run_sft_cmd(args) -> int:
    from r1harness.configs import parse_overrides
    from r1harness.train.config import SFTRunConfig, load_config
    from r1harness.train.sft import run_sft

    refs = [value for value in args.set if "=" not in value]  # the old spelling `--set NAME@vN`
    if refs:
        warn_deprecated("--set NAME@vN", "r1h train sft NAME@vN (--set is for KEY=VALUE overrides)")
    ref = args.ref or (refs[-1] if refs else None)
    if ref is None:
        raise ConfigError("give the set to train on: r1h train sft NAME@vN --model ... --out ...")
    overrides = parse_overrides([value for value in args.set if "=" in value])
    overrides.update({"set": ref, "model": args.model, "output_dir": args.out})
    if args.max_steps is not None:
        overrides["trl.max_steps"] = args.max_steps
    config = load_config(SFTRunConfig, args.config, overrides)
    out = Path(config.output_dir)  # the model folder, replaced whole at the end: the log goes beside it
    with library_output_to(out.with_name(out.name + ".r1h.log")):
        summary = run_sft(open_store(args), config)
    print(json.dumps(summary, default=str))
    return 0


def run_r1zero_cmd(args) -> int:
    """A thin wrapper over the pipeline runner: the config's stages, once per seed."""
    from r1harness.configs import parse_overrides
    from r1harness.pipeline import load_pipeline_config
    from r1harness.pipeline.miniature import run_seeds

    overrides = parse_overrides(args.set)
    if args.out is not None:
        overrides["work_dir"] = args.out
    config = load_pipeline_config(args.config, overrides)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    quiet = args.quiet
    with library_output_to(config.work_path / "r1h.log", announce=not quiet, training_bars=not quiet):
        results = run_seeds(open_store(args), config, seeds, progress=not args.quiet)
    print(json.dumps(results, default=str))
    return 0
