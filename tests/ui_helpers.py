"""A small store with every kind of row the web page shows, and a real server (uvicorn) over it."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
import urllib.error
import urllib.request

from r1harness.store import Store
from r1harness.store.ids import content_id, prompt_id

HOSTILE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> the answer is 5'
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def build_store(root) -> tuple[Store, dict]:
    """Prompts, a GRPO run with 3 steps, an eval run (3 problems x 4 samples), a ready set of 6 samples,
    a leaderboard row, and one rollout whose completion is hostile HTML."""
    store = Store.open(root)
    prompts = [
        {"prompt_id": prompt_id("toy", f"What is {i}+{i}?"), "dataset": "toy", "split": "test",
         "problem": f"What is {i}+{i}?", "answer": str(2 * i), "verifier": "math"}
        for i in range(1, 7)
    ]  # fmt: skip
    store.append("prompts", prompts)
    runs = [
        {"run_id": "grpo-1", "kind": "grpo", "name": "toy grpo", "status": "finished",
         "started_at": NOW, "finished_at": NOW + dt.timedelta(seconds=42), "summary": '{"cpu_seconds": 80}',
         "config": '{"lr": 0.001}'},
        {"run_id": "eval-1", "kind": "eval", "name": "toy eval", "status": "finished",
         "started_at": NOW + dt.timedelta(minutes=1), "finished_at": NOW + dt.timedelta(minutes=2)},
    ]  # fmt: skip
    store.catalog_insert("runs", runs)
    rollouts, rewards = [], []
    for step in (1, 2, 3):
        for i, p in enumerate(prompts[:4]):
            right = i < step  # accuracy rises with the step
            said = p["answer"] if right else 0
            text = f"<think>{p['problem']} wait, let me check</think><answer>{said}</answer>"
            rollouts.append(
                _rollout(p, "grpo-1", f"g{step}{i}", text, stage="grpo", step=step, reward=float(right))
            )
            rewards.append(
                _reward(rollouts[-1], "correct" if right else "wrong", p["answer"] if right else "0")
            )
    for p in prompts[:3]:
        for k in range(4):
            answer = p["answer"] if k < 3 else "7"
            text = f"<think>adding</think> The answer is \\boxed{{{answer}}}"
            rollouts.append(_rollout(p, "eval-1", f"e{k}", text, stage="eval", sample_index=k))
            rewards.append(_reward(rollouts[-1], "correct" if answer == p["answer"] else "wrong", answer))
    hostile = _rollout(prompts[5], "eval-1", "hostile", HOSTILE, stage="eval", sample_index=9)
    rollouts.append(hostile)
    rewards.append(_reward(hostile, "correct", "5"))
    store.append("rollouts", rollouts)
    store.append("rewards", rewards)
    metrics = [
        {"metric_id": content_id("m", step, name), "run_id": "grpo-1", "step": step, "name": name, "value": v}
        for step in (1, 2, 3)
        for name, v in (("rewards/accuracy/mean", step / 4), ("rewards/format/mean", 0.5 + step / 10))
    ]
    store.append("train_metrics", metrics)
    members = [r for r in rollouts if r["stage"] == "grpo"][:6]
    samples = [
        {"sample_id": content_id("sample", r["rollout_id"]), "set_name": "cold", "set_version": 1,
         "rollout_id": r["rollout_id"], "prompt_id": r["prompt_id"], "domain": "math",
         "messages": json.dumps([{"role": "user", "content": "q"},
                                 {"role": "assistant", "content": r["completion"]}])}
        for r in members
    ]  # fmt: skip
    store.append("sft_samples", samples)
    store.catalog_insert(
        "sets",
        [{"name": "cold", "version": 1, "status": "ready", "recipe": "{}", "funnel": "{}", "n_samples": 6}],
    )
    store.catalog_insert(
        "eval_results",
        [{"result_id": "res-1", "run_id": "eval-1", "model": "toy-model", "benchmark": "toy",
          "benchmark_version": "1", "protocol": '{"n": 4, "temperature": 0.6}', "metric": "pass@1",
          "value": 0.75, "ci_low": 0.5, "ci_high": 1.0, "n_problems": 3, "n_samples": 4}],
    )  # fmt: skip
    return store, {"prompts": prompts, "hostile": hostile["rollout_id"], "members": members}


def _rollout(p, run_id, tag, text, *, stage, step=None, reward=None, sample_index=0):
    return {
        "rollout_id": content_id("rollout", run_id, tag, p["prompt_id"]),
        "prompt_id": p["prompt_id"],
        "run_id": run_id,
        "model": "toy-model",
        "stage": stage,
        "step": step,
        "completion": text,
        "completion_tokens": len(text.split()),
        "reward": reward,
        "sample_index": sample_index,
    }


def _reward(rollout, status, extracted):
    return {
        "reward_id": content_id("reward", rollout["rollout_id"], "math"),
        "rollout_id": rollout["rollout_id"],
        "verifier": "math",
        "verifier_version": "test",
        "status": status,
        "score": 1.0 if status == "correct" else 0.0,
        "extracted": extracted,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving the app in a thread, stopped on exit."""

    def __init__(self, store, token=None):
        import uvicorn

        from r1harness.ui import create_app

        self.port = free_port()
        config = uvicorn.Config(create_app(store, token=token), port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the ui server did not start in 30 s")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def get(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")
