"""Generation and verification fanned out over a Ray cluster, every row written by the worker that made it.

Work is cut into chunks by the first hex digits of content ids (a prompt's id for generation, a rollout's
for verification): a chunk is "the selected items whose id starts with `ab`", so the driver holds no ids
and no rows, only chunk names and counts, and its memory stays flat in the number of rollouts. A worker
asks the store what in its chunk is still pending (the same rule as the local executor: rollout ids that do
not exist yet, verdicts not yet recorded), does it, and appends the rows itself. A chunk whose worker died
(process killed, node removed) is sent to a live worker while Ray restarts the dead one; the retry finds
the rows already written and skips them, so every row lands exactly once. A driver killed mid-run resumes
by running the same command: finished chunks find nothing pending.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1harness.errors import ConfigError, R1HarnessError
from r1harness.executors.cluster import ExecutorError, alive_nodes, connect, probe_store

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class ExecutorConfig:
    """Where fan-out work runs: `local` (this process, as before) or `ray` (an existing cluster)."""

    kind: str = "local"
    address: str = "auto"
    workers: int | None = None  # Ray actors; default: one per CPU the cluster has
    chunk_size: int = 2000  # items per chunk, roughly (chunks are id-prefix ranges)
    cpus_per_worker: float = 1.0
    gpus_per_worker: float | None = None  # default: vllm's tensor_parallel_size, else 0
    start_timeout_s: float = 600.0  # for workers to load (a large model takes minutes)
    max_attempts: int = 5  # a chunk whose worker dies this many times is an error, not a retry loop
    # requests in flight across the cluster, shared out over the workers: code verification's sandbox
    # requests, the openai backend's requests to its server
    max_in_flight: int | None = None

    def __post_init__(self):
        if self.kind not in EXECUTORS:
            raise ConfigError(f"executor kind must be one of {EXECUTORS}, not {self.kind!r}")
        numbers = {"workers": (int, type(None)), "chunk_size": int, "max_attempts": int}
        numbers["max_in_flight"] = (int, type(None))
        numbers |= {k: (int, float) for k in ("cpus_per_worker", "start_timeout_s")}
        numbers["gpus_per_worker"] = (int, float, type(None))
        for key, kind in numbers.items():
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ConfigError(f"executor {key} must be a number, got {value!r}")
        if not isinstance(self.address, str) or not self.address:
            raise ConfigError(f"executor address must be HOST:PORT or auto, got {self.address!r}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"executor workers must be at least 1, got {self.workers}")
        if self.cpus_per_worker <= 0:
            raise ConfigError(f"executor cpus_per_worker must be above 0, got {self.cpus_per_worker}")
        if self.chunk_size < 1:
            raise ConfigError(f"executor chunk_size must be at least 1, got {self.chunk_size}")
        if self.gpus_per_worker is not None and self.gpus_per_worker < 0:
            raise ConfigError(f"executor gpus_per_worker must be 0 or more, got {self.gpus_per_worker}")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ConfigError(f"executor max_in_flight must be at least 1, got {self.max_in_flight}")
        if self.start_timeout_s <= 0 or self.max_attempts < 1:
            raise ConfigError("executor start_timeout_s must be above 0 and max_attempts at least 1")


def prefix_digits(n_items: int, chunk_size: int, workers: int = 1) -> int:
    """Hex digits of id prefix that cut n_items into chunks of about chunk_size (16**digits chunks, the
    nearest power of 16, at most 16**4), and into at least as many chunks as workers when there are
    enough items: too many chunks cost a store append each, too few leave workers idle."""
    if n_items <= chunk_size and n_items < 2 * workers:
        return 0
    digits = round(math.log(max(1.0, n_items / chunk_size), 16))
    while 16**digits < workers and n_items >= 16**digits * 2:
        digits += 1
    return min(4, digits)


def chunk_counts(store, query: str, id_column: str, params: list, digits: int) -> dict[str, int]:
    """{prefix: items} of the ids `query` selects, counted in SQL (the ids never reach the driver)."""
    if digits == 0:
        n = store.sql(f"SELECT count(*) AS n FROM ({query})", params)["n"][0]
        return {"": int(n)} if n else {}
    rows = store.sql(
        f"SELECT left({id_column}, {digits}) AS prefix, count(*) AS n FROM ({query}) GROUP BY 1 ORDER BY 1",
        params,
    )
    return dict(zip(rows["prefix"].to_list(), rows["n"].to_list(), strict=True))


class _Workers:
    """A pool of Ray actors of one class, checked ready before work starts, that deals chunks out itself.

    A chunk whose actor dies (its process killed, its node removed) goes back to the queue and runs on
    another actor; the dead one is left to Ray to restart and rejoins the pool once it answers `ready`
    again (an actor whose node is gone may never come back: the others finish the work). The retried chunk
    finds the rows the dead attempt wrote and skips them, so each row lands exactly once."""

    def __init__(self, ray, cls, args: tuple, config: ExecutorConfig, gpus: float = 0.0):
        cpus = config.cpus_per_worker
        resources = ray.cluster_resources()
        if gpus and resources.get("GPU", 0) < gpus:
            raise ExecutorError(
                f"each worker needs {gpus:g} GPU(s) but the Ray cluster has {resources.get('GPU', 0):g}; "
                "start the nodes with GPUs (`ray start ... --num-gpus N`) or lower tensor_parallel_size"
            )
        n = pool_size(resources, config, gpus)
        # Ray restarts a dead actor (max_restarts); its in-flight call fails (no task retries) so the
        # chunk can move to a live actor instead of waiting for this one to come back
        remote = ray.remote(
            num_cpus=cpus, num_gpus=gpus, max_restarts=-1, max_task_retries=0, scheduling_strategy="SPREAD"
        )(cls)
        self.ray, self.config = ray, config
        self.actors = [remote.remote(*args) for _ in range(n)]
        self.retries = 0  # chunks moved to another actor after a death
        pending = {a.ready.remote(): a for a in self.actors}
        ready, waiting = _wait_ready(ray, list(pending), config.start_timeout_s)
        try:
            ray.get(ready)
        except Exception as exc:  # a backend that cannot load, a verifier that cannot start
            self.close()
            raise ExecutorError(f"a Ray worker could not start: {_root_cause(exc)}") from None
        if not ready:
            self.close()
            raise ExecutorError(
                f"no Ray worker started within {config.start_timeout_s:g}s: each wants {cpus:g} CPU "
                f"and {gpus:g} GPU, the cluster has {resources.get('CPU', 0):g} CPU and "
                f"{resources.get('GPU', 0):g} GPU (lower --ray-workers, or add nodes)"
            )
        self.free = [pending[r] for r in ready]
        self.reviving = {r: pending[r] for r in waiting}  # still starting: they join when ready

    def map(self, method: str, calls: list[tuple], bar=None, sizes: dict[str, int] | None = None):
        """Run `method(*call)` for every call, each on whichever actor is free; each result names its
        chunk (for the bar). An actor's death moves its chunk to another actor (at most `max_attempts`)."""
        ray = self.ray
        queue, attempts, inflight, results = list(range(len(calls))), {}, {}, []
        while queue or inflight:
            while queue and self.free:
                actor, i = self.free.pop(), queue.pop(0)
                inflight[getattr(actor, method).remote(*calls[i])] = (actor, i)
            if not inflight:  # every actor is dead or restarting: wait for one to come back
                self._wait_revival()
                continue
            done, _ = ray.wait(list(inflight) + list(self.reviving), num_returns=1)
            for ref in done:
                if ref in self.reviving:
                    self._revived(ref)
                    continue
                actor, i = inflight.pop(ref)
                try:
                    result = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
                    attempts[i] = attempts.get(i, 1) + 1
                    if attempts[i] > self.config.max_attempts:
                        raise ExecutorError(
                            f"a chunk lost its worker {self.config.max_attempts} times (last: "
                            f"{_root_cause(exc)}); finished chunks are kept, re-run to resume"
                        ) from None
                    self.retries += 1
                    queue.insert(0, i)
                    self.reviving[actor.ready.remote()] = actor
                    continue
                except ray.exceptions.RayTaskError as exc:  # the work itself failed: say why, plainly
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, R1HarnessError):
                        raise cause from None
                    raise ExecutorError(f"a chunk failed on a Ray worker: {_root_cause(exc)}") from None
                self.free.append(actor)
                results.append(result)
                if bar is not None and sizes is not None:
                    bar.update(sizes.get(result.get("chunk"), 0))
        return results

    def _revived(self, ref) -> None:
        actor = self.reviving.pop(ref)
        try:
            self.ray.get(ref)
        except self.ray.exceptions.ActorUnavailableError:  # still restarting: ask again
            self.reviving[actor.ready.remote()] = actor
            return
        except Exception:  # gone for good (its constructor failed on restart): the others go on
            return
        self.free.append(actor)

    def _wait_revival(self) -> None:
        if not self.reviving:
            raise ExecutorError("every Ray worker is gone; re-run the same command to resume")
        timeout = self.config.start_timeout_s
        done, _ = self.ray.wait(list(self.reviving), num_returns=1, timeout=timeout)
        if not done:
            raise ExecutorError(
                f"every Ray worker died and none came back within {timeout:g}s (were nodes removed?); "
                "finished chunks are kept: add nodes and re-run the same command to resume"
            )
        self._revived(done[0])

    def close(self):
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)


def pool_size(resources: dict, config: ExecutorConfig, gpus: float = 0.0) -> int:
    """Actors in a pool: as configured, else as many as the cluster's CPUs (and GPUs) hold."""
    by_cpu = int(resources.get("CPU", 1) // config.cpus_per_worker)
    by_gpu = int(resources.get("GPU", 0) // gpus) if gpus else by_cpu
    return config.workers or max(1, min(by_cpu, by_gpu))


def capped_options(options: dict[str, dict], config: ExecutorConfig, workers: int) -> dict[str, dict]:
    """Verifier options with the cluster-wide cap on sandbox requests shared out: each worker's code
    verifier keeps max_in_flight // workers requests in flight (at least one)."""
    if config.max_in_flight is None or "code" not in options:
        return options
    return {**options, "code": {**options["code"], "concurrency": max(1, config.max_in_flight // workers)}}


def _wait_ready(ray, refs: list, timeout: float) -> tuple[list, list]:
    """The first worker within `timeout`, the others within twice its start time (at least 10 s): a worker
    that cannot be placed (too few CPUs or GPUs) joins later instead of holding up the start."""
    import time

    began = time.monotonic()
    first, rest = ray.wait(refs, num_returns=1, timeout=timeout)
    if not first or not rest:
        return first, rest
    more, rest = ray.wait(rest, num_returns=len(rest), timeout=max(10.0, 2 * (time.monotonic() - began)))
    return first + more, rest


def _root_cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _bar(total: int, desc: str, enabled: bool):
    if not enabled or not total:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="item")


def worker_gpus(backend: dict, config: ExecutorConfig) -> float:
    """GPUs per generation actor: as configured, else a vLLM replica's tensor-parallel degree (one engine
    per actor, its shards on the actor's GPUs), else none."""
    if config.gpus_per_worker is not None:
        return config.gpus_per_worker
    if backend["name"] == "vllm":
        return float(backend.get("options", {}).get("tensor_parallel_size", 1))
    return 0.0


def start(store, config: ExecutorConfig):
    """Connect to the cluster and check every node sees the store; returns the ray module."""
    ray = connect(config.address)
    nodes = probe_store(ray, Path(store.root))
    if not nodes:
        raise ExecutorError("the Ray cluster has no alive node")
    return ray


def verify_on_ray(
    store,
    verifiers: list[str],
    config: ExecutorConfig,
    *,
    run_id: str | None,
    where: str | None = None,
    selected_run: str | None = None,
    rollout_ids: tuple[str, ...] | None = None,
    options: dict[str, dict] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Score the selected rollouts (by run, SQL condition and/or ids) with each verifier on Ray workers."""
    from r1harness.executors.workers import VerifyWorker
    from r1harness.scoring.pending import Selection
    from r1harness.scoring.scorer import Scorer

    for name in verifiers:  # bad names and options fail here, before the cluster is touched
        Scorer.resolve(name, (options or {}).get(name))
    ray = start(store, config)
    query, params = Selection(selected_run, where, rollout_ids).sql("r.rollout_id")
    query = query.removesuffix(" ORDER BY r.rollout_id")
    total = int(store.sql(f"SELECT count(*) AS n FROM ({query})", params)["n"][0])
    if not total:  # nothing selected: no workers to start
        return {
            "written": 0,
            "infra_failures": 0,
            "chunks": 0,
            "candidates": 0,
            "workers": 0,
            "chunk_retries": 0,
        }
    options = {name: dict((options or {}).get(name) or {}) for name in verifiers}
    if "math" in options:  # a worker's math pool fits the CPUs it reserved (not one per core of the node)
        options["math"].setdefault("workers", max(1, round(config.cpus_per_worker)))
    options = capped_options(options, config, pool_size(ray.cluster_resources(), config))
    workers = _Workers(ray, VerifyWorker, (str(store.root), verifiers, options), config)
    try:
        digits = prefix_digits(total, config.chunk_size, len(workers.actors))
        counts = chunk_counts(store, query, "rollout_id", params, digits)
        bar = _bar(sum(counts.values()) * len(verifiers), "verify (ray)", progress)
        calls = [(selected_run, where, rollout_ids, prefix, run_id) for prefix in counts]
        results = workers.map("run", calls, bar, {p: c * len(verifiers) for p, c in counts.items()})
        if bar is not None:
            bar.close()
    finally:
        workers.close()
    out = _merge(results) | {"chunks": len(counts), "candidates": total, "workers": len(workers.actors)}
    return out | {"chunk_retries": workers.retries}


def generate_on_ray(
    store,
    backend: dict,
    config: ExecutorConfig,
    *,
    prompts_where: str,
    params: list | None = None,
    template: str,
    sampling: dict,
    n: int,
    seed: int,
    stage: str = "generate",
    run_id: str | None = None,
    batch_size: int = 8,
    progress: bool = True,
    return_ids: bool = False,
) -> dict[str, Any]:
    """Generate n rollouts for each prompt that `prompts_where` (over prompts p) selects, on Ray actors
    that each load `backend` ({name, model, options}) once and reuse it for every chunk."""
    from r1harness.executors.checks import executor_problems
    from r1harness.executors.workers import GenerateWorker

    problems = executor_problems(
        config, backend["name"], backend.get("options", {}), sampling.get("max_tokens")
    )
    if problems:
        raise ConfigError("; ".join(problems))
    ray = start(store, config)
    query = f"SELECT p.prompt_id FROM prompts p WHERE ({prompts_where})"
    total = int(store.sql(f"SELECT count(*) AS n FROM ({query})", params or [])["n"][0])
    if not total:
        raise ConfigError(f"no prompts match {prompts_where!r}")
    gpus = worker_gpus(backend, config)
    if backend["name"] == "openai" and config.max_in_flight:  # concurrent clients share the server's cap
        share = max(1, config.max_in_flight // pool_size(ray.cluster_resources(), config, gpus))
        backend = {**backend, "options": {**backend.get("options", {}), "concurrency": share}}
    workers = _Workers(ray, GenerateWorker, (str(store.root), backend), config, gpus)
    try:
        digits = prefix_digits(total * n, config.chunk_size, len(workers.actors))
        counts = chunk_counts(store, query, "prompt_id", params or [], digits)
        bar = _bar(total * n, f"generate {backend['model']} (ray)", progress)
        job = {"template": template, "sampling": sampling, "n": n, "seed": seed, "stage": stage}
        job |= {"run_id": run_id, "batch_size": batch_size, "return_ids": return_ids}
        calls = [(prompts_where, params or [], prefix, job) for prefix in counts]
        results = workers.map("run", calls, bar, {p: c * n for p, c in counts.items()})
        if bar is not None:
            bar.close()
    finally:
        workers.close()
    out = _merge(results) | {"chunks": len(counts), "prompts": total, "workers": len(workers.actors)}
    out["chunk_retries"] = workers.retries
    out["backend_identity"] = next((r["backend_identity"] for r in results), None)
    if return_ids:  # evaluation needs them (a benchmark's few thousand ids; generation at scale never asks)
        out["rollout_ids"] = tuple(
            i for r in sorted(results, key=lambda r: r["chunk"]) for i in r["rollout_ids"]
        )
    return out


def _merge(results: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for result in results:
        for key, value in result.items():
            if isinstance(value, int | float):
                out[key] = out.get(key, 0) + value
    return out


def cluster_nodes(address: str = "auto") -> int:
    return len(alive_nodes(connect(address)))
