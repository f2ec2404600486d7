"""Parley's shared contracts: the event envelope and events, subjects and the stream definition.

No I/O lives here; every service and the runtime import these models.
"""

from .events import (
    EVENT_TYPES,
    MAX_USER_ID_CHARS,
    AnyEvent,
    Event,
    MessageCreated,
    ReplyCompleted,
    ReplyFailed,
    SessionCreated,
    SessionDeleted,
    SessionNamed,
    SessionRenamed,
    SessionTagged,
    derive_id,
    parse_event,
    utcnow,
)
from .live import ReplyDelta, SessionChange, SessionChangeKind
from .queries import (
    NAMING_MAX_CHARS,
    NAMING_MAX_MESSAGES,
    NamingAnalytics,
    NamingAnalyticsQuery,
    NamingAnswer,
    NamingRequest,
    NamingTurn,
    Trace,
    TraceCursor,
    TracePage,
    TraceQuery,
)
from .subjects import StreamSpec, Subjects
from .text import storable, unstorable_reason

__all__ = [
    "NAMING_MAX_CHARS",
    "NAMING_MAX_MESSAGES",
    "storable",
    "unstorable_reason",
    "MAX_USER_ID_CHARS",
    "EVENT_TYPES",
    "AnyEvent",
    "Event",
    "MessageCreated",
    "NamingAnalytics",
    "NamingAnalyticsQuery",
    "NamingAnswer",
    "NamingRequest",
    "NamingTurn",
    "ReplyCompleted",
    "ReplyDelta",
    "ReplyFailed",
    "SessionChange",
    "SessionChangeKind",
    "SessionCreated",
    "SessionDeleted",
    "SessionNamed",
    "SessionRenamed",
    "SessionTagged",
    "StreamSpec",
    "Trace",
    "TraceCursor",
    "TracePage",
    "TraceQuery",
    "Subjects",
    "derive_id",
    "parse_event",
    "utcnow",
]
