"""Each provider's real client library against the fake upstream: sessions created once and
continued, streamed deltas, usage, structured output, and classified errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from parley_cli.fake_upstream import FakeUpstream, models_toml
from parley_providers import Catalogue, Delta, ErrorKind, ProviderError, build_provider
from parley_providers.catalogue import load_catalogue

STATEFUL = {"fake-gemini": "gemini", "fake-openai": "openai", "fake-session": "session"}


@pytest.fixture
async def fake(tmp_path) -> AsyncIterator[FakeUpstream]:
    server = await FakeUpstream().start()
    yield server
    await server.stop()


@pytest.fixture
def catalogue(fake: FakeUpstream, tmp_path) -> Catalogue:
    path = tmp_path / "models.toml"
    path.write_text(models_toml(fake.url))
    return load_catalogue(path)


async def _converse(catalogue: Catalogue, model: str, messages: list[str]):
    spec = catalogue.get(model)
    assert spec is not None
    provider = build_provider(spec, api_key="test-key")
    session = await provider.open_session(system="You are terse.", history=[])
    deltas: list[Delta] = []
    completions = []
    history = []
    from parley_providers import Turn

    async def sink(delta: Delta) -> None:
        deltas.append(delta)

    for message in messages:
        done = await provider.stream(
            session_id=session,
            system="You are terse.",
            user=message,
            history=[] if provider.stateful else history,
            on_delta=sink,
        )
        completions.append(done)
        history += [Turn("user", message), Turn("assistant", done.text)]
        session = done.session_id if provider.stateful else None
    return completions, deltas


@pytest.mark.parametrize("model", ["fake-gemini", "fake-openai", "fake-session", "fake-compatible"])
async def test_three_turns_open_once_and_continue(
    model: str, catalogue: Catalogue, fake: FakeUpstream
) -> None:
    completions, deltas = await _converse(catalogue, model, ["one", "two", "three"])
    for turn, done in enumerate(completions, start=1):
        assert f"reply {turn} " in done.text
        assert done.usage.output_tokens and done.usage.output_tokens > 0
        assert done.finish_reason
    assert "".join(d.text for d in deltas).endswith("You said: three")
    requests = fake.state.requests
    if model == "fake-compatible":
        assert [r.action for r in requests] == ["stateless"] * 3
        assert len(requests[-1].body["messages"]) == 6  # system, 2 earlier turns, the message
        assert requests[-1].body["messages"][0] == {"role": "system", "content": "You are terse."}
        return
    api = STATEFUL[model]
    opened = "conversation" if api == "openai" else "create"
    assert fake.state.count(api, opened) == 1
    assert fake.state.count(api, "continue") == (3 if api == "openai" else 2)
    roots = {r.session for r in requests}
    assert len(roots) == 1  # one upstream session throughout
    continued = [r.continued_from for r in requests if r.action == "continue"]
    if api == "gemini":  # each turn continues the previous interaction: the chain's head
        assert continued == [completions[0].session_id, completions[1].session_id]
        assert all(r.body["system_instruction"] == "You are terse." for r in requests)
    else:
        assert set(continued) == {completions[0].session_id}


@pytest.mark.parametrize("model", ["fake-gemini", "fake-openai", "fake-session"])
async def test_a_lost_session_is_classified(model, catalogue, fake) -> None:
    spec = catalogue.get(model)
    provider = build_provider(spec, api_key="k")

    async def sink(delta: Delta) -> None:
        return None

    session = await provider.open_session(system=None, history=[])
    done = await provider.stream(session_id=session, system=None, user="hi", history=[], on_delta=sink)
    fake.state.lose()
    with pytest.raises(ProviderError) as lost:
        await provider.stream(
            session_id=done.session_id, system=None, user="again", history=[], on_delta=sink
        )
    assert lost.value.kind is ErrorKind.SESSION_LOST


@pytest.mark.parametrize("model", ["fake-gemini", "fake-openai", "fake-session", "fake-compatible"])
async def test_rate_limits_carry_retry_after_and_the_sdks_do_not_retry(model, catalogue, fake) -> None:
    provider = build_provider(catalogue.get(model), api_key="k")
    fake.state.fail(429, count=5, retry_after=3)

    async def sink(delta: Delta) -> None:
        return None

    with pytest.raises(ProviderError) as limited:
        await provider.stream(session_id=None, system=None, user="hi", history=[], on_delta=sink)
    assert limited.value.kind is ErrorKind.RATE_LIMITED
    assert limited.value.retry_after_s == 3
    assert len(fake.state.requests) == 1  # no hidden retry inside the client


@pytest.mark.parametrize("model", ["fake-gemini", "fake-openai", "fake-compatible"])
async def test_generate_json_returns_the_schema_shaped_object(model, catalogue, fake) -> None:
    from parley_providers import generate_json

    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "language": {"type": "string"}},
        "required": ["title", "language"],
        "additionalProperties": False,
    }
    answer = await generate_json(
        catalogue.get(model), "Name the conversation.", "user: hello", schema, schema_name="name"
    )
    assert answer == {"title": "Fake title", "language": "Fake language"}
    assert [r.action for r in fake.state.requests] == ["json"]
