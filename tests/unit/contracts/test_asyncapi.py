"""The AsyncAPI 3.0 document of the events: valid against the AsyncAPI schema, complete (every
subject, event, envelope field and schema; the stream and its guarantees), true to the
services' consumers, committed up to date, and served by the gateway."""

from __future__ import annotations

import copy
import json

import httpx
import jsonschema
import pytest
import yaml
from deploy_facts import DEPLOY, ROOT, built
from parley_cli.asyncapi import render
from parley_contracts import EVENT_TYPES, Event, StreamSpec, Subjects
from parley_contracts.asyncapi import CONSUMERS, PUBLISHERS, build_document

SCHEMA = json.loads((DEPLOY / "schemas" / "asyncapi-3.0.0.json").read_text())
COMMITTED = ROOT / "docs" / "asyncapi.yaml"


def _errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_document_is_valid_asyncapi_3() -> None:
    assert _errors(build_document()) == []


def test_the_schema_catches_an_invalid_document() -> None:
    broken = copy.deepcopy(build_document())
    broken["operations"]["gatewaySendsSessionCreated"]["action"] = "publish"
    broken["components"]["schemas"]["SessionNamed"]["properties"]["name"]["type"] = "text"
    assert len(_errors(broken)) >= 2


def test_every_event_has_its_subject_message_and_full_schema() -> None:
    doc = build_document("acme", "ACME")
    subjects = Subjects("acme")
    envelope = set(Event.model_fields)
    addresses = {c["address"] for c in doc["channels"].values()}
    for event_type, cls in EVENT_TYPES.items():
        assert subjects.event(event_type, "{session_id}") in addresses
        message = doc["components"]["messages"][cls.__name__]
        assert message["name"] == event_type
        assert message["headers"] == {"$ref": "#/components/schemas/EventHeaders"}
        schema = doc["components"]["schemas"][cls.__name__]
        assert set(schema["properties"]) == set(cls.model_fields)
        assert envelope <= set(schema["properties"])
        assert schema["additionalProperties"] is False
    assert "parley.deadletter" not in json.dumps(doc["channels"])  # the prefix is the one asked
    assert doc["channels"]["deadLetters"]["address"] == "acme.deadletter.{consumer}.{session_id}"
    assert doc["channels"]["liveReply"]["address"] == "acme.live.reply.{session_id}"
    assert doc["channels"]["traceQuery"]["address"] == "acme.query.tagger.traces"


def test_the_stream_and_its_guarantees_are_stated() -> None:
    doc = build_document()
    spec = StreamSpec.for_prefix("PARLEY", "parley")
    stream = doc["x-parley-stream"]
    assert stream["subjects"] == list(spec.subjects)
    assert stream["duplicate_window_s"] == spec.duplicate_window_s
    assert (stream["retention"], stream["storage"]) == ("limits", "file")
    text = doc["info"]["description"]
    for words in ("Nats-Msg-Id", "De-duplication", "Ordering", "at\nleast once", "schema_version"):
        assert words in text, words
    assert doc["components"]["schemas"]["EventHeaders"]["required"] == ["Nats-Msg-Id"]


def test_publishers_and_consumers_match_the_services() -> None:
    assert set(PUBLISHERS) == set(CONSUMERS) == set(EVENT_TYPES)
    consumed: dict[str, set[str]] = {t: set() for t in EVENT_TYPES}
    for name in ("gateway", "chat", "namer", "tagger"):
        for consumer in built(name)[0].consumers:
            for event_type in consumer.spec.handlers.event_types:
                consumed[event_type].add(consumer.spec.durable)
    assert {t: set(c) for t, c in CONSUMERS.items()} == consumed


def test_the_committed_document_is_up_to_date() -> None:
    assert COMMITTED.read_text() == render(), "run: .tools/bin/uv run parley asyncapi"
    assert yaml.safe_load(COMMITTED.read_text())["asyncapi"] == "3.0.0"


@pytest.mark.parametrize("prefix", ["parley", "acme"])
async def test_the_gateway_serves_the_document_of_its_prefix(prefix: str) -> None:
    from parley_gateway.app import build
    from parley_gateway.settings import GatewaySettings

    _, app = build(GatewaySettings(prefix=prefix, stream=prefix.upper()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        r = await client.get("/asyncapi.yaml")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(r.text) == build_document(prefix, prefix.upper())
