"""Which name may replace which: provisional, generated and regenerated names against the user's."""

from __future__ import annotations

import uuid

from parley_gateway.domain.sessions import Session


def session(source: str, name: str = "Current") -> Session:
    return Session(id=uuid.uuid4(), user_id="u", name=name, name_source=source, model="echo-1")  # type: ignore[arg-type]


def test_a_provisional_name_replaces_only_the_default_name() -> None:
    fresh = session("default", "New chat")
    assert fresh.apply_auto_name("Lisbon Trip", "provisional")
    assert (fresh.name, fresh.name_source) == ("Lisbon Trip", "provisional")
    for source in ("provisional", "auto", "user"):
        named = session(source)
        assert not named.apply_auto_name("Late Provisional", "provisional")
        assert (named.name, named.name_source) == ("Current", source)


def test_a_generated_name_replaces_default_and_provisional_names_only() -> None:
    for source in ("default", "provisional"):
        s = session(source)
        assert s.apply_auto_name("Generated")
        assert (s.name, s.name_source) == ("Generated", "auto")
    for source in ("auto", "user"):
        assert not session(source).apply_auto_name("Generated")


def test_regenerate_replaces_any_name_but_the_users() -> None:
    for source in ("default", "provisional", "auto"):
        s = session(source)
        assert s.accepts_regenerated_name() and s.apply_regenerated_name("Again")
        assert (s.name, s.name_source) == ("Again", "auto")
    user = session("user")
    assert not user.accepts_regenerated_name()
    assert not user.apply_regenerated_name("Again")
    assert (user.name, user.name_source) == ("Current", "user")
