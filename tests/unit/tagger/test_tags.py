"""Session tag format."""

from __future__ import annotations

import uuid

import pytest
from parley_tagger.domain.tags import TAG_PATTERN, session_tag, tag_label

MODEL = uuid.UUID("3f9a2c71-0000-4000-8000-000000000000")


def test_tag_is_model_prefix_and_padded_counter() -> None:
    assert session_tag(MODEL, 1) == "chat_model_3f9a2c_001"
    assert session_tag(MODEL, 15) == "chat_model_3f9a2c_015"
    assert session_tag(MODEL, 1234) == "chat_model_3f9a2c_1234"
    assert all(TAG_PATTERN.match(session_tag(MODEL, n)) for n in (1, 999, 1000))
    with pytest.raises(ValueError):
        session_tag(MODEL, 0)


def test_label_shows_model_and_counter() -> None:
    assert tag_label("gpt-4o", 15) == "[gpt-4o #015]"
