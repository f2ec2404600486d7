"""The chat service's durable consumer ``chat``: each event goes to the use case of
:mod:`parley_chat.application.turns` (answer a message, settle a turn given up, erase a session).
"""

from __future__ import annotations

from parley_contracts import MessageCreated, SessionDeleted
from parley_providers import Catalogue
from parley_runtime import ConsumerSpec, HandlerContext, Handlers

from .adapters import store
from .adapters.providers import ModelRouter
from .application.turns import Turns
from .domain.upstream import UpstreamAI


class ChatHandlers:
    """The consumer's handlers over :class:`~parley_chat.application.turns.Turns` (arguments
    as there: the upstream or model router, and the order wait, turn deadline and retry base in
    seconds)."""

    def __init__(
        self,
        upstreams: UpstreamAI | ModelRouter,
        *,
        order_wait_s: float = 0.5,
        turn_deadline_s: float = 60.0,
        retry_base_s: float = 0.5,
    ) -> None:
        router = (
            upstreams
            if isinstance(upstreams, ModelRouter)
            else ModelRouter(Catalogue(models=()), forced=upstreams)
        )
        self.turns = Turns(
            router,
            store,
            order_wait_s=order_wait_s,
            turn_deadline_s=turn_deadline_s,
            retry_base_s=retry_base_s,
        )

    async def on_message_created(self, event: MessageCreated, ctx: HandlerContext) -> None:
        """Answer the user message (see :meth:`Turns.answer`)."""
        await self.turns.answer(event, ctx)

    async def on_give_up(self, event: object, reason: str, ctx: HandlerContext) -> None:
        """A message that will not be answered gets ``reply.failed``."""
        if isinstance(event, MessageCreated):
            await self.turns.give_up(event, reason, ctx)

    async def on_session_deleted(self, event: SessionDeleted, ctx: HandlerContext) -> None:
        """Erase what chat keeps of the session."""
        await self.turns.erase(event, ctx)

    def consumer_spec(self) -> ConsumerSpec:
        """The chat service's durable consumer ``chat``."""
        return ConsumerSpec(
            durable="chat",
            handlers=Handlers()
            .on(MessageCreated, self.on_message_created)
            .on(SessionDeleted, self.on_session_deleted),
            on_give_up=self.on_give_up,
        )
