"""Second pretraining phase for the attempt-2 base (what was run, see README.md):

    python reports/r1zero_tiny/continue_base.py --work W --steps 350 --format-share 0.05

Continues W/bases/seed0/base (phase 1: sweep.py base, 300 steps, 20% formatted documents) on the same
6000 problems, now with `format_share` of them formatted, and saves W/bases/seed0c/base."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from r1harness.tasks.corpus import pretraining_corpus
from r1harness.train.miniature import load_recipe, task_prompts
from r1harness.train.pretrain import pretrain


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--steps", type=int, default=350)
    ap.add_argument("--format-share", type=float, default=0.05)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--recipe", default="datasets/recipes/r1zero_tiny.yaml")
    args = ap.parse_args()
    recipe = load_recipe(args.recipe)
    _, heldout = task_prompts(recipe)
    corpus = pretraining_corpus(recipe.corpus["documents"], 0, format_share=args.format_share,
                                tasks={recipe.task["name"]: recipe.task.get("params", {})},
                                exclude_problems={r["problem"] for r in heldout})
    work, t0 = Path(args.work), time.time()
    pretrain(work / "bases/seed0/base", corpus, work / "bases/seed0c/base", seed=0, threads=2,
             max_steps=args.steps, per_device_train_batch_size=32, learning_rate=args.lr,
             lr_scheduler_type="cosine", warmup_steps=10, logging_steps=25)
    print(json.dumps({"phase": "continue_base", "steps": args.steps, "format_share": args.format_share,
                      "seconds": time.time() - t0}))


if __name__ == "__main__":
    main()
