"""The tagger's durable consumer ``tagger``: each event goes to its use case in
:mod:`parley_tagger.application.tagging`."""

from __future__ import annotations

from parley_contracts import ReplyCompleted, SessionCreated, SessionDeleted
from parley_runtime import ConsumerSpec, Handlers

from .application import tagging


def consumer_spec() -> ConsumerSpec:
    """The tagger's durable consumer ``tagger``."""
    return ConsumerSpec(
        durable="tagger",
        handlers=Handlers()
        .on(SessionCreated, tagging.session_created)
        .on(ReplyCompleted, tagging.reply_completed)
        .on(SessionDeleted, tagging.session_deleted),
    )
