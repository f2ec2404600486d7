"""The dev runner behind ``make run``.

Starts NATS (with JetStream) and PostgreSQL — embedded, in ``data_dir``, unless ``NATS_URL`` /
``DATABASE_URL`` name other servers — creates the database and the stream, starts the four
services as child processes, waits for the gateway to be ready and prints how to use it.
Ctrl-C (or SIGTERM) stops the services, then the embedded servers: no process is left behind.
If a service exits on its own, everything is stopped and the exit code is non-zero.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import structlog
from parley_contracts import StreamSpec
from parley_runtime.bus import ensure_stream
from parley_runtime.db import ensure_database
from parley_runtime.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from parley_runtime.logging import configure_logging
from parley_runtime.settings import RuntimeSettings

log = structlog.get_logger("parley.run")

#: Each service's module and the port of its HTTP server (the gateway's API, the workers' health).
SERVICES = (
    ("gateway", "parley_gateway", None),
    ("chat", "parley_chat", 8081),
    ("namer", "parley_namer", 8082),
    ("tagger", "parley_tagger", 8083),
)


async def _prepare(nats_url: str, database_url: str) -> None:
    import nats

    settings = RuntimeSettings(nats_url=nats_url, database_url=database_url)
    await ensure_database(database_url)
    nc = await nats.connect(nats_url)
    try:
        await ensure_stream(nc.jetstream(), StreamSpec.for_prefix(settings.stream, settings.prefix))
    finally:
        await nc.close()


def _wait_ready(
    urls: list[str],
    children: dict[str, subprocess.Popen[bytes]],
    timeout_s: float,
    interrupted: Callable[[], bool],
) -> None:
    """Wait until every ``/readyz`` of ``urls`` answers 200.

    Raises:
        KeyboardInterrupt: ``interrupted()`` became true; RuntimeError: a service exited;
        TimeoutError: not ready within ``timeout_s`` seconds.
    """
    deadline = time.monotonic() + timeout_s
    waiting = list(urls)
    while time.monotonic() < deadline:
        if interrupted():
            raise KeyboardInterrupt
        for name, child in children.items():
            if child.poll() is not None:
                raise RuntimeError(f"{name} exited with code {child.returncode} while starting")
        for url in list(waiting):
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    waiting.remove(url)
            except httpx.HTTPError:
                pass
        if not waiting:
            return
        time.sleep(0.2)
    raise TimeoutError(f"not ready within {timeout_s:.0f} s: {', '.join(waiting)}")


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("service did not stop in time; killing it", service=name)
            child.kill()
            child.wait()


def run_stack(
    *, data_dir: Path, port: int = 8000, free_ports: bool = False, replicas: int = 1
) -> int:
    """Run everything until interrupted; returns the process exit code.

    The workers serve their health endpoints on 8081-8083, or on free ports with ``free_ports``
    (always when ``replicas`` > 1: then each worker service runs in ``replicas`` processes, which
    share its durable consumers).
    """
    configure_logging(
        "run",
        env=os.environ.get("PARLEY_ENV", "dev"),
        level=os.environ.get("PARLEY_LOG_LEVEL", "INFO"),
    )
    data_dir = data_dir.resolve()
    embedded: list[EmbeddedNats | EmbeddedPostgres] = []
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    try:
        env = dict(os.environ)
        if not env.get("NATS_URL"):
            nats_server = EmbeddedNats(data_dir / "nats", port=free_port()).start()
            embedded.append(nats_server)
            env["NATS_URL"] = nats_server.url
        if not env.get("DATABASE_URL"):
            pg = EmbeddedPostgres(data_dir / "pg").start()
            embedded.append(pg)
            env["DATABASE_URL"] = pg.url("parley")
        env.setdefault("PARLEY_PORT", str(port))
        if env.get("PARLEY_UPSTREAM") == "replay":
            env.setdefault("PARLEY_DEFAULT_MODEL", "replay-1")  # sessions name the model answering
        asyncio.run(_prepare(env["NATS_URL"], env["DATABASE_URL"]))
        base = f"http://127.0.0.1:{env['PARLEY_PORT']}"
        ready_urls = [f"{base}/readyz"]
        for name, module, health_port in SERVICES:
            for replica in range(1 if health_port is None else replicas):
                child_env = dict(env)
                if health_port is not None:
                    free = free_ports or replicas > 1
                    child_env["PARLEY_HEALTH_PORT"] = str(free_port() if free else health_port)
                    ready_urls.append(f"http://127.0.0.1:{child_env['PARLEY_HEALTH_PORT']}/readyz")
                # Each child gets its own process group: Ctrl-C reaches us, and we stop them in
                # order.
                children[name if replica == 0 else f"{name}-{replica + 1}"] = subprocess.Popen(
                    [sys.executable, "-m", module], env=child_env, start_new_session=True
                )
        _wait_ready(ready_urls, children, timeout_s=120, interrupted=lambda: stopping)
        print(_usage(base, env, ready_urls[1:]), flush=True)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    log.error(
                        "service exited; stopping everything", service=name, code=child.returncode
                    )
                    stopping, code = True, 1
                    break
            time.sleep(0.2)
    except KeyboardInterrupt:
        log.info("interrupted while starting; stopping everything")
    except Exception:
        log.exception("start-up failed; stopping everything")
        code = 1
    finally:
        _stop_children(children)
        for server in reversed(embedded):
            server.stop()
        log.info("stopped", code=code)
    return code


def _usage(base: str, env: dict[str, str], workers: list[str]) -> str:
    return f"""
Parley is running: gateway on {base} (docs: {base}/docs)
  workers:    {" ".join(workers)}
  NATS:       {env["NATS_URL"]}
  PostgreSQL: {env["DATABASE_URL"]}
  upstream:   {env.get("PARLEY_UPSTREAM", "echo")}

Try it:
  TOKEN=$(curl -s -X POST {base}/api/auth/token -H 'content-type: application/json' \\
          -d '{{"user_id": "me"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  SID=$(curl -s -X POST {base}/api/sessions -H "authorization: Bearer $TOKEN" \\
          -H 'content-type: application/json' -d '{{}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -X POST "{base}/api/sessions/$SID/messages?wait=10" -H "authorization: Bearer $TOKEN" \\
          -H 'content-type: application/json' -d '{{"content": "How do I sort a dict by value in Python?"}}'

Press Ctrl-C to stop everything.
"""
