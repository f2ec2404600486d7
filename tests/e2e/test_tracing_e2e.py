"""One user message, one trace: the trace context travels from the HTTP request through the
outbox and NATS headers to every service that handles the message's events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from stack import Client, Stack


async def _one_message(
    http: httpx.AsyncClient, stack: Stack, js: object, spans: InMemorySpanExporter
) -> str:
    """Create a session, let it be tagged, then post one message and let it be answered and
    named; only the spans from the post on are kept. Returns the session id."""
    alice = await Client(http, f"alice-{uuid.uuid4().hex[:6]}").login()
    sid = (await alice.create_session())["id"]
    await alice.wait_for(sid, lambda s: s["session_tag"] is not None)
    await stack.settled(js)
    spans.clear()
    posted = await alice.post(sid, "How do I rotate a PDF page with qpdf?")
    assert posted["reply"] is not None
    await alice.wait_for(sid, lambda s: s["name_source"] == "auto")
    await stack.settled(js)
    return sid


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Spans of every service of this process, kept in memory (the provider is global)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    exporter.shutdown()  # later tests of this process export nothing more


async def test_one_message_gives_one_trace_across_the_four_services(
    stack: Stack, js, spans: InMemorySpanExporter
) -> None:
    stack.overrides["gateway"] = {"tracing": "on"}
    await stack.restart("gateway")  # on a new port
    try:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
            sid = await _one_message(http, stack, js, spans)
    finally:
        stack.overrides.pop("gateway")
        await stack.restart("gateway")


    finished = spans.get_finished_spans()
    posts = [
        s for s in finished
        if s.kind == SpanKind.SERVER and s.attributes.get("http.route", "").endswith("/messages")
    ]
    assert len(posts) == 1, [s.name for s in finished]
    trace_id = posts[0].context.trace_id
    ours = [s for s in finished if s.context.trace_id == trace_id]
    handled = {
        (s.attributes["parley.service"], s.name)
        for s in ours
        if s.kind == SpanKind.CONSUMER and s.attributes.get("parley.session_id") == sid
    }
    assert ("chat", "process message.created") in handled
    assert ("gateway", "process reply.completed") in handled
    assert ("tagger", "process reply.completed") in handled
    assert ("namer", "process reply.completed") in handled
    assert ("gateway", "process session.named") in handled  # the name, published by the namer
    # The upstream call is a GenAI client span inside chat's handling of the message.
    calls = [s for s in ours if s.kind == SpanKind.CLIENT and s.name.startswith("chat ")]
    assert len(calls) == 1, [s.name for s in ours]
    call = calls[0].attributes
    assert call["gen_ai.operation.name"] == "chat"
    assert call["gen_ai.request.model"] == calls[0].name.removeprefix("chat ")
    assert call["gen_ai.provider.name"]
    assert call["gen_ai.conversation.id"]  # the upstream session the next turn continues
    assert call["gen_ai.usage.output_tokens"] > 0
    # Nothing of this message escaped into another trace.
    elsewhere = [
        s for s in finished
        if s.context.trace_id != trace_id and s.attributes.get("parley.session_id") == sid
        and s.name in {"process message.created", "process reply.completed"}
    ]
    assert elsewhere == []
