"""The gateway's session rules, without HTTP or SQL."""

from __future__ import annotations

import pytest
from parley_gateway.domain.sessions import (
    AUTO_REPLACEABLE,
    RuleViolation,
    check_content,
    check_name,
)


def test_content_must_be_present_and_bounded() -> None:
    assert check_content("hello", 10) == "hello"
    for bad in ("", "   \n", "x" * 11, "a\x00b"):
        with pytest.raises(RuleViolation):
            check_content(bad, 10)


def test_user_names_are_trimmed_single_lines() -> None:
    assert check_name("  Trip plans ", 50) == "Trip plans"
    assert check_name("two\r\n  lines\tand tabs", 50) == "two lines and tabs"
    for bad in ("", "  ", "\n\t", "x" * 51, "nul\x00"):
        with pytest.raises(RuleViolation):
            check_name(bad, 50)


def test_automatic_names_never_replace_user_or_auto_names() -> None:
    assert set(AUTO_REPLACEABLE) == {"default", "provisional"}
