"""Flame graphs of a stack's services under load, recorded with py-spy.

``parley bench --profile DIR`` starts one ``py-spy record`` per service process (gateway, chat,
namer, tagger; every replica) when the measured window opens and stops it when the window
closes; each writes ``DIR/<role>-<pid>.svg``, an interactive flame graph of where that process
spent its CPU time: ``--gil``, only samples of the thread holding the GIL (Python and the
extensions it calls, the event loop's own work included), since ``--nonblocking`` sampling
counts a loop waiting in ``epoll_wait`` as running (``--subprocesses`` off). py-spy samples
from outside the process, so the services run unchanged; reading another process's memory
needs ptrace rights (root, or ``kernel.yama.ptrace_scope`` 0 for the user's own processes).

Source: py-spy, https://github.com/benfred/py-spy (``record --pid --output --format
flamegraph``; it writes its output when it receives SIGINT).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .cpu import ROLES, stack_processes

#: Samples per second and process (py-spy's default is 100).
RATE_HZ = 100

#: Seconds a recorder may take to write its flame graph after SIGINT.
STOP_TIMEOUT_S = 60


def py_spy() -> str:
    """The py-spy executable of this environment (installed with the CLI).

    Raises:
        FileNotFoundError: py-spy is not installed.
    """
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise FileNotFoundError("py-spy is not installed")
    return found


@dataclass
class Profiler:
    """Records every service process of a stack into ``out_dir`` between :meth:`start` and
    :meth:`stop`. ``data_dir``/``root_pid`` find the stack as :func:`parley_cli.cpu.snapshot`
    does."""

    out_dir: Path
    data_dir: Path | None = None
    root_pid: int | None = None
    _recorders: list[tuple[Path, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self) -> list[Path]:
        """Start a recorder per service process; returns the SVG paths they will write."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        exe = py_spy()
        for role, proc in stack_processes(self.data_dir, self.root_pid):
            if role not in ROLES[:4]:
                continue  # PostgreSQL and NATS are not Python
            svg = self.out_dir / f"{role}-{proc.pid}.svg"
            command = [exe, "record", "--pid", str(proc.pid), "--output", str(svg)]
            command += ["--format", "flamegraph", "--rate", str(RATE_HZ), "--nonblocking"]
            command += ["--gil"]
            recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self._recorders.append((svg, recorder))
        return [svg for svg, _ in self._recorders]

    def stop(self) -> dict[str, str]:
        """Stop every recorder and wait for its flame graph; returns ``{svg path: problem}`` for
        the recorders that wrote none (empty when all did)."""
        for _, recorder in self._recorders:
            if recorder.poll() is None:
                recorder.send_signal(signal.SIGINT)
        problems: dict[str, str] = {}
        for svg, recorder in self._recorders:
            try:
                _, err = recorder.communicate(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                recorder.kill()
                _, err = recorder.communicate()
            if not svg.exists() or svg.stat().st_size == 0:
                problems[str(svg)] = (err or b"").decode(errors="replace").strip()[-300:]
        self._recorders.clear()
        return problems
