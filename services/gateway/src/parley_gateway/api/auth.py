"""Bearer-token auth with PyJWT: the user is the token's ``sub``.

In ``dev`` mode the gateway issues HS256 tokens itself (``POST /api/auth/token``); in ``jwt`` mode
it only verifies tokens of an external issuer (same key settings, audience and issuer checked
when configured).
"""

from __future__ import annotations

import time
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..settings import GatewaySettings
from .problems import InvalidToken

_bearer = HTTPBearer(auto_error=False)


def issue_token(settings: GatewaySettings, user_id: str) -> tuple[str, int]:
    """A signed token for ``user_id``; returns ``(token, expires_in_seconds)``."""
    now = int(time.time())
    claims: dict[str, object] = {"sub": user_id, "iat": now, "exp": now + settings.token_ttl_s}
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    token = jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)
    return token, settings.token_ttl_s


def verify_token(settings: GatewaySettings, token: str) -> str:
    """The user id (``sub``) of a valid token.

    Raises:
        InvalidToken: bad signature, expired, wrong audience/issuer, or no ``sub``.
    """
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("token has no subject", headers={"WWW-Authenticate": "Bearer"})
    return sub


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """FastAPI dependency: the authenticated user's id.

    Raises:
        InvalidToken: no bearer token, or an invalid one.
    """
    if credentials is None:
        raise InvalidToken(
            "an Authorization: Bearer <token> header is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return verify_token(request.app.state.settings, credentials.credentials)


CurrentUser = Annotated[str, Depends(current_user)]
