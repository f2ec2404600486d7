"""What a delivery costs the chassis when nothing is traced: no span is started or attached,
and a metric's labelled child is looked up once."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN
from parley_runtime.metrics import EVENTS, child
from parley_runtime.tracing import consuming

FIELDS = {
    "service": "svc",
    "consumer": "svc",
    "subject": "parley.message.created.s",
    "event_type": "message.created",
    "event_id": "e",
    "session_id": "s",
}
#: A W3C trace context as another service would have written it.
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(autouse=True)
def tracing_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider installed, whatever an earlier test of this process installed."""
    monkeypatch.setattr(trace, "get_tracer_provider", trace.ProxyTracerProvider)


def test_nothing_traced_gives_the_invalid_span_and_leaves_the_context_alone() -> None:
    before = trace.get_current_span()
    with consuming(**FIELDS, headers={"Nats-Msg-Id": "e"}) as span:
        assert span is INVALID_SPAN
        assert trace.get_current_span() is before


def test_a_carried_context_is_passed_on_even_with_tracing_off() -> None:
    with consuming(**FIELDS, headers={"traceparent": TRACEPARENT}) as span:
        context = span.get_span_context()
        assert context.is_valid
        assert format(context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
        assert trace.get_current_span() is span


def test_a_labelled_child_is_looked_up_once() -> None:
    first = child(EVENTS, "svc", "message.created", "ok")
    assert child(EVENTS, "svc", "message.created", "ok") is first
    assert child(EVENTS, "svc", "message.created", "duplicate") is not first
    before = first._value.get()
    child(EVENTS, "svc", "message.created", "ok").inc()
    assert EVENTS.labels("svc", "message.created", "ok")._value.get() == before + 1
