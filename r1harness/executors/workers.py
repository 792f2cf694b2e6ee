"""The Ray actors: each opens the store itself, does one chunk at a time, appends its own rows.

They are plain classes (`ray.remote` wraps them in ray_executor), so they also run in-process in tests.
"""

from __future__ import annotations

import os
from typing import Any


def _chunk_where(where: str | None, column: str, prefix: str) -> str:
    if any(c not in "0123456789abcdef" for c in prefix):
        raise ValueError(f"a chunk prefix is hex digits, got {prefix!r}")
    own = f"starts_with({column}, '{prefix}')" if prefix else "TRUE"
    return f"({where}) AND {own}" if where else own


class VerifyWorker:
    """Scores the pending rollouts of a chunk with every verifier (the scoring path's own retry rule)."""

    def __init__(self, store_root: str, verifiers: list[str], options: dict[str, dict]):
        from r1harness.scoring.scorer import Scorer
        from r1harness.store import Store

        self.store = Store.open(store_root, create=False)
        self.scorers = [Scorer.resolve(name, options.get(name)) for name in verifiers]

    def ready(self) -> int:
        return os.getpid()

    def run(
        self, selected_run: str | None, where: str | None, rollout_ids, prefix: str, run_id: str | None
    ) -> dict[str, Any]:
        from r1harness.scoring.pending import Selection
        from r1harness.scoring.score import score_rollouts

        selection = Selection(selected_run, _chunk_where(where, "r.rollout_id", prefix), rollout_ids)
        summary = score_rollouts(self.store, self.scorers, selection, run_id=run_id, progress=False)
        return {
            "chunk": prefix,
            "written": sum(t.written for t in summary.tallies),
            "infra_failures": summary.infra_failures,
        }


class GenerateWorker:
    """Loads the backend once (one model per actor) and generates the missing rollouts of each chunk.
    With vLLM an actor is one data-parallel replica: one engine on `tensor_parallel_size` GPUs."""

    def __init__(self, store_root: str, backend: dict):
        from r1harness.generate.backend import get_backend
        from r1harness.store import Store

        options = dict(backend.get("options", {}))
        if backend["name"] == "vllm" and options.get("tensor_parallel_size", 1) > 1:
            # this actor holds the replica's GPUs (Ray set CUDA_VISIBLE_DEVICES): vLLM's shards run as
            # its subprocesses there, rather than asking Ray for more GPUs than the cluster has
            options.setdefault("distributed_executor_backend", "mp")
        self.store = Store.open(store_root, create=False)
        self.backend = get_backend(backend["name"], backend["model"], **options)

    def ready(self) -> str:
        return self.backend.model

    def run(self, prompts_where: str, params: list, prefix: str, job: dict) -> dict[str, Any]:
        from r1harness.generate.backend import SamplingParams, backend_identity
        from r1harness.generate.runner import generate_rollouts

        where = _chunk_where(prompts_where, "p.prompt_id", prefix)
        prompts = self.store.sql(
            f"SELECT p.prompt_id, p.problem, p.metadata FROM prompts p WHERE {where} ORDER BY p.prompt_id",
            params,
        )
        summary = generate_rollouts(
            self.store,
            self.backend,
            prompts,
            template=job["template"],
            sampling=SamplingParams(**job["sampling"]),
            n=job["n"],
            seed=job["seed"],
            stage=job["stage"],
            run_id=job["run_id"],
            batch_size=job["batch_size"],
            progress=False,
        )
        out = {"chunk": prefix, "generated": summary.generated, "existing": summary.existing}
        out["backend_identity"] = backend_identity(self.backend)
        if job.get("return_ids"):
            out["rollout_ids"] = summary.rollout_ids
        return out
