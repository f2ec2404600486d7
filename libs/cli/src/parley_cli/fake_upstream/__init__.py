"""The fake upstream: one small HTTP server speaking enough of the Gemini Interactions, OpenAI
Conversations/Responses/chat completions and session-http wire formats (streaming included) that
the real clients work against it unchanged. It answers deterministically, records every request
and can be told to fail (429 with ``Retry-After``, 503, a lost session, slowness).

``parley fake-upstream --port N`` runs it; tests start it in their event loop::

    fake = await FakeUpstream().start()
    fake.url          # http://127.0.0.1:<port>
    fake.state.fail(429, count=10, retry_after=0.1)
    await fake.stop()
"""

from __future__ import annotations

import asyncio

import uvicorn

from .app import build_app
from .state import FakeState, Recorded

__all__ = ["FakeState", "FakeUpstream", "Recorded", "build_app", "models_toml"]


class FakeUpstream:
    """The fake upstream served by uvicorn on 127.0.0.1 inside the running event loop."""

    def __init__(self) -> None:
        self.state = FakeState()
        self.app = build_app(self.state)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.url = ""

    async def start(self, port: int = 0) -> FakeUpstream:
        """Serve on ``port`` (0: a free one); returns self once it accepts connections."""
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        sock = self._server.servers[0].sockets[0]
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


def models_toml(
    url: str,
    *,
    max_concurrency: int = 4,
    timeout_s: float = 10.0,
    naming_model: str | None = None,
) -> str:
    """A catalogue whose four real-provider models all point at the fake at ``url`` (keys are
    read from ``FAKE_API_KEY``), plus ``echo-1`` as the default; ``naming_model`` names
    sessions (None: none does)."""
    entries = [
        ("fake-gemini", "gemini", url),
        ("fake-openai", "openai", f"{url}/v1"),
        ("fake-compatible", "openai-compatible", f"{url}/v1"),
        ("fake-session", "session-http", f"{url}/session"),
    ]
    lines = [
        'default_model = "echo-1"',
        *([f'naming_model = "{naming_model}"'] if naming_model else []),
        "",
        "[[models]]",
        'name = "echo-1"',
        'provider = "echo"',
        "max_concurrency = 64",
        "",
    ]
    for name, provider, base in entries:
        lines += [
            "[[models]]",
            f'name = "{name}"',
            f'provider = "{provider}"',
            f'model_id = "{name}-model"',
            f'base_url = "{base}"',
            'api_key_env = "FAKE_API_KEY"',
            f"timeout_s = {timeout_s}",
            f"max_concurrency = {max_concurrency}",
            "",
        ]
    return "\n".join(lines)
