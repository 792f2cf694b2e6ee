"""Seconds per GRPO step: r1harness (`run_grpo`, every rollout + rewards + metrics written to the store)
against plain `trl.GRPOTrainer` with the same tiny model, prompts, reward functions and GRPOConfig,
in the same run.

    .venv/bin/python benchmarks/grpo_overhead.py --steps 12 --repeats 2

Runs alternate (plain, r1h, r1h, plain, ...) so load from other processes hits both alike; the first step of
each run (warm-up) is excluded. Prints per-run medians and the overhead ratio r1h / plain. Target: < 1.05.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def step_timer():
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times = []

        def on_step_begin(self, args, state, control, **kwargs):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter() - self.t0)

    return StepTimer()


def setup(root: Path, n_prompts: int):
    from r1harness.store.ids import prompt_id
    from r1harness.tasks import arithmetic
    from r1harness.tasks.corpus import pretraining_corpus
    from r1harness.train.tiny_model import init_tiny_model

    model = init_tiny_model(
        root / "model", layers=2, hidden=64, heads=2, corpus=pretraining_corpus(500, 0, format_share=0.2)
    )
    rows = arithmetic.generate(n_prompts, 0, digits=2)
    prompts = [
        {
            "prompt_id": prompt_id("bench", r["problem"]),
            "dataset": "bench",
            "split": "train",
            "domain": "math",
            "problem": r["problem"],
            "answer": r["answer"],
            "verifier": "math",
            "metadata": json.dumps(r["metadata"]),
        }
        for r in rows
    ]
    return model, prompts


def run_plain(model, prompts, config, steps: int) -> list[float]:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from r1harness.train.data import grpo_dataset
    from r1harness.train.grpo import _grpo_args
    from r1harness.train.rewards import build_reward_components

    args = _grpo_args(GRPOConfig, config, Path(config.output_dir))
    timer = step_timer()
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(model),
        args=args,
        reward_funcs=build_reward_components(config.rewards),
        train_dataset=grpo_dataset(prompts, config.template),
        processing_class=AutoTokenizer.from_pretrained(model),
        callbacks=[timer],
    )
    trainer.train()
    return timer.times[1:]


class TimedStore:
    """Wraps a Store and adds up the wall time spent in append() (the store logging itself)."""

    def __init__(self, store):
        self._store, self.append_s = store, 0.0

    def append(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self._store.append(*args, **kwargs)
        finally:
            self.append_s += time.perf_counter() - t0

    def __getattr__(self, name):
        return getattr(self._store, name)


def run_r1h(store_dir, model, prompts, config) -> tuple[list[float], float]:
    from r1harness.store import Store
    from r1harness.train.grpo import run_grpo

    store = Store.open(store_dir)
    store.append("prompts", prompts)
    timed = TimedStore(store)
    timer = step_timer()
    run_grpo(timed, config, callbacks=[timer])
    return timer.times[1:], timed.append_s / max(1, len(timer.times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--prompts-per-step", type=int, default=8)
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    from r1harness.train.config import GRPORunConfig, RewardSpec

    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="grpo_overhead_"))
    try:
        model, prompts = setup(root, 400)
        plain, r1h, append_per_step = [], [], []
        for rep in range(args.repeats):
            config = GRPORunConfig(
                model=str(model),
                dataset="bench",
                output_dir=str(root / f"out{rep}"),
                checkpoint_every=10_000,
                rewards=(
                    RewardSpec("accuracy", "math", 1.0, {"workers": 1}),
                    RewardSpec("format", "format", 0.5),
                ),
                trl={
                    "max_steps": args.steps,
                    "per_device_train_batch_size": args.prompts_per_step * args.generations,
                    "num_generations": args.generations,
                    "max_completion_length": 48,
                    "beta": 0.0,
                    "learning_rate": 1e-4,
                    "save_strategy": "no",
                    "logging_steps": 1,
                },
            )
            # alternate which goes first, so drifting load from other processes does not favour one side
            for side in ("plain", "r1h") if rep % 2 == 0 else ("r1h", "plain"):
                if side == "plain":
                    plain += run_plain(model, prompts, config, args.steps)
                else:
                    times, append_s = run_r1h(root / f"store{rep}", model, prompts, config)
                    r1h += times
                    append_per_step.append(append_s)
        mp, mr = statistics.median(plain), statistics.median(r1h)
        print(
            json.dumps(
                {
                    "steps_timed": len(plain),
                    "plain_s_per_step_median": round(mp, 4),
                    "r1h_s_per_step_median": round(mr, 4),
                    "plain_mean": round(statistics.mean(plain), 4),
                    "r1h_mean": round(statistics.mean(r1h), 4),
                    "overhead_ratio_median": round(mr / mp, 3),
                    "overhead_ratio_mean": round(statistics.mean(r1h) / statistics.mean(plain), 3),
                    "store_append_s_per_step": round(statistics.mean(append_per_step), 4),
                    "append_share_of_r1h_step": round(statistics.mean(append_per_step) / mr, 4),
                    "rollouts_per_step": args.prompts_per_step * args.generations,
                }
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
