"""The AsyncAPI 3.0 document of Parley's events, built from the contracts themselves.

Every event type is a channel ``<prefix>.<entity>.<event>.{session_id}`` carrying one message
whose payload schema is the pydantic model's JSON schema (envelope fields included) and whose
headers are the ones Parley publishes with it. Dead letters, live reply deltas and the traces
query have their channels too. The stream, de-duplication, ordering and versioning guarantees
are in ``info.description`` and the ``x-parley-stream`` extension.
"""

from __future__ import annotations

import inspect
from typing import Any

import yaml
from pydantic import BaseModel

from .events import EVENT_TYPES, Event
from .live import ReplyDelta
from .queries import TracePage, TraceQuery
from .subjects import StreamSpec, Subjects

#: Which service publishes each event type, and which services consume it (durable consumers
#: named after the service). tests/unit/contracts checks this against the services' code.
PUBLISHERS: dict[str, str] = {
    "session.created": "gateway",
    "message.created": "gateway",
    "session.renamed": "gateway",
    "session.deleted": "gateway",
    "reply.completed": "chat",
    "reply.failed": "chat",
    "session.named": "namer",
    "session.tagged": "tagger",
}
CONSUMERS: dict[str, tuple[str, ...]] = {
    "session.created": ("namer", "tagger"),
    "message.created": ("chat", "namer"),
    "session.renamed": ("namer",),
    "session.deleted": ("chat", "namer", "tagger"),
    "reply.completed": ("gateway", "namer", "tagger"),
    "reply.failed": ("gateway",),
    "session.named": ("gateway",),
    "session.tagged": ("gateway",),
}

_GUARANTEES = """\
Events of Parley's chat sessions, published on NATS JetStream.

**Stream.** One stream (`{stream}`) stores every event and the dead letters: subjects
{subjects}, limits retention, file storage, events kept {max_age_d:g} days.

**Envelope.** Every event is one JSON object: the envelope fields `event_id` (UUID),
`event_type` (`entity.event`), `schema_version`, `occurred_at` (UTC), `correlation_id` (the user
message that started the chain, or null), `session_id`, `user_id`, beside the event's own fields.

**De-duplication.** Each event is published with the header `Nats-Msg-Id` = `event_id`; the
stream drops a second publication of the same id within {dup_s:g} seconds. A derived event's id
is a uuid5 of its cause, so a redelivered cause yields the same event, never a different one.
Publishers write events to a transactional outbox with the state they describe; delivery is at
least once, so a subscriber keeps the `event_id`s it has handled (an inbox) to act exactly once.

**Ordering.** The subject ends with the session id. The stream keeps the order events were
published in; within one session a publisher publishes in the order of its changes. A durable
pull consumer with explicit acks sees a session's events in stream order, except that an event
redelivered after a failed try comes after later ones: handle one session's events one at a
time and allow for a late cause (Parley's consumers wait for an earlier event they need).
Different sessions are independent.

**Versioning.** Within one `schema_version` an event type's fields, types and constraints stay
as described here; any change to them is a new `schema_version`, rolled out consumers first.
Ignore fields you do not know and check `schema_version`.
"""


def _schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """``model``'s JSON schema with nested models hoisted into ``schemas``; a ``$ref`` to it."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _channel_id(event_type: str) -> str:
    entity, _, name = event_type.partition(".")
    return entity + name.capitalize()


def _event_message(cls: type[Event], schemas: dict[str, Any]) -> dict[str, Any]:
    event_type = cls.model_fields["event_type"].default
    doc = inspect.cleandoc(cls.__doc__ or "")
    return {
        "name": event_type,
        "title": cls.__name__,
        "summary": doc.splitlines()[0] if doc else event_type,
        "description": doc,
        "contentType": "application/json",
        "headers": {"$ref": "#/components/schemas/EventHeaders"},
        "payload": _schema(cls, schemas),
        "correlationId": {"location": "$message.payload#/correlation_id"},
        "x-parley-publisher": PUBLISHERS[event_type],
        "x-parley-consumers": list(CONSUMERS[event_type]),
    }


_SESSION_PARAM = {"session_id": {"description": "The session's UUID."}}
_EVENT_HEADERS = {
    "type": "object",
    "properties": {
        "Nats-Msg-Id": {
            "type": "string",
            "description": "The event_id: JetStream drops a duplicate within the window.",
        },
        "traceparent": {
            "type": "string",
            "description": "W3C trace context of the change that caused the event (when traced).",
        },
    },
    "required": ["Nats-Msg-Id"],
}


def build_document(prefix: str = "parley", stream: str = "PARLEY") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of a deployment using subject ``prefix`` and ``stream``."""
    subjects = Subjects(prefix)
    spec = StreamSpec.for_prefix(stream, prefix)
    schemas: dict[str, Any] = {"EventHeaders": _EVENT_HEADERS}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for event_type, cls in EVENT_TYPES.items():
        cid = _channel_id(event_type)
        messages[cls.__name__] = _event_message(cls, schemas)
        channels[cid] = {
            "address": subjects.event(event_type, "{session_id}"),
            "title": event_type,
            "description": f"`{event_type}` events of one session, stored in stream `{stream}`.",
            "parameters": _SESSION_PARAM,
            "messages": {cls.__name__: {"$ref": f"#/components/messages/{cls.__name__}"}},
        }
        ref = {"$ref": f"#/channels/{cid}/messages/{cls.__name__}"}
        operations[f"{PUBLISHERS[event_type]}Sends{cls.__name__}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{cid}"},
            "summary": f"{PUBLISHERS[event_type]} publishes {event_type} (through its outbox).",
            "messages": [ref],
        }
        for consumer in CONSUMERS[event_type]:
            operations[f"{consumer}Receives{cls.__name__}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{cid}"},
                "summary": f"Durable consumer `{consumer}` handles {event_type}.",
                "messages": [ref],
            }
    messages["DeadLetter"] = {
        "name": "deadletter",
        "title": "Dead letter",
        "summary": "An event a consumer gave up on, as it was received.",
        "description": "The payload is the original event's bytes; the header `Parley-Error` "
        "says why (invalid, or failed every delivery allowed).",
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {"Parley-Error": {"type": "string"}, "Nats-Msg-Id": {"type": "string"}},
        },
        "payload": {"type": "object", "description": "The event as received (may be invalid)."},
    }
    channels["deadLetters"] = {
        "address": subjects.dead_letter("consumer", "session").replace(
            ".consumer.session", ".{consumer}.{session_id}"
        ),
        "title": "dead letters",
        "description": f"Kept in stream `{stream}`; `unknown` stands for a session id that "
        "could not be read.",
        "parameters": {
            "consumer": {"description": "The durable consumer that gave up."},
            "session_id": {"description": "The session's UUID, or `unknown`."},
        },
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
    }
    messages["ReplyDelta"] = {
        "name": "reply.delta",
        "title": "Live reply delta",
        "summary": "One piece of a reply as it streams (core NATS, not stored).",
        "contentType": "application/json",
        "payload": _schema(ReplyDelta, schemas),
    }
    channels["liveReply"] = {
        "address": subjects.live_reply("{session_id}"),
        "title": "live reply deltas",
        "description": "Core NATS, outside the stream: a view, not a record; no replay.",
        "parameters": _SESSION_PARAM,
        "messages": {"ReplyDelta": {"$ref": "#/components/messages/ReplyDelta"}},
    }
    operations["chatSendsReplyDelta"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/liveReply"},
        "messages": [{"$ref": "#/channels/liveReply/messages/ReplyDelta"}],
    }
    for name, model in (("TraceQuery", TraceQuery), ("TracePage", TracePage)):
        messages[name] = {
            "name": name,
            "contentType": "application/json",
            "payload": _schema(model, schemas),
        }
    channels["traceQuery"] = {
        "address": subjects.query("tagger", "traces"),
        "title": "traces query",
        "description": "Core NATS request/reply answered by the tagger (a queue group).",
        "messages": {
            n: {"$ref": f"#/components/messages/{n}"} for n in ("TraceQuery", "TracePage")
        },
    }
    channels["traceReply"] = {
        "address": None,
        "title": "traces reply",
        "description": "The requester's inbox (the request's reply subject).",
        "messages": {"TracePage": {"$ref": "#/components/messages/TracePage"}},
    }
    operations["taggerAnswersTraceQuery"] = {
        "action": "receive",
        "channel": {"$ref": "#/channels/traceQuery"},
        "messages": [{"$ref": "#/channels/traceQuery/messages/TraceQuery"}],
        "reply": {
            "channel": {"$ref": "#/channels/traceReply"},
            "messages": [{"$ref": "#/channels/traceReply/messages/TracePage"}],
        },
    }
    description = _GUARANTEES.format(
        stream=stream,
        subjects=", ".join(f"`{s}`" for s in spec.subjects),
        max_age_d=spec.max_age_s / 86400,
        dup_s=spec.duplicate_window_s,
    )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Parley events",
            "version": "1",
            "description": description,
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {
                "host": "localhost:4222",
                "protocol": "nats",
                "description": "NATS 2.10 or newer with JetStream (the deployment's NATS_URL).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
        "x-parley-stream": {
            "name": stream,
            "subjects": list(spec.subjects),
            "retention": "limits",
            "storage": "file",
            "duplicate_window_s": spec.duplicate_window_s,
            "max_age_s": spec.max_age_s,
        },
    }


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, so descriptions read as written, and
    repeats shared values instead of using anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        """Never write an alias."""
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(document: dict[str, Any]) -> str:
    """The document as YAML, keys in the order built."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
