"""The namer's use cases on fakes (no servers): which sessions are named and when, what a name
arriving late or for a renamed session becomes, erasure, analytics without content for a session
that opted out, and suggestions and regenerate on request."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from namer_events import USER, message, reply
from parley_contracts import (
    NamingRequest,
    NamingTurn,
    SessionCreated,
    SessionDeleted,
    SessionNamed,
    SessionRenamed,
)
from parley_namer.application import requests
from parley_namer.application.naming import Naming
from parley_namer.domain.names import Turn
from parley_runtime import RetryLater


@pytest.fixture
def session() -> uuid.UUID:
    return uuid.uuid4()


def created(session: uuid.UUID, *, user_named: bool = False, opt_out: bool = False) -> Any:
    return SessionCreated(
        session_id=session, user_id=USER, name="Trip plans" if user_named else "New chat",
        name_source="user" if user_named else "default", model="echo-1",
        analytics_opt_out=opt_out,
    )  # fmt: skip


def request(session: uuid.UUID, purpose: str, **kwargs: Any) -> NamingRequest:
    turns = [NamingTurn(role="user", content="How do I sort a list in Python?")]
    return NamingRequest(user_id=USER, session_id=session, purpose=purpose, turns=turns, **kwargs)  # type: ignore[arg-type]


def named(ctx: Any) -> list[SessionNamed]:
    return [e for e in ctx.published if isinstance(e, SessionNamed)]


async def exchange(naming: Naming, ctx: Any, session: uuid.UUID, turn: int) -> None:
    await naming.message_created(ctx, message(session, turn))
    await naming.reply_completed(ctx, reply(session, turn))


# -- when a session is named ---------------------------------------------------------------


async def test_a_session_named_by_its_user_at_creation_is_never_tried(
    naming: Naming, store: Any, namer: Any, offline: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.session_created(ctx, created(session, user_named=True))
    for turn in (1, 2, 3):
        await exchange(naming, ctx, session, turn)
    assert namer.calls == [] and store.attempts == [] and named(ctx) == []
    assert store.states[session].status == "user"
    # settled from the start: its messages need nothing, not even a provisional name
    assert session not in store.kept and offline.calls == []


async def test_the_messages_and_replies_after_a_session_is_named_need_nothing(
    naming: Naming, store: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.session_created(ctx, created(session))
    await exchange(naming, ctx, session, 1)  # named after its first reply
    kept = dict(store.kept[session])
    await exchange(naming, ctx, session, 2)
    await exchange(naming, ctx, session, 3)
    assert store.kept[session] == kept  # turns 2 and 3 are never read by an attempt


async def test_the_first_message_gets_a_provisional_name_at_once(
    naming: Naming, offline: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.session_created(ctx, created(session))
    await naming.message_created(ctx, message(session, 1))
    [provisional] = named(ctx)
    assert (provisional.name, provisional.source, provisional.attempt) == (
        "Python List Sort", "provisional", 0,
    )  # fmt: skip
    assert offline.calls == [[Turn("user", "How do I sort a list in Python? (1)")]]


async def test_only_the_first_message_gets_a_provisional_name(
    naming: Naming, offline: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.message_created(ctx, message(session, 2))
    assert named(ctx) == [] and offline.calls == []


async def test_no_provisional_name_once_the_session_is_no_longer_pending(
    naming: Naming, store: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.session_renamed(ctx, SessionRenamed(session_id=session, user_id=USER, name="X"))
    await naming.message_created(ctx, message(session, 1))
    other = uuid.uuid4()
    await naming.session_created(ctx, created(other))
    await store.record_attempt(None, other, trigger_turn=1, outcome="error", name=None,
                               language=None, detail=None, duration_ms=1)  # fmt: skip
    await naming.message_created(ctx, message(other, 1))  # an attempt was made already
    assert named(ctx) == []


async def test_no_provisional_name_when_the_offline_namer_has_none(
    naming: Naming, offline: Any, ctx: Any, session: uuid.UUID
) -> None:
    offline.titles = ()
    await naming.message_created(ctx, message(session, 1))
    assert named(ctx) == []


async def test_the_first_reply_names_the_session_from_the_kept_exchange(
    naming: Naming, store: Any, namer: Any, observed: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.session_created(ctx, created(session))
    await exchange(naming, ctx, session, 1)
    auto = named(ctx)[-1]
    assert (auto.name, auto.source, auto.attempt, auto.language) == (
        "Sorting Lists in Python", "auto", 1, "en",
    )  # fmt: skip
    assert [t.role for t in namer.calls[0]] == ["user", "assistant"]
    assert store.states[session].status == "named"
    assert store.states[session].name == "Sorting Lists in Python"
    [row] = store.attempts
    assert (row["outcome"], row["trigger_turn"], row["purpose"], row["words"]) == (
        "named", 1, "auto", 4,
    )  # fmt: skip
    assert observed.calls == [("auto", "named", "llm:fake")]
    await exchange(naming, ctx, session, 2)  # named: not tried again
    assert len(namer.calls) == 1


async def test_attempts_follow_the_replies_of_turns_one_to_three_only(
    naming: Naming, store: Any, namer: Any, ctx: Any, session: uuid.UUID
) -> None:
    namer.titles = ()
    for turn in (1, 2, 3, 4):
        await exchange(naming, ctx, session, turn)
    assert [a["trigger_turn"] for a in store.attempts] == [1, 2, 3]
    assert {a["outcome"] for a in store.attempts} == {"no_name"}
    assert [len(c) for c in namer.calls] == [2, 4, 6]  # the namer reads the exchanges so far
    assert (4, "user") not in store.kept[session]  # only the first exchanges are kept
    assert [e.source for e in named(ctx)] == ["provisional"]


async def test_a_failed_attempt_is_recorded_and_retried_at_the_next_reply(
    naming: Naming, store: Any, namer: Any, ctx: Any, session: uuid.UUID
) -> None:
    namer.fail = TimeoutError("model slow")
    await exchange(naming, ctx, session, 1)
    namer.fail = None
    await exchange(naming, ctx, session, 2)
    assert [a["outcome"] for a in store.attempts] == ["error", "named"]
    assert store.attempts[0]["detail"] == "TimeoutError: model slow"
    assert named(ctx)[-1].attempt == 2


async def test_a_reply_before_its_user_message_waits(
    naming: Naming, store: Any, namer: Any, ctx: Any, session: uuid.UUID
) -> None:
    with pytest.raises(RetryLater, match="not been seen yet"):
        await naming.reply_completed(ctx, reply(session, 1))
    assert namer.calls == [] and store.attempts == [] and session not in store.kept
    await naming.message_created(ctx, message(session, 1))
    await naming.reply_completed(ctx, reply(session, 1))  # redelivered later: named
    assert named(ctx)[-1].source == "auto"


async def test_a_name_arriving_after_the_user_renamed_is_superseded(
    naming: Naming, store: Any, namer: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.message_created(ctx, message(session, 1))

    async def user_renames() -> None:
        await naming.session_renamed(
            ctx, SessionRenamed(session_id=session, user_id=USER, name="My trip")
        )

    namer.meanwhile = user_renames
    await naming.reply_completed(ctx, reply(session, 1))
    [row] = store.attempts
    assert (row["outcome"], row["detail"]) == ("superseded", "session became user meanwhile")
    assert [e.source for e in named(ctx)] == ["provisional"]
    assert (store.states[session].status, store.states[session].name) == ("user", "My trip")


async def test_a_renamed_session_is_not_named_any_more(
    naming: Naming, store: Any, namer: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.session_renamed(ctx, SessionRenamed(session_id=session, user_id=USER, name="Y"))
    for turn in (1, 2):
        await exchange(naming, ctx, session, turn)
    assert namer.calls == [] and store.attempts == [] and named(ctx) == []
    assert store.states[session].name == "Y"


async def test_a_deleted_session_is_erased(
    naming: Naming, store: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.session_created(ctx, created(session))
    await exchange(naming, ctx, session, 1)
    await naming.session_deleted(ctx, SessionDeleted(session_id=session, user_id=USER))
    assert session not in store.states and session not in store.kept
    assert store.attempts == [] and ctx.forgotten == [session]


# -- analytics -----------------------------------------------------------------------------


async def test_a_session_that_opted_out_keeps_content_out_of_attempt_rows(
    naming: Naming, store: Any, namer: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.session_created(ctx, created(session, opt_out=True))
    namer.fail = ValueError("the model said: 'sorting lists'")
    await exchange(naming, ctx, session, 1)
    namer.fail, namer.fallback_reason = None, "refused: 'sorting lists in python'"
    await exchange(naming, ctx, session, 2)
    failed, succeeded = store.attempts
    assert (failed["outcome"], failed["detail"], failed["name"]) == ("error", None, None)
    assert (succeeded["outcome"], succeeded["name"]) == ("named", None)
    assert succeeded["fallback_reason"] == "refused"
    assert succeeded["words"] == 4  # figures stay
    assert named(ctx)[-1].name == "Sorting Lists in Python"  # the session is named all the same


async def test_a_request_of_a_session_that_opted_out_keeps_content_out(
    naming: Naming, store: Any, ctx: Any, session: uuid.UUID
) -> None:
    asked = request(session, "suggest", count=2, analytics_opt_out=True)
    answer = await requests.answer(naming, ctx.unit_of_work, asked)
    assert answer.titles == ["Sorting Lists in Python", "Python List Sorting"]
    [row] = store.attempts
    assert (row["outcome"], row["name"], row["purpose"]) == ("suggested", None, "suggest")


async def test_analytics_sum_up_the_users_attempts(
    naming: Naming, ctx: Any, session: uuid.UUID
) -> None:
    await exchange(naming, ctx, session, 1)
    await requests.answer(naming, ctx.unit_of_work, request(session, "suggest", count=3))
    figures = await requests.analytics(naming, ctx.pool, USER)
    assert (figures.sessions, figures.attempts) == (1, 2)
    assert figures.outcomes == {"named": 1, "suggested": 1}
    assert (await requests.analytics(naming, ctx.pool, "bob")).attempts == 0


# -- requests ------------------------------------------------------------------------------


async def test_suggestions_change_nothing(
    naming: Naming, store: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.session_created(ctx, created(session))
    answer = await requests.answer(
        naming, ctx.unit_of_work,
        request(session, "suggest", count=3, avoid=["Python List Sorting"]),
    )  # fmt: skip
    assert answer.titles == ["Sorting Lists in Python", "Sorted in Python"]
    assert (answer.namer, answer.attempt) == ("llm:fake", 1)
    assert store.states[session].status == "pending" and ctx.published == []


async def test_a_regenerated_name_becomes_the_sessions(
    naming: Naming, store: Any, observed: Any, ctx: Any, session: uuid.UUID
) -> None:
    asked = request(session, "regenerate", count=3)
    answer = await requests.answer(naming, ctx.unit_of_work, asked)
    assert answer.titles == ["Sorting Lists in Python"]  # one name, whatever the count
    assert (store.states[session].status, store.states[session].name) == (
        "named", "Sorting Lists in Python",
    )  # fmt: skip
    assert observed.calls == [("regenerate", "named", "llm:fake")]


async def test_regenerate_on_a_session_its_user_named_is_refused(
    naming: Naming, store: Any, ctx: Any, session: uuid.UUID
) -> None:
    await naming.session_created(ctx, created(session, user_named=True))
    answer = await requests.answer(naming, ctx.unit_of_work, request(session, "regenerate"))
    assert answer.titles == [] and answer.attempt == 1
    [row] = store.attempts
    assert (row["outcome"], row["detail"], row["name"]) == (
        "superseded", "the user named the session", None,
    )  # fmt: skip
    assert store.states[session].status == "user" and store.states[session].name is None
