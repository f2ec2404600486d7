"""``GET /asyncapi.yaml``: the AsyncAPI 3.0 document of the events, for subscribers.

Built from ``parley_contracts`` with this deployment's subject prefix and stream name.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import Response
from parley_contracts.asyncapi import build_document, to_yaml

router = APIRouter()


@lru_cache(maxsize=4)
def _document(prefix: str, stream: str) -> str:
    return to_yaml(build_document(prefix, stream))


@router.get("/asyncapi.yaml", include_in_schema=False)
async def asyncapi(request: Request) -> Response:
    """The event contract as AsyncAPI 3.0 YAML (no token needed: it holds no user data)."""
    settings = request.app.state.settings
    return Response(_document(settings.prefix, settings.stream), media_type="application/yaml")
