"""Idempotency keys of client requests (IETF draft "The Idempotency-Key HTTP Header Field",
draft-ietf-httpapi-idempotency-key-header).

A key names one request: a retry with the same key and the same request returns the first
result; the same key with a different request is refused (422). "The same request" is judged
by a fingerprint: SHA-256 of the canonical JSON of the method, the path and the parsed body
(keys sorted, no spaces), so a retry that only reorders or re-spaces its JSON still matches.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any


def fingerprint(method: str, path: str, body: Any) -> str:
    """The hex SHA-256 fingerprint of a request: ``method`` (any case), ``path`` and its
    JSON-compatible ``body``."""
    canonical = json.dumps(
        [method.upper(), path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class EarlierUse:
    """What an idempotency key was first used for: the ``resource`` kind (``session`` or
    ``message``), its id, and the request's fingerprint (None for keys stored before
    fingerprints were kept)."""

    resource: str
    resource_id: uuid.UUID
    fingerprint: str | None

    def matches(self, resource: str, fingerprint: str) -> bool:
        """Whether a request of ``resource`` with ``fingerprint`` is a retry of this use."""
        return self.resource == resource and self.fingerprint in (None, fingerprint)
