"""A slot's launcher: a small trusted process that starts sandboxed runs for the server.

The HTTP server never forks untrusted code itself. Each slot is one launcher process, a child
subreaper (PR_SET_CHILD_SUBREAPER) that reaps every leftover after each run, talking JSON lines over
its stdin/stdout:

  {"op": "open", "files": {name: text}, "writable": bool} -> {"session": dir}
  {"op": "exec", "session": dir, "argv": [...], "stdin": str, "limits": {...}, "writable": bool}
                                                            -> /v1/run result fields
  {"op": "write", "session": dir, "files": {name: text}}    -> {}
  {"op": "close", "session": dir}                           -> {}

`python -m r1harness.sandbox.launcher --probe --base DIR` prints the strongest isolation that works here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from typing import Any

from r1harness.sandbox import isolation as isol
from r1harness.sandbox import seccomp
from r1harness.sandbox.cgroups import adopt_launcher, create_slot_cgroup
from r1harness.sandbox.limits import Limits
from r1harness.sandbox.process import _prctl, reap_orphans, run_limited

PR_SET_CHILD_SUBREAPER = 36


class Launcher:
    def __init__(self, iso: isol.Isolation, slot: int, base_dir: str):
        self.iso, self.slot, self.base = iso, slot, base_dir
        self.uid = iso.slot_uid(slot)
        self.filter = seccomp.build_filter() if iso.seccomp else None
        self.private = tempfile.mkdtemp(prefix=f"slot{slot}-private-", dir=base_dir)
        os.chmod(self.private, 0o700)
        self.runs = 0
        tag = f"{os.path.basename(base_dir)}-slot{slot}"
        self.cgroup = create_slot_cgroup(tag) if iso.cgroups else None
        if self.cgroup is not None:
            adopt_launcher(self.cgroup, os.getpid())

    def shutdown(self) -> None:
        if self.cgroup is not None:
            self.cgroup.remove()
        shutil.rmtree(self.private, ignore_errors=True)

    def open(self, files: dict[str, str], writable: bool = False) -> str:
        """A fresh session directory. Only here may names hold one folder level (`graders/x.cpp`, as
        Piston packages send them): the folders are created before any sandboxed code runs."""
        session = tempfile.mkdtemp(prefix=f"slot{self.slot}-", dir=self.base)
        os.chmod(session, 0o755)
        if any(n.count("/") > 1 for n in files):
            raise ValueError("file names may hold at most one folder level")
        folders = sorted({n.split("/")[0] for n in files if "/" in n})
        for folder in folders:
            _check_name(folder)
            os.mkdir(os.path.join(session, folder), 0o755)
        self.write(session, {n: t for n, t in files.items() if "/" not in n})
        for folder in folders:
            inside = {n.split("/", 1)[1]: t for n, t in files.items() if n.startswith(folder + "/")}
            self.write(session, inside, os.path.join(session, folder))
        if writable and self.uid is not None:
            for path in [session] + [os.path.join(session, f) for f in folders]:
                os.chown(path, self.uid, self.uid)
        return session

    def copy(self, source: str) -> str:
        """A read-only copy of another slot's (compiled) session, so that slot can run its tests too.
        Links are copied as links, never followed (a compile could have left one)."""
        if os.path.dirname(os.path.abspath(source)) != self.base or not os.path.isdir(source):
            raise ValueError(f"not a session of this service: {source}")
        session = tempfile.mkdtemp(prefix=f"slot{self.slot}-", dir=self.base)
        os.chmod(session, 0o755)
        shutil.copytree(source, session, symlinks=True, dirs_exist_ok=True)
        for root, dirs, files in os.walk(session):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), 0, 0)
        os.chown(session, 0, 0)
        return session

    def write(self, session: str, files: dict[str, str], folder: str | None = None) -> None:
        if os.path.dirname(session) != self.base:
            raise ValueError(f"not a session of this launcher: {session}")
        for name, text in files.items():
            _check_name(name)
            path = os.path.join(folder or session, name)
            if os.path.lexists(path):
                os.unlink(path)  # never follow a link a sandboxed compile may have left
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)

    def seal(self, session: str, paths: list[str]) -> None:
        """Make files the sandbox built root-owned and execute-only: a process exec'd from a file it
        cannot read is not dumpable, so same-uid processes cannot reach its /proc files."""
        if os.path.dirname(session) != self.base:
            raise ValueError(f"not a session of this launcher: {session}")
        for rel in paths:
            parts = rel.split("/")
            for part in parts:
                _check_name(part)
            path = os.path.join(session, *parts)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)  # never a link the compile left
            try:
                os.fchown(fd, 0, 0)
                os.fchmod(fd, 0o111)
            finally:
                os.close(fd)

    def close(self, session: str) -> None:
        if os.path.dirname(session) == self.base:
            shutil.rmtree(session, ignore_errors=True)

    def exec(
        self, session: str, argv: list[str], stdin: str, limits: Limits, writable: bool = False
    ) -> dict[str, Any]:
        self.runs += 1
        stdin_path = os.path.join(self.private, "stdin")
        with open(stdin_path, "w", encoding="utf-8") as f:
            f.write(stdin)
        cwd, fds = self._run_dir(session), ()
        read_fd = None
        if self.filter is not None:
            read_fd, write_fd = os.pipe()
            os.write(write_fd, self.filter)
            os.close(write_fd)
            fds = (read_fd,)
        try:
            cmd = isol.sandbox_argv(
                self.iso, argv, session_dir=session, limits=limits, writable_work=writable, seccomp_fd=read_fd
            )
            env = isol.host_env(cwd) if not self.iso.namespaces else {}
            return run_limited(
                cmd,
                limits=limits,
                stdin_path=stdin_path,
                cwd=cwd,
                env=env,
                uid=self.uid,
                pass_fds=fds,
                orphan_wait_s=1.0 if self.iso.namespaces else 0.0,
                cgroup=self.cgroup,
            )
        finally:
            if read_fd is not None:
                os.close(read_fd)
            if cwd != session and cwd != self.private:
                shutil.rmtree(cwd, ignore_errors=True)
            reap_orphans()

    def _run_dir(self, session: str) -> str:
        """bwrap gives each run a fresh tmpfs; unisolated runs get a fresh directory instead."""
        if self.iso.namespaces:
            return self.private
        run_dir = tempfile.mkdtemp(prefix="run-", dir=session)
        if self.uid is not None:
            os.chown(run_dir, self.uid, self.uid)
        return run_dir


def _check_name(name: str) -> None:
    if not name or "/" in name or name.startswith(".") or "\0" in name:
        raise ValueError(f"bad file name {name!r}")


def probe(base_dir: str, use_cgroups: bool = True) -> isol.Isolation:
    """Try each isolation level, strongest first, by running a probe program under it."""
    failures: list[str] = []
    cgroup_version = 0
    if not use_cgroups:
        failures.append("cgroups: disabled by configuration (use_cgroups: false)")
    else:
        try:
            group = create_slot_cgroup(f"{os.path.basename(base_dir)}-probe")
            cgroup_version = group.version
            group.remove()
        except OSError as exc:
            failures.append(f"cgroups: {exc}")
    for cand in isol.candidates(cgroup_version):
        try:
            facts = _probe_one(cand, base_dir)
        except Exception as exc:  # a level that cannot start is simply not available here
            failures.append(f"{cand.level}{'+cgroups' if cand.cgroups else ''}: {exc}")
            continue
        problem = _probe_problem(cand, facts)
        if problem:
            failures.append(f"{cand.level}{'+cgroups' if cand.cgroups else ''}: {problem}")
            continue
        chosen = replace(cand, facts=facts)
        return replace(chosen, warnings=isol.why_weaker(chosen, failures))
    raise RuntimeError("no isolation level works here, not even plain processes: " + "; ".join(failures))


def _probe_one(cand: isol.Isolation, base_dir: str) -> dict[str, Any]:
    launcher = Launcher(cand, 0, base_dir)
    session = launcher.open({"probe.py": isol.PROBE_PROGRAM})
    try:
        res = launcher.exec(
            session,
            [isol.python_executable(), "-I", f"{isol.SANDBOX_WORK}/probe.py"],
            "",
            Limits(time_limit_s=10, memory_limit_mb=512),
        )
    finally:
        launcher.close(session)
        launcher.shutdown()
    if res["status"] != "ok":
        raise RuntimeError(f"probe program ended {res['status']}: {res['stderr'][-300:]}")
    facts = json.loads(res["stdout"])
    facts["probe_wall_ms"] = res["wall_ms"]
    return facts


def _probe_problem(cand: isol.Isolation, facts: dict[str, Any]) -> str | None:
    if cand.uid_per_slot and facts["uid"] != isol.FIRST_SLOT_UID:
        return f"ran as uid {facts['uid']}, not the slot uid"
    if cand.namespaces and (
        facts["pid"] > 5 or facts["inet_socket"] == "connected" or facts["host_root_visible"]
    ):
        return f"namespaces not in effect: {facts}"
    if cand.seccomp and facts["seccomp_mode"] != "2":
        return f"seccomp filter not in effect (Seccomp: {facts['seccomp_mode']})"
    return None


def serve_pipe(iso: isol.Isolation, slot: int, base_dir: str) -> int:
    """The launcher's main loop: one JSON request per line on stdin, one JSON reply per line."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # nothing we call may write into the protocol stream
    launcher = Launcher(iso, slot, base_dir)
    for line in sys.stdin:
        try:
            reply = _handle(launcher, json.loads(line))
        except Exception as exc:  # reported to the server as a sandbox_error, never a verdict
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        proto.write(json.dumps(reply) + "\n")
        proto.flush()
    launcher.shutdown()
    return 0


def _handle(launcher: Launcher, req: dict[str, Any]) -> dict[str, Any]:
    op = req.get("op")
    if op == "open" and req.get("copy_from"):
        return {"session": launcher.copy(req["copy_from"])}
    if op == "open":
        return {"session": launcher.open(req.get("files", {}), bool(req.get("writable")))}
    if op == "exec":
        return launcher.exec(
            req["session"],
            req["argv"],
            req.get("stdin", ""),
            Limits(**req["limits"]),
            bool(req.get("writable")),
        )
    if op == "write":
        launcher.write(req["session"], req.get("files", {}))
        return {}
    if op == "seal":
        launcher.seal(req["session"], req.get("paths", []))
        return {}
    if op == "close":
        launcher.close(req["session"])
        return {}
    raise ValueError(f"unknown op {op!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base", required=True)
    ap.add_argument("--slot", type=int, default=0)
    ap.add_argument("--probe", action="store_true")
    ap.add_argument("--no-cgroups", action="store_true", help="probe without per-slot cgroups")
    ap.add_argument("--isolation", help="JSON of the Isolation the server chose")
    args = ap.parse_args(argv)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if args.probe:
        print(json.dumps(probe(args.base, use_cgroups=not args.no_cgroups).to_dict()))
        return 0
    return serve_pipe(isol.Isolation.from_dict(json.loads(args.isolation)), args.slot, args.base)


if __name__ == "__main__":
    raise SystemExit(main())
