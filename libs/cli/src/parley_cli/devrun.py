"""The dev runner behind ``make run``.

Starts NATS (with JetStream) and PostgreSQL — embedded, in ``data_dir``, unless ``NATS_URL`` /
``DATABASE_URL`` name other servers — creates the database and the stream, starts the four
services as child processes, waits for the gateway to be ready and prints how to use it.

Everything it starts is supervised (:mod:`parley_cli.supervise`): a server or service that dies
is started again with backoff, and the log says so; a crashed service does not stop the others.
Ctrl-C (or SIGTERM) stops the services, then the embedded servers, in a bounded time; every
child runs in its own process group and dies with the runner (``PR_SET_PDEATHSIG``), so no
process is left behind. In the dev auth mode the token secret is kept in
``data_dir/dev-jwt-secret`` (mode 0600), so tokens stay valid across restarts.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
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

from .supervise import ServiceProcess, Supervisor

log = structlog.get_logger("parley.run")

#: The niceness (see nice(2): 0 normal, 19 lowest priority) of the background services.
BACKGROUND_NICE = 10

#: Each service's module, the port of its HTTP server (the gateway's API, the workers' health)
#: and its CPU niceness: the namer and the tagger work in the background of the conversation,
#: so on a busy machine the reply path (gateway, chat, PostgreSQL, NATS) gets the CPU first.
SERVICES = (
    ("gateway", "parley_gateway", None, 0),
    ("chat", "parley_chat", 8081, 0),
    ("namer", "parley_namer", 8082, BACKGROUND_NICE),
    ("tagger", "parley_tagger", 8083, BACKGROUND_NICE),
)

#: Longest time, in seconds, that stopping everything may take.
STOP_TIMEOUT_S = 20.0


async def _prepare(nats_url: str, database_url: str) -> None:
    import nats

    settings = RuntimeSettings(nats_url=nats_url, database_url=database_url)
    await ensure_database(database_url)
    nc = await nats.connect(nats_url)
    try:
        await ensure_stream(
            nc.jetstream(),
            StreamSpec.for_prefix(settings.stream, settings.prefix, settings.stream_replicas),
        )
    finally:
        await nc.close()


def dev_token_secret(data_dir: Path) -> str:
    """The dev auth mode's token secret, created once in ``data_dir/dev-jwt-secret`` with mode
    0600 and read back on every later start (tokens survive a restart of the runner)."""
    path = data_dir / "dev-jwt-secret"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        secret = path.read_text().strip()
        if len(secret) >= 32:
            return secret
        path.unlink()
        return dev_token_secret(data_dir)
    with os.fdopen(fd, "w") as file:
        secret = secrets.token_urlsafe(48)
        file.write(secret + "\n")
    return secret


def _wait_ready(
    urls: list[str], supervisor: Supervisor, timeout_s: float, interrupted: Callable[[], bool]
) -> None:
    """Wait until every ``/readyz`` of ``urls`` answers 200, restarting what crashes meanwhile.

    Raises:
        KeyboardInterrupt: ``interrupted()`` became true;
        TimeoutError: not ready within ``timeout_s`` seconds.
    """
    deadline = time.monotonic() + timeout_s
    waiting = list(urls)
    while time.monotonic() < deadline:
        if interrupted():
            raise KeyboardInterrupt
        supervisor.poll()
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


def run_stack(
    *, data_dir: Path, port: int = 8000, free_ports: bool = False, replicas: int = 1
) -> int:
    """Run everything until interrupted; returns the process exit code (0 after Ctrl-C or
    SIGTERM, 1 if start-up failed).

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
    supervisor = Supervisor(tiers=2)  # servers, then services
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
            nats_server = EmbeddedNats(data_dir / "nats", port=free_port())
            supervisor.start(nats_server, tier=0)
            env["NATS_URL"] = nats_server.url
        if not env.get("DATABASE_URL"):
            pg = EmbeddedPostgres(data_dir / "pg")
            supervisor.start(pg, tier=0)
            env["DATABASE_URL"] = pg.url("parley")
        env.setdefault("PARLEY_PORT", str(port))
        if env.get("PARLEY_AUTH_MODE", "dev") == "dev" and not env.get("PARLEY_JWT_SECRET"):
            env["PARLEY_JWT_SECRET"] = dev_token_secret(data_dir)
        if env.get("PARLEY_UPSTREAM") == "replay":
            env.setdefault("PARLEY_DEFAULT_MODEL", "replay-1")  # sessions name the model answering
        asyncio.run(_prepare(env["NATS_URL"], env["DATABASE_URL"]))
        base = f"http://127.0.0.1:{env['PARLEY_PORT']}"
        ready_urls = [f"{base}/readyz"]
        for name, module, health_port, nice in SERVICES:
            for replica in range(1 if health_port is None else replicas):
                child_env = dict(env)
                if health_port is not None:
                    free = free_ports or replicas > 1
                    child_env["PARLEY_HEALTH_PORT"] = str(free_port() if free else health_port)
                    ready_urls.append(f"http://127.0.0.1:{child_env['PARLEY_HEALTH_PORT']}/readyz")
                unit = name if replica == 0 else f"{name}-{replica + 1}"
                argv = [sys.executable, "-m", module]
                supervisor.start(ServiceProcess(unit, argv, child_env, nice=nice), 1)
        _wait_ready(ready_urls, supervisor, timeout_s=120, interrupted=lambda: stopping)
        print(_usage(base, env, ready_urls[1:]), flush=True)
        while not stopping:
            supervisor.poll()
            time.sleep(0.2)
    except KeyboardInterrupt:
        log.info("interrupted while starting; stopping everything")
    except Exception:
        log.exception("start-up failed; stopping everything")
        code = 1
    finally:
        started = time.monotonic()
        supervisor.stop_all(STOP_TIMEOUT_S)
        log.info("stopped", code=code, seconds=round(time.monotonic() - started, 2))
    return code


def _usage(base: str, env: dict[str, str], workers: list[str]) -> str:
    return f"""
Parley is running: gateway on {base} (docs: {base}/docs)
  workers:    {" ".join(workers)}
  NATS:       {env["NATS_URL"]}
  PostgreSQL: {env["DATABASE_URL"]}
  upstream:   {env.get("PARLEY_UPSTREAM", "catalogue")}

Try it:
  TOKEN=$(curl -s -X POST {base}/api/auth/token -H 'content-type: application/json' \\
          -d '{{"user_id": "me"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  SID=$(curl -s -X POST {base}/api/sessions -H "authorization: Bearer $TOKEN" \\
          -H 'content-type: application/json' -d '{{}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -X POST "{base}/api/sessions/$SID/messages?wait=10" -H "authorization: Bearer $TOKEN" \\
          -H 'content-type: application/json' -d '{{"content": "How do I sort a dict by value in Python?"}}'

Press Ctrl-C to stop everything.
"""
