"""Schemathesis against the gateway's OpenAPI document on the real stack: every operation but
the endless event stream (covered by its own e2e test), a fixed seed and a bounded number of
examples, every check (no 5xx, responses and status codes as documented, schema-valid input
accepted and invalid input refused), and stateful runs following the links from a created
session to the operations on it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from stack import Client

SEED = 20261122
#: Cases per operation and phase: about 700 requests in 15–30 s on this 2-core machine.
MAX_EXAMPLES = 20


async def test_every_operation_holds_under_generated_input(alice: Client, tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    token = alice.headers["Authorization"]
    proc = await asyncio.create_subprocess_exec(
        str(schemathesis),
        "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{alice.http.base_url}/openapi.json",
        "--checks", "all",
        "--seed", str(SEED),
        "--max-examples", str(MAX_EXAMPLES),
        "--workers", "1",
        "--exclude-path", "/api/events",
        "--header", f"Authorization: {token}",
        "--request-timeout", "20",
        "--suppress-health-check", "all",
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )  # fmt: skip
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=170)
    text = output.decode(errors="replace")
    if report := os.environ.get("PARLEY_FUZZ_REPORT"):  # the whole output, for a person
        await asyncio.to_thread(Path(report).write_text, text)
    assert proc.returncode == 0, text[-12_000:]
