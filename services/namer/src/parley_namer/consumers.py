"""The namer's durable consumer: each handler hands its event to
:class:`~parley_namer.application.naming.Naming` (naming runs after a reply, in the background of
the conversation: the reply is already delivered when naming starts).

The handlers whose only work is their unit of work (session created, renamed, deleted) let
events of different sessions share a transaction (``batch=True``, see
:mod:`parley_runtime.batching`); a message (its provisional name) and a reply (an attempt) do
work before theirs, so they run alone."""

from __future__ import annotations

from parley_contracts import (
    MessageCreated,
    ReplyCompleted,
    SessionCreated,
    SessionDeleted,
    SessionRenamed,
)
from parley_runtime import ConsumerSpec, HandlerContext, Handlers

from .application.naming import Naming
from .domain.policy import only_keeps


class NamerHandlers:
    """The consumer's handlers, bound to one :class:`Naming`."""

    def __init__(self, naming: Naming) -> None:
        self.naming = naming

    async def on_session_created(self, event: SessionCreated, ctx: HandlerContext) -> None:
        """Remember the analytics opt-out and a name given at creation."""
        await self.naming.session_created(ctx, event)

    async def on_message_created(self, event: MessageCreated, ctx: HandlerContext) -> None:
        """Keep the user message; the first one gets a provisional name."""
        await self.naming.message_created(ctx, event)

    async def on_reply_completed(self, event: ReplyCompleted, ctx: HandlerContext) -> None:
        """Keep the reply; after turns 1, 2 and 3 try to name a session still unnamed."""
        await self.naming.reply_completed(ctx, event)

    async def on_session_renamed(self, event: SessionRenamed, ctx: HandlerContext) -> None:
        """The user chose a name: stop naming this session automatically."""
        await self.naming.session_renamed(ctx, event)

    async def on_session_deleted(self, event: SessionDeleted, ctx: HandlerContext) -> None:
        """Erase what the namer keeps of the session."""
        await self.naming.session_deleted(ctx, event)

    def only_keeps(self, event: MessageCreated | ReplyCompleted) -> bool:
        """Whether handling ``event`` only keeps its message, so it may share a batch's
        transaction (:func:`~.domain.policy.only_keeps`)."""
        kind = "message" if isinstance(event, MessageCreated) else "reply"
        return only_keeps(kind, event.turn, event.session_id in self.naming.known_settled)

    def consumer_spec(self) -> ConsumerSpec:
        """The namer's durable consumer ``namer``."""
        return ConsumerSpec(
            durable="namer",
            handlers=Handlers()
            .on(SessionCreated, self.on_session_created, batch=True)
            .on(MessageCreated, self.on_message_created, batch=self.only_keeps)
            # checks deleted/handled in its read; batched when there is nothing to read
            .on(ReplyCompleted, self.on_reply_completed, batch=self.only_keeps)
            .on(SessionRenamed, self.on_session_renamed, batch=True)
            .on(SessionDeleted, self.on_session_deleted, batch=True),
        )
