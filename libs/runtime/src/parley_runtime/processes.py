"""Child processes of the dev runner and the tests: free ports, children that die with their
parent, process groups stopped in bounded time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that is free right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when its parent dies, or ``None``.

    Source: prctl(2), ``PR_SET_PDEATHSIG`` (option 1). The signal follows the death of the
    *thread* that forked the child; callers start children from their main thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)

    return preexec


def stop_process_group(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout_s: float = 10.0
) -> None:
    """Send ``sig`` to the process group of ``proc`` (its leader), wait up to ``timeout_s``
    seconds, then SIGKILL the whole group. Returns once the leader is reaped."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        pass
    try:  # the leader is gone; anything left in its group goes too
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
