"""Per-slot cgroups (v1 memory + pids controllers) where the machine lets us create them.

Created *under the cgroup the service already runs in* (never at the hierarchy's root), so the
sandbox stays inside whatever limits the host put on the service. With them: memory is limited and
measured as charged memory (RSS, page cache, tmpfs writes) instead of address space alone, processes
by pids.max, and every process left in the slot's cgroup after a run is killed, whatever its session.
Without them (no v1 controllers, read-only /sys/fs/cgroup, cgroup v2 only) the rlimits alone apply
and /capabilities says so.
"""

from __future__ import annotations

import os
import signal
import time

ROOT = "/sys/fs/cgroup"
CONTROLLERS = ("memory", "pids")
PREFIX = "r1h-"


def _own_path(controller: str) -> str | None:
    """Our cgroup in `controller`'s v1 hierarchy, from /proc/self/cgroup."""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, names, path = line.rstrip("\n").split(":", 2)
                if controller in names.split(","):
                    return path
    except OSError:
        return None
    return None


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


class SlotCgroup:
    def __init__(self, dirs: dict[str, str]):
        self.dirs = dirs
        self.memory, self.pids = dirs["memory"], dirs["pids"]
        self._oom_before = 0

    @classmethod
    def create(cls, tag: str) -> SlotCgroup:
        """Raises OSError when the controllers are missing or not writable."""
        dirs = {}
        try:
            for ctrl in CONTROLLERS:
                own = _own_path(ctrl)
                if own is None or not os.path.isdir(f"{ROOT}/{ctrl}"):
                    raise OSError(f"no cgroup v1 {ctrl} controller")
                path = os.path.join(f"{ROOT}/{ctrl}{own.rstrip('/')}", PREFIX + tag)
                os.makedirs(path, exist_ok=True)
                dirs[ctrl] = path
            group = cls(dirs)
            group.configure(64 * 1024 * 1024, 16)  # proves the files are writable
            return group
        except OSError:
            for path in dirs.values():
                _rmdir(path)
            raise

    def configure(self, memory_bytes: int, max_pids: int) -> None:
        """Before a run: set the limits and reset the peak and failure counters."""
        memsw = f"{self.memory}/memory.memsw.limit_in_bytes"
        has_memsw = os.path.exists(memsw)
        if has_memsw:
            _write(memsw, "-1")  # memsw may never be below the memory limit: lift it first
        _write(f"{self.memory}/memory.limit_in_bytes", str(memory_bytes))
        if has_memsw:
            _write(memsw, str(memory_bytes))  # no escaping the limit into swap
        _write(f"{self.memory}/memory.max_usage_in_bytes", "0")
        _write(f"{self.memory}/memory.failcnt", "0")
        _write(f"{self.pids}/pids.max", str(max_pids))
        self._oom_before = self._oom_kills()

    def join_paths(self) -> list[str]:
        """cgroup.procs files the child writes its pid into before exec (it is still root then)."""
        return [f"{d}/cgroup.procs" for d in self.dirs.values()]

    def _oom_kills(self) -> int:
        for line in _read(f"{self.memory}/memory.oom_control").splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def usage(self) -> tuple[float, bool]:
        """(peak charged memory in MB, whether the OOM killer or the limit struck during the run)."""
        peak = int(_read(f"{self.memory}/memory.max_usage_in_bytes")) / (1024 * 1024)
        hit = self._oom_kills() > self._oom_before or int(_read(f"{self.memory}/memory.failcnt")) > 0
        return peak, hit

    def kill_all(self, wait_s: float = 2.0) -> int:
        """SIGKILL everything still in the slot's cgroup (daemons that left the session included)."""
        killed, deadline = 0, time.monotonic() + wait_s
        while True:
            pids = [int(p) for p in _read(f"{self.pids}/cgroup.procs").split()]
            if not pids or time.monotonic() > deadline:
                return killed
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.005)

    def remove(self) -> None:
        self.kill_all()
        for path in self.dirs.values():
            _rmdir(path)


def _rmdir(path: str) -> None:
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)  # exiting tasks leave the cgroup a moment after they die


def remove_stale(tag_prefix: str) -> None:
    """Remove slot cgroups a killed service left behind (called with its base directory's name)."""
    for ctrl in CONTROLLERS:
        own = _own_path(ctrl)
        parent = f"{ROOT}/{ctrl}{(own or '').rstrip('/')}"
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            if name.startswith(PREFIX + tag_prefix):
                _rmdir(os.path.join(parent, name))
