"""CPU time of a running stack, per process role (each service, PostgreSQL, NATS).

A benchmark takes a :class:`CpuSnapshot` before and after its measured window; the difference,
divided by the replies of the window, is the CPU cost per reply. Processes are found by their
command lines: ``python -m parley_<service>`` for the services, and for the embedded servers any
``postgres`` or ``nats-server`` process whose command line names the stack's data folder.
PostgreSQL backends come and go with connections: the time of a backend that exited is counted
through the postmaster's ``children_user`` / ``children_system`` (what the kernel adds to a
parent when it reaps a child), so it is not lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

#: The roles a process can have, in the order reports list them.
ROLES = ("gateway", "chat", "namer", "tagger", "postgres", "nats")


def role_of(cmdline: Iterable[str], data_dir: Path | None) -> str | None:
    """The role of a process with ``cmdline``, or None when it is not part of the stack.

    ``data_dir`` is the stack's data folder (None when the servers are not embedded: then only
    the services are counted).
    """
    args = list(cmdline)
    if not args:
        return None
    for service in ROLES[:4]:
        if f"parley_{service}" in args:
            return service
    if data_dir is None:
        return None
    where = str(data_dir)
    if not any(where in a for a in args):
        return None
    program = Path(args[0]).name
    if program.startswith("postgres") or "postgres:" in args[0]:
        return "postgres"
    if program.startswith("nats-server"):
        return "nats"
    return None


@dataclass(frozen=True)
class CpuSnapshot:
    """Cumulative CPU seconds (user + system, reaped children included) per role."""

    seconds: Mapping[str, float]

    def minus(self, earlier: CpuSnapshot) -> dict[str, float]:
        """CPU milliseconds spent per role between ``earlier`` and this snapshot."""
        return {
            role: max(0.0, (self.seconds.get(role, 0.0) - earlier.seconds.get(role, 0.0)) * 1000)
            for role in ROLES
        }


def stack_processes(
    data_dir: Path | None, root_pid: int | None = None
) -> list[tuple[str, psutil.Process]]:
    """Every process of the stack now, with its role, in no particular order.

    With ``root_pid`` (the dev runner), only its descendants and the processes naming
    ``data_dir`` count, so other stacks on the machine do not; without it, every process that
    looks like a Parley service does. A PostgreSQL backend is not listed (its command line does
    not name ``data_dir``): it belongs to its postmaster.
    """
    family: set[int] | None = None
    if root_pid is not None:
        try:
            family = {p.pid for p in psutil.Process(root_pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            family = set()
    found: list[tuple[str, psutil.Process]] = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            args = proc.info["cmdline"] or []
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        role = role_of(args, data_dir)
        if role is None:
            continue
        if (
            family is not None
            and proc.info["pid"] not in family
            and (data_dir is None or not any(str(data_dir) in a for a in args))
        ):
            continue
        found.append((role, proc))
    return found


def snapshot(data_dir: Path | None, root_pid: int | None = None) -> CpuSnapshot:
    """Read the CPU times of every process of the stack now (see :func:`stack_processes`).

    A postmaster counts with its backends. Processes that vanish while being read are skipped
    (their time is lost unless a parent of the stack reaped them).
    """
    seconds = dict.fromkeys(ROLES, 0.0)
    for role, proc in stack_processes(data_dir, root_pid):
        try:
            members = [proc, *proc.children(recursive=True)] if role == "postgres" else [proc]
            for member in members:
                t = member.cpu_times()
                seconds[role] += t.user + t.system + t.children_user + t.children_system
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return CpuSnapshot(seconds)


def per_reply(spent_ms: Mapping[str, float], replies: int) -> dict[str, float]:
    """CPU milliseconds per reply, per role and in ``total``; empty when ``replies`` is 0."""
    if replies <= 0:
        return {}
    out = {role: spent_ms.get(role, 0.0) / replies for role in ROLES}
    out["total"] = sum(out.values())
    return out
