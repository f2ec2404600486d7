"""Opaque keyset cursors of the list routes: base64url (unpadded) of the JSON ``[time, id]``."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime

from ..domain.ports import Keyset
from .problems import BadCursor


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """The cursor of the position ``(at, row_id)``."""
    raw = json.dumps([at.isoformat(), str(row_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Keyset | None:
    """The position of a cursor (None for none).

    Raises:
        BadCursor: the cursor was not issued by this API.
    """
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, row_id = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("a cursor's time has its offset")
        return when.astimezone(UTC), uuid.UUID(row_id)  # a time out of range fails here
    except (ValueError, TypeError, AttributeError, OverflowError, binascii.Error) as exc:
        raise BadCursor("the cursor was not issued by this API") from exc
