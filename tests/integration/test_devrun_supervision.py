"""``parley run`` supervises what it starts: a killed nats-server and a killed service are
restarted, the stack answers again, tokens survive a restart of the runner, and stopping the
runner leaves no process behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from parley_runtime.embedded import free_port


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


class Runner:
    """One ``parley run`` process with its data folder, gateway port and log file."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir, self.port = data_dir, port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = data_dir.parent / f"run-{time.monotonic_ns()}.log"
        env = {k: v for k, v in os.environ.items() if k not in {"NATS_URL", "DATABASE_URL"}}
        env.update(PARLEY_ENV="prod", PARLEY_LOG_LEVEL="INFO")  # JSON lines, easy to search
        parley = str(Path(sys.executable).parent / "parley")
        with open(self.log_path, "wb") as log_file:
            self.proc = subprocess.Popen(
                [parley, "run", "--data-dir", str(data_dir), "--port", str(port), "--free-ports"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ready(self) -> bool:
        assert self.proc.poll() is None, f"the runner exited: {self.log()[-3000:]}"
        try:
            return httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def child(self, match: Callable[[psutil.Process], bool]) -> psutil.Process | None:
        for proc in self.descendants():
            try:
                if match(proc):
                    return proc
            except psutil.Error:
                continue
        return None

    def stop_and_check_nothing_is_left(self) -> float:
        """SIGTERM the runner; return the seconds it took; fail if any process survives."""
        left = self.descendants()
        assert left, "the runner has no children"
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=40) == 0, self.log()[-3000:]
        elapsed = time.monotonic() - started
        _, alive = psutil.wait_procs(left, timeout=5)
        assert not alive, f"left behind: {[(p.pid, p.name()) for p in alive]}"
        return elapsed


def is_nats(proc: psutil.Process) -> bool:
    return proc.name() == "nats-server"


def is_chat(proc: psutil.Process) -> bool:
    return "parley_chat" in " ".join(proc.cmdline())


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not under pytest's temporary folder (see tests/conftest.py): PostgreSQL runs as its own user.
    root = Path(tempfile.mkdtemp(prefix="parley-run-"))
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


def test_the_runner_restarts_a_killed_nats_server_and_service_and_leaves_nothing(
    data_dir: Path,
) -> None:
    runner = Runner(data_dir, free_port())
    try:
        wait_until(runner.ready, 150, "the gateway is ready")
        token = httpx.post(f"{runner.base}/api/auth/token", json={"user_id": "ops"}).json()[
            "access_token"
        ]
        auth = {"Authorization": f"Bearer {token}"}

        nats = runner.child(is_nats)
        assert nats is not None
        nats.kill()
        wait_until(
            lambda: (n := runner.child(is_nats)) is not None and n.pid != nats.pid,
            30,
            "a new nats-server",
        )
        wait_until(lambda: '"unit": "nats-server"' in runner.log(), 5, "the restart is logged")
        wait_until(runner.ready, 30, "the gateway is ready after nats-server's restart")

        chat = runner.child(is_chat)
        assert chat is not None
        chat.kill()
        wait_until(
            lambda: (c := runner.child(is_chat)) is not None and c.pid != chat.pid,
            30,
            "a new chat service",
        )
        assert '"unit": "chat"' in runner.log()
        assert runner.proc.poll() is None  # a crashed service does not stop the stack

        session = wait_until(
            lambda: (
                (r := httpx.post(f"{runner.base}/api/sessions", json={}, headers=auth)).status_code
                == 201
                and r.json()
            ),
            30,
            "a session is created",
        )
        assert isinstance(session, dict)
        reply = httpx.post(
            f"{runner.base}/api/sessions/{session['id']}/messages",
            params={"wait": 30},
            json={"content": "Are you back?"},
            headers=auth,
            timeout=40,
        ).json()["reply"]
        assert reply is not None and reply["content"]
        stop_s = runner.stop_and_check_nothing_is_left()
        assert stop_s < 25

        again = Runner(data_dir, runner.port)  # the same data: the dev token secret is kept
        try:
            wait_until(again.ready, 150, "the gateway is ready again")
            listed = httpx.get(f"{again.base}/api/sessions", headers=auth)
            assert listed.status_code == 200, listed.text
            assert [item["id"] for item in listed.json()["items"]] == [session["id"]]
            again.stop_and_check_nothing_is_left()
        finally:
            if again.proc.poll() is None:
                again.proc.kill()
    finally:
        if runner.proc.poll() is None:
            runner.proc.kill()
