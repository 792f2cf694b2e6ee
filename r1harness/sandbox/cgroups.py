"""Per-slot cgroups (memory + pids) where the machine lets us create them: cgroup v1 (separate
`memory` and `pids` hierarchies) or cgroup v2 (the unified hierarchy).

Created *under the cgroup the service already runs in* (never at the hierarchy's root), so the
sandbox stays inside whatever limits the host put on the service. With them: memory is limited and
measured as charged memory (RSS, page cache, tmpfs writes), processes by pids.max, and every process
left in the slot's cgroup after a run is killed, whatever its session. On cgroup v2 the service's
cgroup must have `memory` and `pids` delegated (its cgroup.subtree_control must accept `+memory
+pids`, e.g. `systemd-run --scope -p Delegate=yes r1h sandbox serve`); where it does not, or
/sys/fs/cgroup is read-only, the launcher watches memory itself (process.MemoryWatch) and
/capabilities says so.
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


def _own_v2_path() -> str | None:
    """Our cgroup in the unified (v2) hierarchy: the `0::/path` line of /proc/self/cgroup."""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    return line.rstrip("\n")[3:]
    except OSError:
        return None
    return None


SERVICE_LEAF_SUFFIX = "-service"


def _v2_parent(own: str) -> str:
    """Where slot cgroups go on v2: beside the service's leaf (see enter_v2_leaf), else under `own`."""
    own = own.rstrip("/")
    leaf = os.path.basename(own)
    if leaf.startswith(PREFIX) and leaf.endswith(SERVICE_LEAF_SUFFIX):
        return os.path.dirname(own)
    return own


def enter_v2_leaf(tag: str) -> None:
    """cgroup v2 lets a cgroup either hold processes or enable controllers for children, not both: the
    server moves itself into a leaf `<own>/r1h-<tag>-service` so that `<own>` can hand memory and pids
    to the slot cgroups beside it. Does nothing on v1 or when it is not allowed (then: no cgroups)."""
    own = _own_v2_path()
    if not is_v2() or own is None or own == "/":
        return
    leaf = f"{ROOT}{own.rstrip('/')}/{PREFIX}{tag}{SERVICE_LEAF_SUFFIX}"
    try:
        os.makedirs(leaf, exist_ok=True)
        _write(f"{leaf}/cgroup.procs", str(os.getpid()))
    except OSError:
        pass


def is_v2(root: str | None = None) -> bool:
    return os.path.exists(f"{root or ROOT}/cgroup.controllers")


def create_slot_cgroup(tag: str):
    """A slot cgroup of whichever version this machine mounts; raises OSError when neither works."""
    if is_v2():
        return SlotCgroupV2.create(tag)
    return SlotCgroup.create(tag)


def _stat(path: str) -> dict[str, int]:
    out = {}
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


class SlotCgroup:
    """cgroup v1: one directory in the memory hierarchy and one in the pids hierarchy."""

    version = 1

    def __init__(self, dirs: dict[str, str]):
        self.dirs = dirs
        self.memory, self.pids = dirs["memory"], dirs["pids"]
        self._oom_before = 0
        self.own_pid: int | None = None  # the launcher, when it lives in the slot's cgroup (adopt)
        self.protected = False
        self.home: dict[str, str] = {}
        self.baseline = 0

    def adopt(self, pid: int) -> None:
        """Move the launcher itself into the slot's cgroup, once: every run it starts is born there, so
        no run pays a cgroup migration (on v1 that waits for an RCU grace period: ~10-30 ms under
        load). Its own charge is measured before each run and added to the limit; the OOM killer never
        picks a run before it (see _protect_from_oom); kill_all spares it."""
        self.protected = _protect_from_oom(pid)
        self.home = {c: os.path.dirname(d) for c, d in self.dirs.items()}
        for path in self.join_paths():
            _write(path, str(pid))
        self.own_pid = pid

    def _leave(self) -> None:
        if self.own_pid is not None:
            for home in self.home.values():
                _write(f"{home}/cgroup.procs", str(self.own_pid))
            self.own_pid = None

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
        if self.own_pid:
            self._shed_cache()
        self.baseline = int(_read(f"{self.memory}/memory.usage_in_bytes")) if self.own_pid else 0
        _write(f"{self.memory}/memory.limit_in_bytes", str(memory_bytes + self.baseline))
        if has_memsw:
            _write(memsw, str(memory_bytes + self.baseline))  # no escaping the limit into swap
        _write(f"{self.memory}/memory.max_usage_in_bytes", "0")
        _write(f"{self.memory}/memory.failcnt", "0")
        _write(f"{self.pids}/pids.max", str(max_pids + (1 if self.own_pid else 0)))
        self._oom_before = self._oom_kills()

    def _shed_cache(self) -> None:
        """Reclaim the page cache earlier runs left charged here (a compile reads 100+ MB of headers):
        it would sit in the baseline, and a run could then use it as extra room by evicting it. A
        lower limit makes the kernel reclaim, never OOM-kill (v1 answers EBUSY when it cannot)."""
        stat = _stat(f"{self.memory}/memory.stat")
        reclaimable = stat.get("total_cache", 0) - stat.get("total_shmem", 0)
        if reclaimable < 4 * 1024 * 1024:
            return
        usage = int(_read(f"{self.memory}/memory.usage_in_bytes"))
        try:
            _write(f"{self.memory}/memory.limit_in_bytes", str(max(usage - reclaimable, 1) + (1 << 20)))
        except OSError:
            pass

    def join_paths(self) -> list[str]:
        """cgroup.procs files a child writes its pid into before exec; none once the launcher lives in
        the slot's cgroup (its children are born there)."""
        if self.own_pid is not None:
            return []
        return [f"{d}/cgroup.procs" for d in self.dirs.values()]

    def _oom_kills(self) -> int:
        for line in _read(f"{self.memory}/memory.oom_control").splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def usage(self) -> tuple[float, bool]:
        """(peak charged memory in MB, whether the OOM killer or the limit struck during the run)."""
        peak = max(int(_read(f"{self.memory}/memory.max_usage_in_bytes")) - self.baseline, 0) / (1024 * 1024)
        hit = self._oom_kills() > self._oom_before or int(_read(f"{self.memory}/memory.failcnt")) > 0
        return peak, hit

    def kill_all(self, wait_s: float = 2.0) -> int:
        """SIGKILL everything still in the slot's cgroup (daemons that left the session included)."""
        return _kill_members(f"{self.pids}/cgroup.procs", self.own_pid, wait_s)

    def remove(self) -> None:
        self.kill_all()
        self._leave()
        for path in self.dirs.values():
            _rmdir(path)


class SlotCgroupV2:
    """cgroup v2: one directory with memory.max (swap off), pids.max, memory.peak and memory.events."""

    version = 2

    def __init__(self, path: str):
        self.path = path
        self._events_before: dict[str, int] = {}
        self._peak_seen = 0
        self.own_pid: int | None = None
        self.protected = False
        self.home = ""
        self.baseline = 0

    def adopt(self, pid: int) -> None:
        """As SlotCgroup.adopt; the launcher returns to the cgroup it came from on remove()."""
        self.protected = _protect_from_oom(pid)
        self.home = f"{ROOT}{(_own_v2_path() or '/').rstrip('/')}"
        _write(f"{self.path}/cgroup.procs", str(pid))
        self.own_pid = pid

    @classmethod
    def create(cls, tag: str, root: str | None = None, own: str | None = None) -> SlotCgroupV2:
        """Raises OSError naming what is missing (the controllers, or their delegation)."""
        root = root or ROOT
        own = own if own is not None else _own_v2_path()
        if own is None or not is_v2(root):
            raise OSError("no cgroup v2 unified hierarchy")
        parent = f"{root}{_v2_parent(own)}"
        enabled = set(_read(f"{parent}/cgroup.subtree_control").split())
        missing = [c for c in CONTROLLERS if c not in enabled]
        if missing:
            try:
                _write(f"{parent}/cgroup.subtree_control", " ".join("+" + c for c in missing))
            except OSError as exc:
                raise OSError(
                    f"cgroup v2: cannot enable {missing} for {parent} ({exc}); start the service in a "
                    "cgroup with memory and pids delegated (systemd-run --scope -p Delegate=yes ...)"
                ) from exc
        path = os.path.join(parent, PREFIX + tag)
        os.makedirs(path, exist_ok=True)
        group = cls(path)
        try:
            group.configure(64 * 1024 * 1024, 16)  # proves the files are writable
        except OSError:
            _rmdir(path)
            raise
        return group

    def _events(self) -> dict[str, int]:
        out = {}
        for line in _read(f"{self.path}/memory.events").splitlines():
            key, _, value = line.partition(" ")
            out[key] = int(value or 0)
        return out

    def configure(self, memory_bytes: int, max_pids: int) -> None:
        if self.own_pid and os.path.exists(f"{self.path}/memory.reclaim"):
            stat = _stat(f"{self.path}/memory.stat")  # as SlotCgroup._shed_cache; memory.reclaim never OOMs
            reclaimable = stat.get("file", 0) - stat.get("shmem", 0)
            if reclaimable >= 4 * 1024 * 1024:
                try:
                    _write(f"{self.path}/memory.reclaim", str(reclaimable))
                except OSError:
                    pass
        self.baseline = int(_read(f"{self.path}/memory.current")) if self.own_pid else 0
        _write(f"{self.path}/memory.max", str(memory_bytes + self.baseline))
        if os.path.exists(f"{self.path}/memory.swap.max"):
            _write(f"{self.path}/memory.swap.max", "0")  # no escaping the limit into swap
        _write(f"{self.path}/pids.max", str(max_pids + (1 if self.own_pid else 0)))
        peak = f"{self.path}/memory.peak"
        if os.path.exists(peak):
            try:
                _write(peak, "reset")  # Linux >= 6.12: a per-run peak
                self._peak_seen = 0
            except OSError:
                self._peak_seen = int(_read(peak))  # older kernels: peak since creation
        self._events_before = self._events()

    def join_paths(self) -> list[str]:
        return [] if self.own_pid is not None else [f"{self.path}/cgroup.procs"]

    def usage(self) -> tuple[float, bool]:
        peak_file = f"{self.path}/memory.peak"
        source = peak_file if os.path.exists(peak_file) else f"{self.path}/memory.current"
        peak = max(int(_read(source)), 0)
        if self._peak_seen and peak <= self._peak_seen:
            peak = int(_read(f"{self.path}/memory.current"))  # not reset: the old peak says nothing
        peak = max(peak - self.baseline, 0)
        events = self._events()
        hit = any(events.get(k, 0) > self._events_before.get(k, 0) for k in ("oom_kill", "max", "oom"))
        return peak / (1024 * 1024), hit

    def kill_all(self, wait_s: float = 2.0) -> int:
        kill_file = f"{self.path}/cgroup.kill"
        if os.path.exists(kill_file) and self.own_pid is None:  # cgroup.kill would take the launcher too
            pids = _read(f"{self.path}/cgroup.procs").split()
            if pids:
                _write(kill_file, "1")
        return _kill_members(f"{self.path}/cgroup.procs", self.own_pid, wait_s)

    def remove(self) -> None:
        self.kill_all()
        if self.own_pid is not None:
            _write(f"{self.home}/cgroup.procs", str(self.own_pid))
            self.own_pid = None
        _rmdir(self.path)


RUN_OOM_SCORE_ADJ = 1000  # every run: the OOM killer takes it before the launcher beside it


def _protect_from_oom(pid: int) -> bool:
    """oom_score_adj -1000 for the launcher where allowed (CAP_SYS_RESOURCE). Either way each run gets
    +1000 (raising needs no privilege), so the OOM killer picks the run; without the launcher's -1000 a
    run that lowers its own score back to 0 and holds less resident memory than the launcher (filling
    its tmpfs instead) could get the launcher killed: a sandbox_error and a slot restart, never a
    verdict (THREAT_MODEL.md)."""
    try:
        _write(f"/proc/{pid}/oom_score_adj", "-1000")
        return True
    except OSError:
        return False


def adopt_launcher(group, pid: int) -> bool:
    """Move the launcher into its slot's cgroup; False (runs then migrate one by one) where refused."""
    try:
        group.adopt(pid)
        return True
    except OSError:
        return False


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
    parents = [f"{ROOT}/{c}{(_own_path(c) or '').rstrip('/')}" for c in CONTROLLERS]
    if is_v2():
        parents = [f"{ROOT}{_v2_parent(_own_v2_path() or '/')}"]
    for parent in parents:
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            if name.startswith(PREFIX + tag_prefix):
                _rmdir(os.path.join(parent, name))


def _kill_members(procs_file: str, own_pid: int | None, wait_s: float) -> int:
    """SIGKILL every process listed in a cgroup's procs file but our own, until it is empty or time is up."""
    killed, deadline = 0, time.monotonic() + wait_s
    while True:
        pids = [int(p) for p in _read(procs_file).split() if int(p) != own_pid]
        if not pids or time.monotonic() > deadline:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.0005)  # exiting tasks leave the cgroup within a moment
