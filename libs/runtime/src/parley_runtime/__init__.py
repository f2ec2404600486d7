"""The Parley service chassis: settings, logging, database, migrations, bus, outbox, inbox, health."""

from .bus import ConsumerSpec, HandlerContext, Handlers, RetryLater, Unprocessable
from .refusals import AlreadyProcessed, SessionGone, WriteConflict, retried
from .service import Service, serve
from .settings import RuntimeSettings
from .uow import UnitOfWork

__all__ = [
    "AlreadyProcessed",
    "ConsumerSpec",
    "HandlerContext",
    "Handlers",
    "RetryLater",
    "RuntimeSettings",
    "Service",
    "SessionGone",
    "UnitOfWork",
    "Unprocessable",
    "WriteConflict",
    "retried",
    "serve",
]
