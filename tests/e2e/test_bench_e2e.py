"""``parley bench`` end to end: it starts its own stack (two processes per worker service),
drives it and reports what every process spent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_bench_reports_replies_latency_and_cpu_of_every_process(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "parley_cli.main", "bench", "--json"]
        + ["--sessions", "6", "--messages", "2", "--warmup", "1", "--replicas", "2"]
        + ["--profile", str(tmp_path / "flames")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["replies"] == 12
    assert report["failures"] == 0
    assert report["load"]["replicas"] == 2
    assert len(report["name_after_first_reply_ms"]) == 4
    assert report["reply_ms"]["p50"] > 0
    cpu = report["cpu_ms_per_reply"]
    for role in ("gateway", "chat", "namer", "tagger", "postgres", "nats"):
        assert cpu[role] > 0, role
    assert 1 < cpu["total"] < 1000  # CPU ms per reply: some work, and far from a second
    # --profile: one py-spy flame graph per service process (the gateway, two of each worker).
    assert report["profile_problems"] == {}
    graphs = [Path(p) for p in report["profiles"]]
    assert sorted(g.name.split("-")[0] for g in graphs) == sorted(
        ["gateway", "chat", "chat", "namer", "namer", "tagger", "tagger"]
    )
    for graph in graphs:
        assert graph.parent == tmp_path / "flames"
        assert graph.read_text().lstrip().startswith("<?xml"), graph


async def test_the_read_bench_seeds_one_user_and_times_every_read(stack) -> None:
    from parley_cli.reads import bench_reads

    report = await bench_reads(
        stack.base_url, stack.servers.database_url, sessions=300, messages=3000, rounds=5
    )
    reads = report["reads_ms"]
    assert set(reads) == {"list first page", "list 5,000 deep", "search by name", "get", "history"}
    assert all(0 < s["p50"] <= s["max"] for s in reads.values())
    assert "Index Scan using sessions_by_user_activity" in report["plans"]["list"]
    assert "messages_session_id_seq_key" in report["plans"]["history"]
