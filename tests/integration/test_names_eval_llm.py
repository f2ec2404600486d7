"""``parley names eval --namer llm --model M`` against the fake upstream, for each provider with
structured output: the names come from the model, its costs are reported, bad answers fall back."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from parley_cli.fake_upstream import FakeUpstream, models_toml
from parley_cli.main import main

CONVERSATIONS = [
    {
        "id": "qpdf",
        "messages": [
            {"role": "user", "content": "How do I rotate a PDF page with qpdf on Linux?"},
            {"role": "assistant", "content": "Use qpdf --rotate=+90:1 in.pdf out.pdf."},
        ],
    },
    {"id": "tcp", "prompt": "Explain the difference between TCP and UDP for game networking"},
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    server = await FakeUpstream().start()
    os.environ["FAKE_API_KEY"] = "fake-key"
    yield server
    os.environ.pop("FAKE_API_KEY", None)
    await server.stop()


@pytest.mark.parametrize("model", ["fake-gemini", "fake-openai", "fake-compatible"])
async def test_names_eval_with_a_catalogue_model(
    model: str, fake: FakeUpstream, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models.toml"
    models.write_text(models_toml(fake.url, timeout_s=5))
    chats = tmp_path / "chats.jsonl"
    chats.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS), encoding="utf-8")
    answers = ["Rotating PDF Pages With Qpdf"] * 2 + ["Hello", "Hi"]  # warm-up, 1st, then 2nd
    fake.state.answer_json(*(json.dumps({"title": a}) for a in answers))
    argv = ["names", "eval", str(chats), "--json", "--namer", "llm", "--model", model]
    code = await asyncio.to_thread(main, [*argv, "--models-file", str(models)])
    assert code == 0
    report = json.loads(capfd.readouterr().out)
    measures = report["measures"]
    assert (measures["namer"], measures["model"], measures["conversations"]) == ("llm", model, 2)
    names = {row["id"]: row["name"] for row in report["sample"]}
    assert names["qpdf"] == "Rotating PDF Pages With Qpdf"
    assert names["tcp"] and names["tcp"] not in ("Hello", "Hi")  # refused twice: offline
    assert measures["model_calls"] == 4 and measures["fallbacks"] == 1
    assert measures["input_tokens"] > 0
    assert len([r for r in fake.state.requests if r.action == "json"]) == 4


async def test_names_eval_llm_needs_a_known_model(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    chats = tmp_path / "chats.jsonl"
    chats.write_text(json.dumps(CONVERSATIONS[1]) + "\n", encoding="utf-8")
    code = await asyncio.to_thread(
        main, ["names", "eval", str(chats), "--namer", "llm", "--model", "no-such-model"]
    )
    assert code == 2
    assert "no-such-model" in capfd.readouterr().err
