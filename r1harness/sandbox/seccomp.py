"""A seccomp denylist for sandboxed programs, as a raw classic-BPF program for `bwrap --seccomp FD`.

Written by hand (about 60 instructions) rather than through libseccomp so the sandbox needs no extra
native dependency; the filter is x86_64-only and `available()` says so on other machines. Denied calls
fail with EPERM (programs see an error, not a crash); clone3 fails with ENOSYS so glibc falls back to
clone, whose namespace flags are then checked; sockets other than AF_UNIX fail with EAFNOSUPPORT.
"""

from __future__ import annotations

import errno
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW, _RET_KILL_PROCESS, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_OFF_NR, _OFF_ARCH, _OFF_ARG0 = 0, 4, 16

# x86_64 syscall numbers: kernel/module/mount/namespace/tracing/keyring/clock/io_uring surfaces that
# a program judged against tests never needs.
DENIED_SYSCALLS = {
    "ptrace": 101,
    "syslog": 103,
    "personality": 135,
    "vhangup": 153,
    "adjtimex": 159,
    "pivot_root": 155,
    "chroot": 161,
    "acct": 163,
    "settimeofday": 164,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "sethostname": 170,
    "setdomainname": 171,
    "iopl": 172,
    "ioperm": 173,
    "init_module": 175,
    "delete_module": 176,
    "quotactl": 179,
    "nfsservctl": 180,
    "lookup_dcookie": 212,
    "clock_settime": 227,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "kexec_load": 246,
    "unshare": 272,
    "perf_event_open": 298,
    "fanotify_init": 300,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "clock_adjtime": 305,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kcmp": 312,
    "finit_module": 313,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
}
SYS_SOCKET, SYS_CLONE, SYS_CLONE3 = 41, 56, 435
AF_UNIX = 1
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
CLONE_NAMESPACE_FLAGS = (
    0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
)


def available() -> bool:
    """The filter encodes x86_64 syscall numbers; elsewhere the sandbox runs without it (and says so)."""
    return platform.machine() in ("x86_64", "AMD64")


def _ins(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _errno(err: int) -> int:
    return _RET_ERRNO | (err & 0xFFFF)


def build_filter() -> bytes:
    """The BPF program as bytes (struct sock_filter[]), ready to be written to the fd bwrap reads."""
    prog = [
        _ins(_LD_W_ABS, _OFF_ARCH),
        _ins(_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        _ins(_RET_K, _RET_KILL_PROCESS),
        _ins(_LD_W_ABS, _OFF_NR),
        _ins(_JGE_K, X32_SYSCALL_BIT, 0, 1),  # the x32 ABI would bypass the numbers below
        _ins(_RET_K, _errno(errno.EPERM)),
    ]
    for nr in sorted(DENIED_SYSCALLS.values()):
        prog += [_ins(_JEQ_K, nr, 0, 1), _ins(_RET_K, _errno(errno.EPERM))]
    prog += [_ins(_JEQ_K, SYS_CLONE3, 0, 1), _ins(_RET_K, _errno(errno.ENOSYS))]
    prog += [  # socket(domain, ...): only AF_UNIX (the net namespace has no route anyway)
        _ins(_JEQ_K, SYS_SOCKET, 0, 4),
        _ins(_LD_W_ABS, _OFF_ARG0),
        _ins(_JEQ_K, AF_UNIX, 0, 1),
        _ins(_RET_K, _RET_ALLOW),
        _ins(_RET_K, _errno(errno.EAFNOSUPPORT)),
    ]
    prog += [  # clone(flags, ...): no new namespaces from inside the sandbox
        _ins(_JEQ_K, SYS_CLONE, 0, 3),
        _ins(_LD_W_ABS, _OFF_ARG0),
        _ins(_JSET_K, CLONE_NAMESPACE_FLAGS, 0, 1),
        _ins(_RET_K, _errno(errno.EPERM)),
        _ins(_RET_K, _RET_ALLOW),
    ]
    return b"".join(prog)
