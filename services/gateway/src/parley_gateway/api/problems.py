"""RFC 9457 problem types of the gateway (rendered as ``application/problem+json`` by
``fastapi-problem``)."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi_problem.error import (
    BadRequestProblem,
    NotFoundProblem,
    StatusProblem,
    UnauthorisedProblem,
    UnprocessableProblem,
)
from fastapi_problem.handler import ExceptionHandler, request_validation_handler_
from starlette.requests import Request


class SessionNotFound(NotFoundProblem):
    """404: no such session for this user (another user's session looks exactly the same)."""

    title = "Session not found"


class RouteDisabled(NotFoundProblem):
    """404: the route exists only in another auth mode."""

    title = "Not found"


class InvalidToken(UnauthorisedProblem):
    """401: the bearer token is missing, malformed, expired or not signed by us."""

    title = "Invalid or missing bearer token"


class InvalidInput(UnprocessableProblem):
    """422: the request is well-formed but breaks a session rule.

    Like a schema violation, it carries ``errors``: ``[{"loc", "msg", "type"}]``, the shape the
    OpenAPI document gives every 422.
    """

    title = "Invalid input"

    def __init__(self, detail: str, *, loc: tuple[str | int, ...] = ("body",)) -> None:
        super().__init__(detail, errors=[{"loc": list(loc), "msg": detail, "type": "value_error"}])


class BadCursor(BadRequestProblem):
    """400: the pagination cursor was not issued by this API."""

    title = "Invalid cursor"


class IdempotencyKeyReused(InvalidInput):
    """422: the Idempotency-Key was already used for another request: another kind of resource,
    a message of another session, or another body (its fingerprint differs)."""

    title = "Idempotency key reused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, loc=("header", "Idempotency-Key"))


class OwnerUnavailable(StatusProblem):
    """503: the service that owns the data asked for did not answer in time."""

    title = "Service unavailable"
    status = 503


def validation_problem(eh: ExceptionHandler, request: Request, exc: RequestValidationError) -> Any:
    """The library's 422 problem, with each rejected input left out: an input that cannot be
    stored (a lone surrogate) cannot be written back in the response either."""
    errors = [{k: v for k, v in error.items() if k != "input"} for error in exc.errors()]
    return request_validation_handler_(eh, request, RequestValidationError(errors))
