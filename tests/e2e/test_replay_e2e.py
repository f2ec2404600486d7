"""The replay command, driving the test stack's gateway over HTTP with real conversations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parley_cli.replay import replay_file
from realdata import DATA_DIR
from stack import Stack


async def test_replay_names_and_tags_real_conversations(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = DATA_DIR / "sharegpt_conversations.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()[:4]]
    sample = tmp_path / "four.jsonl"
    sample.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    code = await replay_file(
        sample,
        limit=4,
        turns=2,
        base_url=stack.base_url,
        concurrency=2,
        timeout_s=30,
        user_id="replayer",
    )

    out = capsys.readouterr().out
    assert code == 0, out
    table = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(table) == 1 + 4  # the header and one row per conversation
    for row, line in zip(rows, table[1:], strict=True):
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        assert cells[0] == row["id"]
        assert cells[2] and not cells[2].startswith("ERROR")
        assert cells[3].startswith("chat_model_") and float(cells[4]) >= 0
    assert "4/4 conversations named and tagged" in out
