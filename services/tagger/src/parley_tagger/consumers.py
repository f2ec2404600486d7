"""The tagger's durable consumer ``tagger``: each event goes to its use case in
:mod:`parley_tagger.application.tagging`. Each does its work in its event's unit of work alone,
so events of different sessions share a transaction (``batch=True``); handled alone, a reply is
one statement without a transaction and a new session a read and one statement (optimistic units
of work)."""

from __future__ import annotations

from parley_contracts import ReplyCompleted, SessionCreated, SessionDeleted
from parley_runtime import ConsumerSpec, Handlers

from .application import tagging


def consumer_spec() -> ConsumerSpec:
    """The tagger's durable consumer ``tagger``."""
    return ConsumerSpec(
        durable="tagger",
        handlers=Handlers()
        .on(SessionCreated, tagging.session_created, batch=True)
        .on(ReplyCompleted, tagging.reply_completed, batch=True)
        .on(SessionDeleted, tagging.session_deleted, batch=True),
    )
