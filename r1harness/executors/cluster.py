"""Connecting to a Ray cluster and checking, before any work starts, that every node sees the store.

Workers append to the store themselves, so the store directory must be on a filesystem every node mounts
with atomic rename inside a directory and file locks that hold across nodes (each append commits under
flock): NFSv4, Lustre (mounted with `flock`), CephFS, GPFS/Spectrum Scale, or a local disk when the cluster
is one machine. Object storage (S3, GCS) and NFSv3 with client-side caching do not qualify.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from r1harness.errors import R1HarnessError

QUALIFYING = (
    "NFSv4, Lustre (mounted with -o flock), CephFS, GPFS, "
    "or a local disk when the whole cluster is this machine"
)


class ExecutorError(R1HarnessError):
    """The Ray executor cannot start: no ray, no cluster, a store a node cannot see, a backend that fails."""


def import_ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "--executor ray needs Ray: pip install 'r1harness[ray]' (on every node of the cluster)"
        ) from None
    return ray


def connect(address: str = "auto"):
    """ray.init on an existing cluster (never starts one silently); returns the ray module."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    _reachable(address)
    try:
        ray.init(address=address, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
    except ConnectionError as exc:
        raise ExecutorError(
            f"no Ray cluster at {address!r} ({exc}). Start one: `ray start --head` on this machine (and "
            "`ray start --address HEAD_IP:6379` on every other node), or pass --ray-address HOST:PORT"
        ) from None
    return ray


def _reachable(address: str) -> None:
    """Ray retries an unreachable HOST:PORT for minutes; a plain connect answers in seconds."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ExecutorError(
            f"no Ray cluster at {address!r} ({exc.strerror or exc}). Start one: `ray start --head` on the "
            "head node (and `ray start --address HEAD_IP:6379` on every other node), then pass its address"
        ) from None


def alive_nodes(ray) -> list[dict]:
    return [n for n in ray.nodes() if n.get("Alive")]


def probe_store(ray, root: Path) -> int:
    """Every alive node reads a file the driver wrote in the store and writes one back; returns the number
    of nodes that passed. Raises naming the nodes that cannot see the store."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    token = uuid.uuid4().hex
    probe = Path(root) / f".probe-{token}"
    probe.write_text(token)
    try:

        @ray.remote(num_cpus=0)
        def check(path: str, expected: str, node: str) -> str | None:
            import fcntl

            p = Path(path)
            try:
                if p.read_text() != expected:
                    return "reads different contents"
                back = p.with_name(f"{p.name}-{node[:12]}")
                with open(back, "w") as fh:  # appends commit under flock: it must work here
                    fcntl.flock(fh, fcntl.LOCK_EX)
                    fh.write(node)
                    fcntl.flock(fh, fcntl.LOCK_UN)
                os.replace(back, back.with_name(back.name + ".ok"))
            except OSError as exc:
                return f"{type(exc).__name__}: {exc}"
            return None

        nodes = alive_nodes(ray)
        refs = {
            n["NodeID"]: check.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
            ).remote(str(probe), token, n["NodeID"])
            for n in nodes
        }
        failures = {node: err for node, err in zip(refs, ray.get(list(refs.values())), strict=True) if err}
        seen = {p.name.split("-")[-1].removesuffix(".ok") for p in Path(root).glob(f".probe-{token}-*.ok")}
        missing = [n[:12] for n in refs if n[:12] not in seen and n not in failures]
        if failures or missing:
            detail = "; ".join(f"node {n[:12]}: {e}" for n, e in failures.items())
            detail += "".join(f"; node {n}: its write did not reach the driver" for n in missing)
            raise ExecutorError(
                f"the store {root} is not shared by every Ray node ({detail}). Put it on a filesystem "
                f"every node mounts with atomic rename: {QUALIFYING}"
            )
        return len(nodes)
    finally:
        for p in Path(root).glob(f".probe-{token}*"):
            p.unlink(missing_ok=True)
