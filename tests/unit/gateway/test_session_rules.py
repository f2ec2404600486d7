"""The gateway's session rules, without HTTP or SQL."""

from __future__ import annotations

import uuid

import pytest
from parley_gateway.domain.sessions import (
    RuleViolation,
    Session,
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


def session(name_source: str) -> Session:
    return Session(id=uuid.uuid4(), user_id="u", name="Now", name_source=name_source, model="m")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "auto", "provisional"),
    [
        ("default", True, True),
        ("provisional", True, False),  # a provisional name is replaced by the generated one only
        ("auto", False, False),  # named already: a late or repeated name changes nothing
        ("user", False, False),  # the user's choice is never replaced
    ],
)
def test_which_names_a_namer_may_replace(source: str, auto: bool, provisional: bool) -> None:
    for kind, allowed in (("auto", auto), ("provisional", provisional)):
        named = session(source)
        assert named.apply_auto_name("Generated", kind) is allowed  # type: ignore[arg-type]
        assert (named.name, named.name_source) == (
            ("Generated", kind) if allowed else ("Now", source)
        )
