"""OpenTelemetry traces across HTTP and the bus: one user message, one trace.

The trace context travels the way the events do. When a unit of work writes an event to the
outbox, the current context (W3C ``traceparent`` / ``tracestate``) is stored beside it; the relay
publishes it as NATS headers; the consumer that handles the event continues the trace in a
``process`` span (``SpanKind.CONSUMER``), and what that handler publishes carries the new context
on. The gateway's HTTP requests are spans of their own (FastAPI instrumentation), so a message
posted over HTTP gives one trace spanning gateway → chat → gateway, namer and tagger.

Off by default: with ``PARLEY_TRACING=off`` no tracer provider is installed, the API is a no-op
and no header is written. ``PARLEY_TRACING=on`` installs an SDK provider exporting over OTLP/HTTP
to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default ``http://localhost:4318``); the other standard
``OTEL_*`` variables apply. Span and attribute names follow the OpenTelemetry semantic
conventions for messaging (``messaging.*``) and generative AI (``gen_ai.*``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind

#: The tracer of the chassis (a proxy until a provider is installed).
TRACER = trace.get_tracer("parley")


def configure_tracing(service: str, mode: str) -> None:
    """Install the OTLP exporting provider for process ``service`` when ``mode`` is ``"on"``."""
    if mode != "on":
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"parley-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def current_context() -> dict[str, str]:
    """The current trace context as W3C headers (empty when nothing is traced)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


#: W3C headers that carry a trace context (``traceparent``) or baggage across the bus.
CONTEXT_HEADERS = ("traceparent", "baggage")

#: What :func:`consuming` gives when there is nothing to trace: the invalid span, as a no-op
#: tracer would (reusable: ``nullcontext`` keeps no state).
_NOTHING_TRACED = nullcontext(INVALID_SPAN)


def consuming(
    *,
    service: str,
    consumer: str,
    subject: str,
    event_type: str,
    event_id: str,
    session_id: str,
    headers: Mapping[str, str] | None,
) -> AbstractContextManager[Span]:
    """A ``process`` span for one delivery, child of the context its headers carry.

    With no tracer provider installed (tracing off) and no context in ``headers``, the span
    would be a no-op and carry nothing on: the invalid span is given without extracting,
    starting or attaching anything (a delivery's cheapest path). A context that arrives is
    still passed on when tracing is off here, as the no-op tracer does.
    """
    if not (headers and any(h in headers for h in CONTEXT_HEADERS)) and isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider
    ):
        return _NOTHING_TRACED
    attributes = {
        "messaging.system": "nats",
        "messaging.operation.type": "process",
        "messaging.destination.name": subject,
        "messaging.consumer.group.name": consumer,
        "messaging.message.id": event_id,
        "parley.service": service,
        "parley.session_id": session_id,
    }
    return _consumer_span(f"process {event_type}", headers, attributes)


@contextmanager
def _consumer_span(
    name: str, headers: Mapping[str, str] | None, attributes: dict[str, str]
) -> Iterator[Span]:
    parent = propagate.extract(dict(headers or {}))
    with TRACER.start_as_current_span(
        name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ) as span:
        yield span


def set_attributes(attributes: Mapping[str, Any]) -> None:
    """Add ``attributes`` (None values skipped) to the current span, if one is recording."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({k: v for k, v in attributes.items() if v is not None})


@contextmanager
def upstream_call(*, provider: str, model: str, session_id: str) -> Iterator[Span]:
    """A ``CLIENT`` span ``chat {model}`` around one turn sent to an upstream AI, with the
    GenAI semantic-convention request attributes (``gen_ai.operation.name``,
    ``gen_ai.provider.name``, ``gen_ai.request.model``); :func:`set_reply_attributes` adds the
    reply's. A failure is recorded on the span and re-raised.

    Source: OpenTelemetry semantic conventions for generative AI client spans
    (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/).
    """
    with TRACER.start_as_current_span(
        f"chat {model}",
        kind=SpanKind.CLIENT,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
            "parley.session_id": session_id,
        },
    ) as span:
        yield span


def set_reply_attributes(
    span: Span,
    *,
    conversation_id: str | None,
    response_id: str | None,
    finish_reason: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    retries: int,
) -> None:
    """Set the GenAI response attributes of a finished upstream call on ``span``: the upstream
    session as ``gen_ai.conversation.id``, ``gen_ai.response.id``,
    ``gen_ai.response.finish_reasons`` and token usage (``gen_ai.usage.input_tokens`` /
    ``output_tokens``); what the provider did not report is left out. ``retries`` counts the
    tries after the first (``parley.upstream.retries``)."""
    if not span.is_recording():
        return
    values: dict[str, Any] = {
        "gen_ai.conversation.id": conversation_id,
        "gen_ai.response.id": response_id,
        "gen_ai.response.finish_reasons": [finish_reason] if finish_reason else None,
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "parley.upstream.retries": retries,
    }
    span.set_attributes({k: v for k, v in values.items() if v is not None})
