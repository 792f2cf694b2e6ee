"""The executor choice behind `r1h verify` and `r1h generate` (and their Python API): `local` runs today's
code in this process; `ray` records the same kind of run and fans the work out (ray_executor)."""

from __future__ import annotations

from typing import Any

from r1harness.errors import ConfigError
from r1harness.executors.ray_executor import ExecutorConfig, generate_on_ray, verify_on_ray
from r1harness.store.runs import recorded_run

LOCAL = ExecutorConfig()


def verify(
    store,
    verifiers: list[str],
    *,
    executor: ExecutorConfig = LOCAL,
    run_id: str | None = None,
    where: str | None = None,
    options: dict[str, dict] | None = None,
    batch_size: int = 1024,
    progress: bool = False,
    reverify: bool = False,
):
    """`verify_store` on the chosen executor (local: a VerifySummary; ray: a dict of counts)."""
    from r1harness.scoring.verify_store import verify_store

    if executor.kind == "local":
        return verify_store(
            store, verifiers, run_id=run_id, where=where, options=options, batch_size=batch_size,
            progress=progress, reverify=reverify,
        )  # fmt: skip
    if reverify:
        raise ConfigError(
            "--reverify runs on the local executor (it re-grades what changed; drop --executor)"
        )
    config = {"verifiers": verifiers, "run": run_id, "where": where, "options": options, "executor": "ray"}
    with recorded_run(store, "verify", config=config) as run:
        out = verify_on_ray(
            store, verifiers, executor, run_id=run.run_id, where=where, selected_run=run_id, options=options,
            progress=progress,
        )  # fmt: skip
        run.summary = out
    return {"run_id": run.run_id, **out}


def generate(
    store,
    backend: dict,
    *,
    executor: ExecutorConfig,
    prompts_where: str,
    params: list | None = None,
    template: str,
    sampling: dict,
    n: int,
    seed: int,
    batch_size: int = 8,
    progress: bool = True,
    config: dict | None = None,
) -> dict[str, Any]:
    """Generation on Ray, recorded as a `generate` run (the local path is `generate_rollouts`)."""
    if executor.kind != "ray":
        raise ConfigError("executors.generate is the Ray path; locally call generate_rollouts")
    name = f"{backend['model']}"
    with recorded_run(store, "generate", name=name, config={**(config or {}), "executor": "ray"}) as run:
        out = generate_on_ray(
            store, backend, executor, prompts_where=prompts_where, params=params, template=template,
            sampling=sampling, n=n, seed=seed, run_id=run.run_id, batch_size=batch_size, progress=progress,
        )  # fmt: skip
        run.summary = out
    return {"run_id": run.run_id, **out}
