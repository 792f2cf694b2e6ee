"""What `r1h validate` checks of an executor choice, without Ray, vLLM or a GPU: the settings that would
otherwise fail minutes into a run on the cluster (a replica that cannot be placed, an engine option that
fights the executor)."""

from __future__ import annotations

from r1harness.executors.ray_executor import ExecutorConfig


def executor_problems(
    executor: ExecutorConfig, backend: str, options: dict, max_tokens: int | None = None
) -> list[str]:
    """Problems with running `backend` (with engine `options`) on `executor` (empty when fine)."""
    problems: list[str] = []
    if backend == "vllm":
        from r1harness.generate.vllm_backend import engine_option_problems

        problems += [f"backend_options: {p}" for p in engine_option_problems(options, max_tokens)]
    if executor.kind != "ray" or backend != "vllm":
        return problems
    tp = options.get("tensor_parallel_size", 1)
    if executor.gpus_per_worker is not None and isinstance(tp, int) and executor.gpus_per_worker < tp:
        problems.append(
            f"executor.gpus_per_worker {executor.gpus_per_worker:g} is below tensor_parallel_size {tp}: "
            "each Ray worker runs one vLLM engine on its own GPUs (leave gpus_per_worker unset)"
        )
    for key in ("data_parallel_size", "pipeline_parallel_size"):
        if options.get(key, 1) != 1:
            problems.append(
                f"backend_options.{key}: with the ray executor every worker is one vLLM replica on one "
                "node (tensor parallel within it); replicas are executor.workers, so drop this option"
            )
    if options.get("distributed_executor_backend", "mp") != "mp":
        problems.append(
            "backend_options.distributed_executor_backend: a Ray worker already holds its replica's GPUs; "
            "vLLM's shards run as its subprocesses (mp), not as more Ray actors"
        )
    return problems
