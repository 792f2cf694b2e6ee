"""Driver for the measured R1-Zero miniature runs (the numbers in README.md here).

    python reports/r1zero_tiny/sweep.py base --seed 0 --work W            # tokenizer + tiny LM + pretraining
    python reports/r1zero_tiny/sweep.py grpo --seed 0 --work W --tag lr3e-4 -o grpo.trl.learning_rate=3e-4

Each GRPO run gets its own store (W/<tag>/seed<N>/store) so parallel runs never share a writer; the
curves are SQL over those stores (`python reports/r1zero_tiny/curves.py STORE...`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from r1harness.store import Store
from r1harness.train.config import parse_overrides
from r1harness.train.miniature import build_base, grpo_from_base, ingest_task, load_recipe

RECIPE = "datasets/recipes/r1zero_tiny.yaml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["base", "grpo"])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--tag", default="default")
    ap.add_argument("--recipe", default=RECIPE)
    ap.add_argument("--base-seed", help="GRPO from W/bases/seed<THIS>/base (default: --seed; \"0c\" = continued)")
    ap.add_argument("-o", "--option", action="append", default=[])
    args = ap.parse_args()
    recipe = load_recipe(args.recipe, parse_overrides(args.option))
    work = Path(args.work)
    base_dir = work / "bases" / f"seed{args.seed}"
    t0 = time.time()
    if args.phase == "base":
        base = build_base(recipe, args.seed, base_dir)
        print(json.dumps({"phase": "base", "seed": args.seed, "base": str(base), "seconds": time.time() - t0}))
        return
    run_dir = work / args.tag / f"seed{args.seed}"
    base = run_dir / "base"
    if not base.exists():
        seed_of_base = args.seed if args.base_seed is None else args.base_seed
        shutil.copytree(work / "bases" / f"seed{seed_of_base}" / "base", base)
    store = Store.open(run_dir / "store")
    ingest_task(store, recipe)
    summary = grpo_from_base(store, recipe, args.seed, base, run_dir)
    print(json.dumps({"phase": "grpo", "tag": args.tag, "seed": args.seed, **summary,
                      "seconds": time.time() - t0}, default=str))


if __name__ == "__main__":
    main()
