"""Reading recorded conversations (ShareGPT JSON lines) into exchanges."""

from __future__ import annotations

import json
from pathlib import Path

from parley_runtime.conversations import normalize, read_conversations, to_exchanges
from realdata import DATA_DIR

DATA = DATA_DIR


def test_messages_group_into_exchanges() -> None:
    exchanges = to_exchanges(
        [
            {"role": "assistant", "content": "dropped: nobody asked yet"},
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "two"},
            {"role": "user", "content": "three"},
            {"role": "assistant", "content": "c"},
        ]
    )
    assert [(e.user, e.assistant) for e in exchanges] == [
        ("one", "a\n\nb"),
        ("two", ""),
        ("three", "c"),
    ]


def test_real_conversations_are_read(tmp_path: Path) -> None:
    rows = list(read_conversations(DATA / "sharegpt_conversations.jsonl", limit=25))
    assert len(rows) == 25
    assert all(r.exchanges and r.exchanges[0].user for r in rows)
    sample = tmp_path / "one.jsonl"
    sample.write_text(
        json.dumps({"id": "x", "messages": []})
        + "\n\n"
        + json.dumps({"id": "y", "messages": [{"role": "user", "content": "q"}]})
    )
    assert [c.id for c in read_conversations(sample)] == ["y"]
    assert normalize("  a \n b\tc ") == "a b c"
