"""Which isolation this machine allows, probed at start-up, and the command line that applies it.

Levels, strongest first (THREAT_MODEL.md says what each covers):
  full     bwrap as a per-slot unprivileged uid: new user/mount/pid/net/ipc/uts/cgroup namespaces,
           read-only /usr, private tmpfs /tmp as the working dir, no_new_privs, seccomp denylist, rlimits
  bwrap    the same without the seccomp filter (non-x86_64 machines, or the filter failed to load)
  none     no namespaces: a scrubbed environment, rlimits, its own session and (as root) its own uid.
           The service reports safe=false at this level and says so in its log.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from r1harness.sandbox import seccomp
from r1harness.sandbox.limits import Limits

SANDBOX_WORK = "/sandbox"  # where the session's files appear inside bwrap
FIRST_SLOT_UID = 60000  # slot i runs as uid 60000 + i (no passwd entry needed)
SYSTEM_PYTHON = "/usr/bin/python3"  # readable by the sandbox uid, unlike a venv under /root
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
}


@dataclass(frozen=True)
class Isolation:
    level: str  # full | bwrap | none
    bwrap: str | None = None
    uid_per_slot: bool = False
    seccomp: bool = False
    cgroups: bool = False  # per-slot memory+pids cgroups (else MemoryWatch and rlimits)
    cgroup_version: int = 0  # 1 or 2 when cgroups
    facts: dict[str, Any] = field(default_factory=dict)  # what the start-up probe measured
    warnings: tuple[str, ...] = ()

    @property
    def safe(self) -> bool:
        """Namespaces, a per-slot uid, and every declared limit enforced (see `enforced`)."""
        return self.level in ("full", "bwrap") and self.uid_per_slot and all(self.enforced().values())

    def enforced(self) -> dict[str, str | None]:
        """How each declared limit is enforced here; None where it is not."""
        cg = f"cgroup v{self.cgroup_version}" if self.cgroups else None
        ns = self.namespaces
        nproc = "RLIMIT_NPROC (per-slot uid)" if self.uid_per_slot else None
        return {
            "time_limit_s": "RLIMIT_CPU + measured CPU time",
            "wall_limit_s": "wall-clock deadline, then SIGKILL",
            "memory_limit_mb": f"{cg} memory limit (charged memory, tmpfs included)"
            if cg
            else "launcher polls RssAnon of every process + tmpfs use every 10 ms (MemoryWatch)",
            "max_processes": f"{cg} pids.max" if cg else nproc,
            "output_limit_bytes": "read while running, killed past the cap",
            "stderr_limit_bytes": "read while running, truncated past the cap",
            "max_file_mb": "RLIMIT_FSIZE",
            "max_open_files": "RLIMIT_NOFILE",
            "tmpfs_mb": "sized tmpfs /tmp and /dev/shm; /dev read-only" if ns else None,
            "network": "empty network namespace" if ns else None,
        }

    @property
    def namespaces(self) -> bool:
        return self.level != "none"

    def slot_uid(self, slot: int) -> int | None:
        return FIRST_SLOT_UID + slot if self.uid_per_slot else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Isolation:
        data = {k: v for k, v in data.items() if k not in ("safe", "enforced")}
        return cls(**{**data, "warnings": tuple(data.get("warnings", ()))})

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["safe"] = self.safe
        d["enforced"] = self.enforced()
        d["warnings"] = list(self.warnings)
        return d


def bwrap_path() -> str | None:
    """$R1H_SANDBOX_BWRAP overrides the lookup (set it to 'none' to force the unisolated level)."""
    forced = os.environ.get("R1H_SANDBOX_BWRAP")
    if forced is not None:
        return None if forced in ("", "none") else forced
    return shutil.which("bwrap")


def sandbox_argv(
    iso: Isolation,
    argv: list[str],
    *,
    session_dir: str,
    limits: Limits,
    writable_work: bool,
    seccomp_fd: int | None,
) -> list[str]:
    """Wrap an in-sandbox command line (paths under /sandbox) in bwrap, or map it onto the host."""
    if not iso.namespaces:
        return [a.replace(SANDBOX_WORK, session_dir) for a in argv]
    cmd = [
        iso.bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/sbin",
        "/sbin",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        # every writable tmpfs is sized, and its contents count against the memory limit (charged to
        # the memory cgroup, or added by MemoryWatch); /dev itself is read-only (its nodes still work)
        "--size",
        str(limits.tmpfs_mb * 1024 * 1024),
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        "--size",
        str(limits.tmpfs_mb * 1024 * 1024),
        "--tmpfs",
        "/tmp",
        "--bind" if writable_work else "--ro-bind",
        session_dir,
        SANDBOX_WORK,
        "--remount-ro",
        "/",  # the sandbox's own root tmpfs: nothing writable but /tmp (and compiles)
        "--chdir",
        SANDBOX_WORK if writable_work else "/tmp",
        "--hostname",
        "sandbox",
        "--clearenv",
    ]
    for key, value in {**BASE_ENV, "HOME": "/tmp", "TMPDIR": "/tmp"}.items():
        cmd += ["--setenv", key, value]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    return cmd + ["--"] + argv


def host_env(cwd: str) -> dict[str, str]:
    """The scrubbed environment for the unisolated level (bwrap clears it itself)."""
    return {**BASE_ENV, "HOME": cwd, "TMPDIR": cwd}


PROBE_PROGRAM = r"""
import json, os, platform, socket
facts = {"uid": os.getuid(), "pid": os.getpid(), "hostname": socket.gethostname()}
facts["python_version"] = platform.python_version()
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("127.0.0.1", 9))
    facts["inet_socket"] = "connected"
except OSError as exc:
    facts["inet_socket"] = type(exc).__name__ + ": " + str(exc.strerror)
with open("/proc/self/status") as f:
    st = dict(l.split(":", 1) for l in f if ":" in l)
facts["no_new_privs"] = st.get("NoNewPrivs", "").strip() == "1"
facts["seccomp_mode"] = st.get("Seccomp", "").strip()
facts["host_root_visible"] = os.path.exists("/root") or os.path.exists("/etc/shadow")
facts["canary_visible"] = any(k.startswith("R1H_") for k in os.environ)
facts["env_keys"] = sorted(os.environ)
print(json.dumps(facts))
"""


def describe(iso: Isolation) -> str:
    if iso.safe:
        limits = f"cgroup v{iso.cgroup_version} memory+pids" if iso.cgroups else "memory watch"
        return f"sandbox isolation: {iso.level} (namespaces, per-slot uid, seccomp={iso.seccomp}, {limits})"
    return f"sandbox isolation: {iso.level} -- NOT SAFE for untrusted code: " + "; ".join(iso.warnings)


def candidates(cgroup_version: int) -> list[Isolation]:
    """Configurations to try, strongest first; the probe keeps the first that works."""
    bw = bwrap_path()
    root = os.geteuid() == 0
    levels = []
    if bw:
        if seccomp.available():
            levels.append(Isolation("full", bw, uid_per_slot=root, seccomp=True))
        levels.append(Isolation("bwrap", bw, uid_per_slot=root, seccomp=False))
    levels.append(Isolation("none", None, uid_per_slot=root, seccomp=False))
    out = []
    for level in levels:
        if cgroup_version:
            out.append(replace(level, cgroups=True, cgroup_version=cgroup_version))
        out.append(level)
    return out


def why_weaker(chosen: Isolation, failures: list[str]) -> tuple[str, ...]:
    notes = list(failures)
    if chosen.level == "none":
        notes.append(
            "no namespaces: bubblewrap missing or unusable (install it: "
            "scripts/install-system-deps.sh); programs can see the host filesystem and network"
        )
    if not chosen.uid_per_slot:
        notes.append(
            "not running as root: cannot give each slot its own uid, so RLIMIT_NPROC counts the "
            "service's own processes and a fork bomb is bounded only by the wall limit"
        )
    if chosen.level != "full" and chosen.level != "none":
        notes.append("no seccomp filter (only x86_64 is supported)")
    if not chosen.cgroups:
        notes.append(
            "no per-slot cgroups (no writable v1 memory/pids or delegated v2 controllers, or "
            "use_cgroups: false): memory is watched by polling (within ~10 ms of growth) and processes "
            "are limited by RLIMIT_NPROC"
        )
    return tuple(notes)


def slot_uid_processes(max_slots: int = 64) -> list[int]:
    """Pids of live processes running as any slot uid (after a run or a shutdown there must be none)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration, ValueError):
            continue
        if FIRST_SLOT_UID <= uid < FIRST_SLOT_UID + max_slots:
            found.append(int(pid))
    return found


def python_executable() -> str:
    return SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable
