"""The stream's replicas on a real three-server NATS JetStream cluster (as in prod).

Every service declares the stream at start; with ``PARLEY_STREAM_REPLICAS`` it keeps the
replicas the deployment asks for, and a restart does not shrink it back to one copy.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from parley_contracts import StreamSpec
from parley_runtime.bus import ensure_stream
from parley_runtime.embedded import free_port, nats_server_binary
from parley_runtime.settings import RuntimeSettings


@pytest.fixture(scope="module")
def cluster() -> Iterator[list[str]]:
    """Three clustered nats-server processes with JetStream on loopback; their client URLs."""
    workdir = Path(tempfile.mkdtemp(prefix="parley-nats-cluster-"))
    client_ports = [free_port() for _ in range(3)]
    route_ports = [free_port() for _ in range(3)]
    routes = ",".join(f"nats://127.0.0.1:{p}" for p in route_ports)
    procs = []
    for i in range(3):
        log = open(workdir / f"n{i}.log", "wb")  # noqa: SIM115 (the child writes it until stopped)
        procs.append(
            subprocess.Popen(
                [
                    nats_server_binary(),
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(client_ports[i]),
                    "-sd",
                    str(workdir / f"n{i}"),
                    "--server_name",
                    f"n{i}",
                    "--cluster_name",
                    "parley",
                    "--cluster",
                    f"nats://127.0.0.1:{route_ports[i]}",
                    "--routes",
                    routes,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        yield [f"nats://127.0.0.1:{p}" for p in client_ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


async def _ensure_when_ready(js: object, spec: StreamSpec, timeout_s: float = 30) -> None:
    """Declare the stream once the cluster has elected its JetStream leader."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await ensure_stream(js, spec)  # type: ignore[arg-type]
            return
        except (nats.errors.Error, nats.js.errors.Error):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_the_stream_keeps_the_replicas_asked_for_across_restarts(cluster: list[str]) -> None:
    settings = RuntimeSettings(nats_url=cluster[0], stream="REPL", prefix="repl", stream_replicas=3)
    spec = StreamSpec.for_prefix(settings.stream, settings.prefix, settings.stream_replicas)
    nc = await nats.connect(servers=cluster)
    try:
        js = nc.jetstream()
        await _ensure_when_ready(js, spec)
        info = await js.stream_info("REPL")
        assert info.config.num_replicas == 3
        assert len(info.cluster.replicas or []) == 2  # the leader and two more copies
        # A service starting again declares the stream again: still three copies.
        await ensure_stream(js, spec)
        assert (await js.stream_info("REPL")).config.num_replicas == 3
        ack = await js.publish("repl.session.created.x", b"{}", headers={"Nats-Msg-Id": "a"})
        assert ack.stream == "REPL"
    finally:
        await nc.close()


def test_replicas_are_one_to_five() -> None:
    assert StreamSpec.for_prefix("P", "p").replicas == 1
    with pytest.raises(ValueError, match="replicas"):
        StreamSpec.for_prefix("P", "p", 0)
    with pytest.raises(ValueError, match="replicas"):
        StreamSpec.for_prefix("P", "p", 7)
