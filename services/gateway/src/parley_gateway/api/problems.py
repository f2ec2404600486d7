"""RFC 9457 problem types of the gateway (rendered as ``application/problem+json`` by
``fastapi-problem``), and the one mapping of domain errors to them (:func:`install`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi_problem.error import (
    BadRequestProblem,
    NotFoundProblem,
    Problem,
    StatusProblem,
    UnauthorisedProblem,
    UnprocessableProblem,
)
from fastapi_problem.handler import (
    ExceptionHandler,
    add_exception_handler,
    http_exception_handler_,
    new_exception_handler,
    request_validation_handler_,
)
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Match

from ..domain.idempotency import IdempotencyKeyReused
from ..domain.ports import OwnerUnavailable, StorageUnavailable
from ..domain.sessions import NamingConflict, RuleViolation, SessionNotFound


class SessionMissing(NotFoundProblem):
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


class KeyReused(InvalidInput):
    """422: the Idempotency-Key was already used for another request: another kind of resource,
    a message of another session, or another body (its fingerprint differs)."""

    title = "Idempotency key reused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, loc=("header", "Idempotency-Key"))


class ServiceUnavailable(StatusProblem):
    """503: the service that owns the data asked for did not answer in time."""

    title = "Service unavailable"
    status = 503


class NamingNotPossible(StatusProblem):
    """409: naming cannot run on the session as it is (its user named it, or there is nothing
    to name yet)."""

    title = "Naming conflict"
    status = 409


class DatabaseUnavailable(StatusProblem):
    """503: the database did not answer in time or is out of reach; retry after a moment
    (``Retry-After``, seconds)."""

    title = "Database unavailable"
    status = 503
    headers_ = {"Retry-After": "1"}


def validation_problem(eh: ExceptionHandler, request: Request, exc: RequestValidationError) -> Any:
    """The library's 422 problem, with each rejected input left out: an input that cannot be
    stored (a lone surrogate) cannot be written back in the response either."""
    errors = [{k: v for k, v in error.items() if k != "input"} for error in exc.errors()]
    return request_validation_handler_(eh, request, RequestValidationError(errors))


#: Each domain error and the problem it is answered with.
DOMAIN_PROBLEMS: dict[type[Exception], type[Problem]] = {
    SessionNotFound: SessionMissing,
    IdempotencyKeyReused: KeyReused,
    RuleViolation: InvalidInput,
    OwnerUnavailable: ServiceUnavailable,
    NamingConflict: NamingNotPossible,
    StorageUnavailable: DatabaseUnavailable,
}


def _domain_problem(_: ExceptionHandler, __: Request, exc: Exception) -> Problem:
    problem = next(p for error, p in DOMAIN_PROBLEMS.items() if isinstance(exc, error))
    return problem() if problem is SessionMissing else problem(str(exc))


def allowed_methods(request: Request) -> list[str]:
    """The documented methods of every route whose path matches the request's (HEAD and
    OPTIONS are not documented)."""
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, BaseRoute) and route.matches(request.scope)[0] != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods - {"HEAD", "OPTIONS"})


def http_problem(eh: ExceptionHandler, request: Request, exc: HTTPException) -> Problem:
    """The library's problem for an HTTP error; a 405 lists in ``Allow`` every method of the
    path (the router names only the first route it tried)."""
    if exc.status_code == 405:
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return http_exception_handler_(eh, request, exc)


def install(app: FastAPI) -> None:
    """Answer problems, schema violations and every domain error of :data:`DOMAIN_PROBLEMS` as
    problem documents."""
    handlers = dict.fromkeys(DOMAIN_PROBLEMS, _domain_problem)
    eh = new_exception_handler(
        request_validation_handler=validation_problem,
        http_exception_handler=http_problem,
        handlers=handlers,
    )
    add_exception_handler(app, eh)
    for error in DOMAIN_PROBLEMS:
        app.add_exception_handler(error, eh)
