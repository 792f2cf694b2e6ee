"""Run one program under limits with a wall-clock deadline and capped output; classify how it ended.

Trusted code, run by a slot's launcher process (never by the HTTP server). The child is started in its
own session as the slot's uid; stdout/stderr are read while it runs (stdout past its cap ends the run as
output_limit; stderr past its cap is dropped and flagged, never a failure by itself), and a pidfd tells
us the moment it exits.

Memory is limited as memory, never as address space (which multiplies every thread's stack and malloc
arena): by the slot's memory cgroup where there is one, else by `MemoryWatch`, which polls the resident
anonymous memory of every process in the run plus what its private tmpfs mounts hold, and kills the run
past the limit.
"""

from __future__ import annotations

import ctypes
import os
import resource
import selectors
import signal
import subprocess
import time
from typing import Any

from r1harness.sandbox.limits import Limits

PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG = 38, 1
_MEMORY_MARKERS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "out of memory")


_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded once: the pre-exec hook runs between fork and exec


def _prctl(option: int, arg: int) -> None:
    _LIBC.prctl(option, arg, 0, 0, 0)


def _preexec(limits: Limits, uid: int | None, cgroup_procs: list[str], oom_score_adj: int | None = None):
    """Runs in the child between fork and exec: join the slot's cgroups, set limits, drop to the slot uid.
    No RLIMIT_AS: glibc reserves RLIMIT_STACK per thread and 64 MB per malloc arena, so an address-space
    cap fails correct multi-threaded programs; memory is enforced by the cgroup or MemoryWatch."""
    mb = 1024 * 1024
    caps = [
        (resource.RLIMIT_CPU, limits.cpu_rlimit_s),
        (resource.RLIMIT_FSIZE, limits.max_file_mb * mb),
        (resource.RLIMIT_NOFILE, limits.max_open_files),
        (resource.RLIMIT_NPROC, limits.max_processes),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_STACK, min(limits.memory_limit_mb, 256) * mb),
    ]

    def apply():
        pid = str(os.getpid()).encode()
        for path in cgroup_procs:
            fd = os.open(path, os.O_WRONLY)
            os.write(fd, pid)
            os.close(fd)
        if oom_score_adj is not None:
            fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
            os.write(fd, str(oom_score_adj).encode())
            os.close(fd)
        for which, value in caps:
            resource.setrlimit(which, (value, value))
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    return apply


def run_limited(
    argv: list[str],
    *,
    limits: Limits,
    stdin_path: str,
    cwd: str,
    env: dict[str, str],
    uid: int | None,
    pass_fds: tuple[int, ...] = (),
    orphan_wait_s: float = 0.0,
    cgroup=None,
    cancel=None,
) -> dict[str, Any]:
    """Run argv to completion or to a limit and return the /v1/run result fields. `cgroup` is the
    slot's SlotCgroup (cgroups.py) or None (memory is then watched by polling); `cancel()` returning
    True ends the run early (status "cancelled")."""
    out_buf, err_buf = _buffer("out", limits.output_limit_bytes), _buffer("err", limits.stderr_limit_bytes)
    if cgroup is not None:  # after the buffers exist: the launcher's own charge is measured here
        cgroup.configure(limits.memory_limit_mb * 1024 * 1024, limits.max_processes + 4)
    start = time.monotonic()
    with open(stdin_path, "rb") as stdin:
        proc = subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            pass_fds=pass_fds,
            start_new_session=True,
            close_fds=True,
            preexec_fn=_preexec(limits, uid, *_cgroup_args(cgroup)),
        )
    watch = None if cgroup is not None else MemoryWatch(proc.pid, limits.memory_limit_mb, limits.tmpfs_mb)
    reason = _collect(proc, out_buf, err_buf, start + limits.wall_s, watch, cancel)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    _drain(proc)
    wall_ms = (time.monotonic() - start) * 1000
    if cgroup is not None:
        cgroup.kill_all()  # anything that outlived the run, whatever session it escaped to
    usages = [usage] + reap_orphans(orphan_wait_s)
    cpu_ms = sum(u.ru_utime + u.ru_stime for u in usages) * 1000
    peak_mb, memory_hit = max(u.ru_maxrss for u in usages) / 1024, reason == "memory"
    if cgroup is not None:
        peak_mb, memory_hit = cgroup.usage()
    elif watch is not None:
        peak_mb = max(peak_mb, watch.peak_mb)
    res = _classify(
        proc.returncode,
        out_buf.take(),  # copied only now: the copy is not charged to the run's memory
        err_buf.take(),
        reason,
        limits,
        wall_ms=wall_ms,
        cpu_ms=cpu_ms,
        peak_mb=peak_mb,
        memory_hit=memory_hit,
    )
    res["stderr_truncated"] = err_buf.overflow
    return res


def _cgroup_args(cgroup) -> tuple[list[str], int | None]:
    if cgroup is None:
        return [], None
    from r1harness.sandbox.cgroups import RUN_OOM_SCORE_ADJ

    return cgroup.join_paths(), RUN_OOM_SCORE_ADJ if cgroup.own_pid is not None else None


def reap_orphans(wait_s: float = 0.0) -> list:
    """Reap descendants re-parented to us (the launcher is a child subreaper) and return their rusage.

    bwrap's outer process can exit before the namespace's init is reaped; that init, and through it the
    program, carry the CPU time and peak memory of the run, so wait up to `wait_s` for them."""
    usages, deadline = [], time.monotonic() + wait_s
    while True:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return usages
        if pid:
            usages.append(usage)
        elif time.monotonic() >= deadline:
            return usages
        else:
            time.sleep(0.0005)


class MemoryWatch:
    """Memory of a run without a memory cgroup: the resident anonymous memory (RssAnon) of every
    process under `root_pid` plus the bytes held by the sandbox's private tmpfs mounts (/tmp, /dev/shm),
    polled every POLL_S. Between two polls a program can grow by what it touches in that time (tens of
    MB), so the limit holds to within that margin."""

    POLL_S = 0.01
    TMPFS = ("tmp", "dev/shm")

    def __init__(self, root_pid: int, limit_mb: int, tmpfs_mb: int):
        self.root, self.limit, self.peak_mb = root_pid, limit_mb * 1024 * 1024, 0.0
        self.tmpfs_bytes = tmpfs_mb * 1024 * 1024
        self.next_at = 0.0

    def _pids(self) -> list[int]:
        seen, todo = [], [self.root]
        while todo and len(seen) < 4096:
            pid = todo.pop()
            seen.append(pid)
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/children") as f:
                        todo.extend(int(c) for c in f.read().split())
            except (OSError, ValueError):
                continue
        return seen

    @staticmethod
    def _rss_anon(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"RssAnon:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            pass
        return 0

    def _tmpfs(self, pids: list[int]) -> int:
        # a process in bwrap's mount namespace sees the sandbox's own tmpfs mounts through /proc/PID/root;
        # a mount counts only when it is one of ours (its size is the tmpfs cap): while bwrap is still
        # setting up, or at the unisolated level, /proc/PID/root/tmp is the host's
        for pid in reversed(pids):
            total, found = 0, False
            for mnt in self.TMPFS:
                try:
                    st = os.statvfs(f"/proc/{pid}/root/{mnt}")
                except OSError:
                    continue
                if st.f_blocks * st.f_frsize == self.tmpfs_bytes:
                    total, found = total + (st.f_blocks - st.f_bfree) * st.f_frsize, True
            if found:
                return total
        return 0

    def over(self) -> bool:
        """Poll when due; True when the run is over its memory limit."""
        now = time.monotonic()
        if now < self.next_at:
            return False
        self.next_at = now + self.POLL_S
        pids = self._pids()
        used = sum(self._rss_anon(p) for p in pids) + self._tmpfs(pids)
        self.peak_mb = max(self.peak_mb, used / (1024 * 1024))
        return used > self.limit


class _OutputBuffer:
    """A pipe's capture buffer, allocated and touched once per launcher (and cap): with the launcher in
    the slot's memory cgroup, reading a program's output must not charge new memory to the run."""

    CHUNK = 1 << 16

    def __init__(self, cap: int):
        self.cap, self.buf = cap, bytearray(cap + self.CHUNK)
        for i in range(0, len(self.buf), 4096):
            self.buf[i] = 1  # touch every page now, before any run's baseline is measured
        self.view, self.scratch = memoryview(self.buf), bytearray(self.CHUNK)
        self.pos, self.overflow = 0, False

    def reset(self) -> None:
        self.pos, self.overflow = 0, False

    def fill(self, fd: int) -> int:
        """Read what is there (0 at end of file); bytes past the cap are dropped and set `overflow`."""
        if self.pos < self.cap:
            n = os.readv(fd, [self.view[self.pos : self.pos + self.CHUNK]])
            self.pos += n
        else:
            n = os.readv(fd, [self.scratch])
            self.pos += n
        self.overflow = self.pos > self.cap
        return n

    def take(self) -> bytes:
        return bytes(self.view[: min(self.pos, self.cap)])


_BUFFERS: dict[str, _OutputBuffer] = {}


def _buffer(name: str, cap: int) -> _OutputBuffer:
    buf = _BUFFERS.get(name)
    if buf is None or buf.cap != cap:
        buf = _BUFFERS[name] = _OutputBuffer(cap)
    buf.reset()
    return buf


def _collect(
    proc: subprocess.Popen,
    out_buf: _OutputBuffer,
    err_buf: _OutputBuffer,
    deadline: float,
    watch: MemoryWatch | None,
    cancel=None,
) -> str | None:
    """Read stdout/stderr until the child exits; kill it at the deadline, the stdout cap, the memory
    limit (when watched) or a cancellation. stderr past its cap is read and dropped (flagged)."""
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    bufs = {out_fd: out_buf, err_fd: err_buf}
    pidfd = os.pidfd_open(proc.pid)
    sel = selectors.DefaultSelector()
    for fd in (out_fd, err_fd, pidfd):
        sel.register(fd, selectors.EVENT_READ)
    open_fds, reason = {out_fd, err_fd}, None
    tick = MemoryWatch.POLL_S if watch is not None else 0.1
    try:
        while open_fds or pidfd is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                reason = "wall"
                break
            reason = _stop_reason(pidfd is not None, watch, cancel)
            if reason:
                break
            for key, _ in sel.select(timeout=min(left, tick)):
                if key.fd == pidfd:
                    sel.unregister(pidfd)
                    os.close(pidfd)
                    pidfd = None
                    # after exit only a short grace for the pipes: anything still holding them
                    # (a daemon, in the unisolated mode) must not stretch the verdict
                    deadline = min(deadline, time.monotonic() + 0.2)
                    continue
                if not bufs[key.fd].fill(key.fd):
                    sel.unregister(key.fd)
                    open_fds.discard(key.fd)
                elif key.fd == out_fd and out_buf.overflow:
                    reason = "output"
                    break
            if reason:
                break
        if reason == "wall" and pidfd is None:
            reason = None  # it had exited; only leftover pipe holders were waited for
    finally:
        _kill(proc)  # the whole process group, also after a normal exit (leftover children)
        sel.close()
        if pidfd is not None:
            os.close(pidfd)
    return reason


def _stop_reason(running: bool, watch: MemoryWatch | None, cancel) -> str | None:
    if running and watch is not None and watch.over():
        return "memory"
    if cancel is not None and cancel():
        return "cancelled"
    return None


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _drain(proc: subprocess.Popen) -> None:
    for pipe in (proc.stdout, proc.stderr):
        try:
            pipe.close()
        except OSError:
            pass


def _classify(
    code: int,
    out: bytes,
    err: bytes,
    reason: str | None,
    limits: Limits,
    *,
    wall_ms: float,
    cpu_ms: float,
    peak_mb: float,
    memory_hit: bool = False,
) -> dict[str, Any]:
    sig = -code if code < 0 else (code - 128 if 128 < code < 160 else None)
    exit_code = code if code >= 0 else None
    stderr_text = err.decode("utf-8", "replace")
    if reason == "cancelled":
        status = "cancelled"
    elif reason == "memory":
        status = "memory_limit"
    elif reason == "wall" or cpu_ms > limits.time_limit_s * 1000 or sig in (signal.SIGXCPU,):
        status = "timeout"
    elif reason == "output" or sig == signal.SIGXFSZ:
        status = "output_limit"
    elif code == 0:
        status = "ok"
    elif (
        memory_hit
        or any(m in stderr_text for m in _MEMORY_MARKERS)
        or peak_mb >= 0.9 * limits.memory_limit_mb
    ):
        status = "memory_limit"
    else:
        status = "runtime_error"
    return {
        "status": status,
        "exit_code": exit_code,
        "signal": sig,
        "stdout": out.decode("utf-8", "replace"),
        "stderr": stderr_text,
        "cpu_ms": round(cpu_ms, 2),
        "wall_ms": round(wall_ms, 2),
        "peak_memory_mb": round(peak_mb, 2),
        "truncated": reason == "output",
    }
