"""Session tags: ``chat_model_<first 6 hex of the model's UUID>_<counter>``.

The counter is per user and per model, starts at 1, and is zero-padded to 3 digits (it grows
past 999 without padding). A tag is shown as ``[<model name> #015]``.
"""

from __future__ import annotations

import re
import uuid

TAG_PATTERN = re.compile(r"^chat_model_[0-9a-f]{6}_\d{3,}$")


def session_tag(model_id: uuid.UUID, counter: int) -> str:
    """The tag of a user's ``counter``-th session of model ``model_id``.

    Raises:
        ValueError: ``counter`` is below 1.
    """
    if counter < 1:
        raise ValueError(f"counter starts at 1, got {counter}")
    return f"chat_model_{model_id.hex[:6]}_{counter:03d}"


def tag_label(model: str, counter: int) -> str:
    """How a tag is shown to people: ``[<model name> #015]``."""
    return f"[{model} #{counter:03d}]"
