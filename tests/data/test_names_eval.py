"""``parley names eval`` runs the namer's evaluation as its own process and passes its result on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parley_cli.main import main


def test_parley_names_eval_prints_the_measures(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chats.jsonl"
    rows = [
        {
            "id": "1",
            "messages": [
                {"role": "user", "content": "How do I rotate a PDF page with qpdf on Linux?"},
                {"role": "assistant", "content": "Use qpdf --rotate=+90:1 in.pdf out.pdf."},
            ],
        },
        {"id": "2", "prompt": "Explain the difference between TCP and UDP for game networking"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["names", "eval", str(path), "--json", "--sample", "2", "--seed", "3"]) == 0
    report = json.loads(capfd.readouterr().out)
    assert report["measures"]["conversations"] == 2
    assert report["measures"]["namer"] == "offline"
    assert {row["id"] for row in report["sample"]} == {"1", "2"}
    assert all(row["name"] for row in report["sample"])


def test_parley_names_eval_fails_on_a_missing_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["names", "eval", str(tmp_path / "none.jsonl")]) == 2
    assert "none.jsonl" in capfd.readouterr().err
