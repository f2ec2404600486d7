"""structlog set-up: JSON lines in production, readable lines in dev.

Handlers bind ``session_id`` and ``event_id`` with :func:`structlog.contextvars.bound_contextvars`,
so every line they log carries both.

Logging must never slow serving down: an exception is rendered in every mode by
:func:`render_exception`, which never reads local variables and caps both the frames (per
exception of a chain) and the characters it produces. Rich tracebacks (with locals) are only used
when a person asks for them with ``PARLEY_LOG_RICH_TRACEBACKS=1`` and the dev renderer.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Any

import structlog

#: Frames kept per exception of a chain (the innermost ones, nearest to the error).
MAX_FRAMES = 20
#: Characters kept of a rendered exception (its head and its tail).
MAX_CHARS = 8000


def render_exception(
    exc_info: Any, *, max_frames: int = MAX_FRAMES, max_chars: int = MAX_CHARS
) -> str:
    """Render an exception as a plain traceback of bounded size and cost.

    Args:
        exc_info: an exception, or a ``(type, value, traceback)`` tuple as ``sys.exc_info()``.
        max_frames: the innermost frames kept per exception of the chain (``__cause__`` /
            ``__context__``); the others are summarised in one line.
        max_chars: the longest result; a longer rendering keeps its head and tail around a
            ``… N characters cut …`` line.

    Returns:
        The traceback text, without local variables (reading them can be slow or unbounded: a
        repr may walk a huge or recursive object), never longer than ``max_chars`` (plus the cut
        line).
    """
    if isinstance(exc_info, BaseException):
        exc = exc_info
    else:
        exc = exc_info[1]
    if exc is None:
        return ""
    # limit < 0 keeps the last |limit| frames; the standard library also folds repeated lines.
    rendered = traceback.TracebackException.from_exception(
        exc, limit=-max_frames, capture_locals=False, lookup_lines=True
    )
    parts = list(rendered.format())  # frames are capped per exception, so this stays small
    text = "".join(parts).rstrip("\n")
    if len(text) <= max_chars:
        return text
    head = max_chars * 2 // 5
    tail = max_chars - head
    return f"{text[:head]}\n… {len(text) - max_chars} characters cut …\n{text[-tail:]}"


def _format_exc_info(
    _: object, __: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Replace ``exc_info`` by a bounded ``exception`` string (see :func:`render_exception`)."""
    exc_info = event_dict.pop("exc_info", None)
    if not exc_info:
        return event_dict
    if exc_info is True:
        exc_info = sys.exc_info()
    event_dict["exception"] = render_exception(exc_info)
    return event_dict


def _wants_rich_tracebacks() -> bool:
    return os.environ.get("PARLEY_LOG_RICH_TRACEBACKS", "").strip().lower() in {"1", "true", "yes"}


def configure_logging(
    service: str, *, env: str = "dev", level: str = "INFO", rich_tracebacks: bool | None = None
) -> None:
    """Route structlog and the standard library's logging through one renderer.

    Args:
        service: the service name, added to every line as ``service``.
        env: ``"prod"`` renders JSON lines, anything else a readable console format.
        level: the minimum level name (``"INFO"``, ``"DEBUG"``...).
        rich_tracebacks: in dev, render exceptions with rich (with local variables: slow and
            long, for a person at a terminal). ``None`` reads ``PARLEY_LOG_RICH_TRACEBACKS``;
            off by default. Every other case renders with :func:`render_exception`.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    rich = _wants_rich_tracebacks() if rich_tracebacks is None else rich_tracebacks
    rich = rich and env != "prod"
    renderer: structlog.types.Processor
    if env == "prod":
        renderer = structlog.processors.JSONRenderer()
    elif rich:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(),
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=True),
        )
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # drop disabled levels before any other work
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _add_service(service),
            _identity if rich else _format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request and per-message access lines stay off the hot path unless DEBUG is asked for.
    for noisy in ("uvicorn.access", "faststream.access.nats", "nats", "pgserver", "yoyo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _add_service(service: str) -> structlog.types.Processor:
    def add(_: object, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add


def _identity(
    _: object, __: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    return event_dict
