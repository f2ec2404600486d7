"""Exception rendering is bounded in every mode: no locals, a frame cap and a length cap."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator

import pytest
import structlog
from parley_runtime.logging import MAX_CHARS, configure_logging, render_exception


def _recurse(depth: int, payload: list[int]) -> int:
    return _recurse(depth + 1, payload) + 1


def _deep_recursion_error() -> RecursionError:
    huge_local = list(range(200_000))  # a local whose repr would be megabytes
    try:
        _recurse(0, huge_local)
    except RecursionError as exc:
        return exc
    raise AssertionError("no recursion error")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def test_render_exception_of_a_deep_recursion_is_fast_and_bounded() -> None:
    exc = _deep_recursion_error()
    started = time.perf_counter()
    text = render_exception(exc, max_frames=20, max_chars=4000)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5
    assert len(text) <= 4000 + 100
    assert "RecursionError" in text
    assert "_recurse" in text
    assert "199999" not in text  # no local variable is rendered


def test_render_exception_cuts_a_long_chain_keeping_head_and_tail() -> None:
    try:
        try:
            raise ValueError("x" * 50_000)
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as exc:
        text = render_exception(exc, max_chars=2000)
    assert "characters cut" in text
    assert len(text) < 2100
    assert text.startswith("Traceback")
    assert text.endswith("RuntimeError: outer")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_logging_a_deep_recursion_error_is_fast_and_bounded_in_every_mode(
    env: str, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging("test", env=env, level="INFO", rich_tracebacks=None)
    exc = _deep_recursion_error()
    log = structlog.get_logger("test")
    started = time.perf_counter()
    try:
        raise exc
    except RecursionError:
        log.exception("handler failed")
        logging.getLogger("stdlib").exception("stdlib handler failed")
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err
    assert elapsed < 1.0
    assert len(err) < 2 * (MAX_CHARS + 1000)
    assert err.count("RecursionError") >= 2
    assert "199999" not in err
    if env == "prod":
        lines = [json.loads(line) for line in err.splitlines() if line.strip()]
        assert {line["event"] for line in lines} == {"handler failed", "stdlib handler failed"}
        assert all(len(line["exception"]) <= MAX_CHARS + 100 for line in lines)


def test_rich_tracebacks_only_when_asked_for(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    monkeypatch.setenv("PARLEY_LOG_RICH_TRACEBACKS", "1")
    configure_logging("test", env="dev")
    marker = "a-local-value-shown-by-rich"  # noqa: F841 - read by rich's locals panel
    try:
        raise ValueError("boom")
    except ValueError:
        structlog.get_logger("test").exception("failed")
    assert "a-local-value-shown-by-rich" in capsys.readouterr().err
    monkeypatch.delenv("PARLEY_LOG_RICH_TRACEBACKS")
    configure_logging("test", env="dev")
    try:
        raise ValueError("boom")
    except ValueError:
        structlog.get_logger("test").exception("failed")
    out = capsys.readouterr().err
    assert "ValueError: boom" in out
    assert "a-local-value-shown-by-rich" not in out
    _ = sys.version_info
