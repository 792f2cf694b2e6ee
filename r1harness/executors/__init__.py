"""Executors for the stages that fan out (generation, verification, evaluation): `local` runs them in this
process as always; `ray` sends id-prefix chunks to actors on an existing Ray cluster, each writing its own
rows to the shared store, exactly once. Ray is imported only when the ray executor is chosen."""

from r1harness.executors.cluster import QUALIFYING, ExecutorError
from r1harness.executors.ray_executor import EXECUTORS, ExecutorConfig, generate_on_ray, verify_on_ray

__all__ = ["EXECUTORS", "QUALIFYING", "ExecutorConfig", "ExecutorError", "generate_on_ray", "verify_on_ray"]
