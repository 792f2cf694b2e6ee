"""Run one program under rlimits with a wall-clock deadline and capped output; classify how it ended.

Trusted code, run by a slot's launcher process (never by the HTTP server). The child is started in its
own session as the slot's uid; stdout/stderr are read while it runs so a flood is cut off at the limit,
and a pidfd tells us the moment it exits.
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


def _preexec(limits: Limits, uid: int | None, cgroup_procs: list[str]):
    """Runs in the child between fork and exec: join the slot's cgroups, set limits, drop to the slot uid."""
    mb = 1024 * 1024
    # with a memory cgroup the limit is on charged memory; address space gets a loose backstop only
    address_space = (2 * limits.memory_limit_mb + 256) * mb if cgroup_procs else limits.memory_limit_mb * mb
    caps = [
        (resource.RLIMIT_CPU, limits.cpu_rlimit_s),
        (resource.RLIMIT_AS, address_space),
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
) -> dict[str, Any]:
    """Run argv to completion or to a limit and return the /v1/run result fields. `cgroup` is the
    slot's SlotCgroup (cgroups.py) or None for rlimits only."""
    if cgroup is not None:
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
            preexec_fn=_preexec(limits, uid, cgroup.join_paths() if cgroup else []),
        )
    out, err, reason = _collect(proc, limits, start + limits.wall_s)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    _drain(proc)
    wall_ms = (time.monotonic() - start) * 1000
    if cgroup is not None:
        cgroup.kill_all()  # anything that outlived the run, whatever session it escaped to
    usages = [usage] + reap_orphans(orphan_wait_s)
    cpu_ms = sum(u.ru_utime + u.ru_stime for u in usages) * 1000
    peak_mb, memory_hit = max(u.ru_maxrss for u in usages) / 1024, False
    if cgroup is not None:
        peak_mb, memory_hit = cgroup.usage()
    return _classify(
        proc.returncode,
        out,
        err,
        reason,
        limits,
        wall_ms=wall_ms,
        cpu_ms=cpu_ms,
        peak_mb=peak_mb,
        memory_hit=memory_hit,
    )


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


def _collect(proc: subprocess.Popen, limits: Limits, deadline: float) -> tuple[bytes, bytes, str | None]:
    """Read stdout/stderr until the child exits; kill it at the deadline or an output limit."""
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    bufs = {out_fd: bytearray(), err_fd: bytearray()}
    caps = {out_fd: limits.output_limit_bytes, err_fd: limits.stderr_limit_bytes}
    pidfd = os.pidfd_open(proc.pid)
    sel = selectors.DefaultSelector()
    for fd in (out_fd, err_fd, pidfd):
        sel.register(fd, selectors.EVENT_READ)
    open_fds, reason = {out_fd, err_fd}, None
    try:
        while open_fds or pidfd is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                reason = "wall"
                break
            for key, _ in sel.select(timeout=min(left, 0.5)):
                if key.fd == pidfd:
                    sel.unregister(pidfd)
                    os.close(pidfd)
                    pidfd = None
                    # after exit only a short grace for the pipes: anything still holding them
                    # (a daemon, in the unisolated mode) must not stretch the verdict
                    deadline = min(deadline, time.monotonic() + 0.2)
                    continue
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fd)
                    open_fds.discard(key.fd)
                elif len(bufs[key.fd]) + len(chunk) > caps[key.fd]:
                    bufs[key.fd] += chunk
                    reason = "output"
                    break
                else:
                    bufs[key.fd] += chunk
            if reason:
                break
        if reason == "wall" and pidfd is None:
            reason = None  # it had exited; only leftover pipe holders were waited for
    finally:
        _kill(proc)  # the whole process group, also after a normal exit (leftover children)
        sel.close()
        if pidfd is not None:
            os.close(pidfd)
    out = bytes(bufs[out_fd])[: limits.output_limit_bytes]
    err = bytes(bufs[err_fd])[: limits.stderr_limit_bytes]
    return out, err, reason


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
    if reason == "wall" or cpu_ms > limits.time_limit_s * 1000 or sig in (signal.SIGXCPU,):
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
