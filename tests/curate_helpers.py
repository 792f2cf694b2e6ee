"""Hand-made stores for the curation tests: reasoning rollouts with verdicts, general chat, benchmarks."""

from __future__ import annotations

import random

from r1harness.store.ids import prompt_id, reward_id, rollout_id

WORDS = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
    "upsilon phi chi psi omega apple river stone cloud number angle circle square triangle prime"
).split()


def words(rnd: random.Random, n: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(n))


def cot(rnd: random.Random, answer: str, n_words: int = 60) -> str:
    return f"<think>\n{words(rnd, n_words)}\n</think>\nThe answer is \\boxed{{{answer}}}."


def add_reasoning(store, items: list[dict], *, model: str = "m1") -> list[str]:
    """items: {problem, completion, correct (True/False/None = no verdict), domain, dataset, finish, index}.
    Returns the rollout ids in item order."""
    prompts, rollouts, rewards, ids = {}, [], [], []
    for item in items:
        dataset = item.get("dataset", "train_math")
        pid = prompt_id(dataset, item["problem"])
        prompts[pid] = {
            "prompt_id": pid,
            "dataset": dataset,
            "split": "train",
            "domain": item.get("domain", "math"),
            "problem": item["problem"],
            "answer": "1",
        }
        rid = rollout_id(pid, model, "t", {}, 0, item.get("index", 0))
        ids.append(rid)
        rollouts.append(
            {
                "rollout_id": rid,
                "prompt_id": pid,
                "model": model,
                "completion": item["completion"],
                "finish_reason": item.get("finish", "stop"),
                "stage": "generate",
                "sample_index": item.get("index", 0),
            }
        )
        if item.get("correct") is not None:
            ok = bool(item["correct"])
            rewards.append(
                {
                    "reward_id": reward_id(rid, "math", "1"),
                    "rollout_id": rid,
                    "verifier": "math",
                    "verifier_version": "1",
                    "status": "correct" if ok else "wrong",
                    "score": 1.0 if ok else 0.0,
                }
            )
    store.append("prompts", list(prompts.values()))
    store.append("rollouts", rollouts)
    if rewards:
        store.append("rewards", rewards)
    return ids


def add_benchmark(store, dataset: str, problems: list[str]) -> None:
    store.append(
        "prompts",
        [
            {
                "prompt_id": prompt_id(dataset, p),
                "dataset": dataset,
                "split": "test",
                "domain": "math",
                "problem": p,
            }
            for p in problems
        ],
    )


def synthetic_reasoning(n_prompts: int, k: int, seed: int = 0, correct_every: int = 3) -> list[dict]:
    """n_prompts distinct problems x k samples; every `correct_every`-th sample is wrong."""
    rnd = random.Random(seed)
    items = []
    for i in range(n_prompts):
        problem = f"Problem {i}: {words(rnd, 25)}"
        for j in range(k):
            items.append(
                {
                    "problem": problem,
                    "completion": cot(rnd, str(i)),
                    "index": j,
                    "correct": (i * k + j) % correct_every != correct_every - 1,
                }
            )
    return items
