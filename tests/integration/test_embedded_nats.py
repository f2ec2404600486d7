"""The embedded nats-server runs on one Go scheduler thread unless the environment asks for
another number (read from the running server's own environment, Linux)."""

from __future__ import annotations

from pathlib import Path

import pytest
from parley_runtime.embedded import EmbeddedNats


def _environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.mark.parametrize(("ours", "theirs"), [(None, "1"), ("2", "2")])
def test_the_embedded_nats_server_takes_one_scheduler_thread_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ours: str | None, theirs: str
) -> None:
    if ours is None:
        monkeypatch.delenv("GOMAXPROCS", raising=False)
    else:
        monkeypatch.setenv("GOMAXPROCS", ours)
    nats = EmbeddedNats(tmp_path / "nats").start()
    try:
        assert nats.proc is not None
        assert _environment(nats.proc.pid)["GOMAXPROCS"] == theirs
    finally:
        nats.stop()
