"""Bearer-token auth with PyJWT: the user is the token's ``sub``.

In ``dev`` mode the gateway issues HS256 tokens itself (``POST /api/auth/token``); in ``jwt`` mode
it only verifies tokens of an external issuer (same key settings, audience and issuer checked
when configured).
"""

from __future__ import annotations

import functools
import time
from typing import Annotated, Literal

import jwt
from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from parley_contracts import MAX_USER_ID_CHARS
from pydantic import BaseModel, Field

from ..settings import GatewaySettings
from .deps import Settings
from .problems import InvalidToken, RouteDisabled

_bearer = HTTPBearer(auto_error=False)
router = APIRouter(prefix="/api", tags=["auth"])


class TokenRequest(BaseModel):
    """``POST /api/auth/token`` body (dev auth mode)."""

    user_id: str = Field(min_length=1, max_length=MAX_USER_ID_CHARS, pattern=r"^[A-Za-z0-9_.@:-]+$")


class TokenResponse(BaseModel):
    """A signed bearer token and its lifetime in seconds."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


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


#: Verified tokens a gateway remembers (least recently used out): a client sends one token with
#: each request until it expires, and checking its signature again costs more than the request.
VERIFIED_TOKENS = 10_000


@functools.lru_cache(maxsize=VERIFIED_TOKENS)
def _verified(
    token: str, secret: str, algorithm: str, audience: str | None, issuer: str | None
) -> tuple[str, int]:
    """``(sub, exp)`` of a token PyJWT verified (signature, ``exp``, ``nbf``, audience and
    issuer when given, ``sub`` and ``exp`` required); ``exp`` in Unix seconds. Only answers
    are remembered, never errors.

    Raises:
        jwt.PyJWTError: the token does not verify.
        InvalidToken: its ``sub`` is missing, empty, or over
            :data:`~parley_contracts.MAX_USER_ID_CHARS` characters.
    """
    claims = jwt.decode(
        token,
        secret,
        algorithms=[algorithm],
        audience=audience,
        issuer=issuer,
        options={"require": ["sub", "exp"]},
    )
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("token has no subject", headers={"WWW-Authenticate": "Bearer"})
    if len(sub) > MAX_USER_ID_CHARS:
        raise InvalidToken(
            f"token subject is over {MAX_USER_ID_CHARS} characters",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return sub, int(claims["exp"])  # as PyJWT compares it


def verify_token(settings: GatewaySettings, token: str) -> str:
    """The user id (``sub``) of a valid token. A token verified before is taken from memory
    (:data:`VERIFIED_TOKENS`) and only checked for expiry, as PyJWT checks it (expired once
    ``exp`` <= now).

    Raises:
        InvalidToken: bad signature, expired, wrong audience/issuer, or no ``sub`` (or one
            over :data:`~parley_contracts.MAX_USER_ID_CHARS` characters, which no event carries).
    """
    try:
        sub, exp = _verified(
            token, settings.jwt_secret, settings.jwt_algorithm, settings.jwt_audience,
            settings.jwt_issuer,
        )  # fmt: skip
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
    if exp <= time.time():
        raise InvalidToken("Signature has expired", headers={"WWW-Authenticate": "Bearer"})
    return sub


async def current_user(
    settings: Settings,
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
    return verify_token(settings, credentials.credentials)


CurrentUser = Annotated[str, Depends(current_user)]


@router.post("/auth/token", response_model=TokenResponse, operation_id="createToken")
async def create_token(body: TokenRequest, settings: Settings) -> TokenResponse:
    """Dev auth mode: issue a signed token for ``user_id``. 404 in jwt mode."""
    if settings.auth_mode != "dev":
        raise RouteDisabled("tokens are issued by the identity provider in jwt mode")
    token, expires_in = issue_token(settings, body.user_id)
    return TokenResponse(access_token=token, expires_in=expires_in)
