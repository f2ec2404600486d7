"""The web UI in a real browser against the real stack: a new user's whole journey, two users
kept apart, and user content shown as text only."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import expect
from stack import Client

REPLY_S = 20_000  # ms: longest wait for a reply or a name in these tests


async def send(user: Any, text: str) -> None:
    """Type ``text`` in the composer of ``user`` (a conftest ``UserPage``) and press Enter."""
    composer = user.page.get_by_label("Message", exact=True)
    await composer.fill(text)
    await composer.press("Enter")


async def test_a_new_user_chats_sees_name_and_tag_renames_archives_and_deletes(
    open_user, http: httpx.AsyncClient
) -> None:
    user = await open_user(permissions=["clipboard-read", "clipboard-write"])
    page = user.page
    api = await Client(http, user.user_id).login()
    await page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads

    await expect(page.locator("#list-status")).to_have_text("No sessions yet.")
    await page.get_by_role("button", name="New chat", exact=True).click()
    await page.get_by_label("Persona", exact=True).select_option(label="Patient tutor")
    await page.get_by_role("button", name="Create").click()
    sidebar = page.get_by_role("list", name="Your sessions")
    item = sidebar.locator(".session")
    await expect(item).to_have_count(1)
    await expect(item.locator(".session-name")).to_have_text("New chat")
    await expect(page.locator("#list-status")).to_have_text("")  # no longer "No sessions yet."

    log = page.get_by_role("log", name="Messages")
    replies = log.locator("article.message.assistant")
    turns = [
        "How do I rotate a PDF page with qpdf on the command line?",
        "And how do I merge two PDF files with qpdf?",
        "Can qpdf also split a PDF into single pages?",
    ]
    for n, text in enumerate(turns, start=1):
        await send(user, text)
        await expect(replies).to_have_count(n, timeout=REPLY_S)
        await expect(replies.nth(n - 1)).to_contain_text(f"You said: {text}")
        await expect(log.locator("article.message.user").nth(n - 1)).to_have_attribute(
            "data-status", "answered"
        )
    assert await page.evaluate("window.__streamed") == 3  # each reply was shown while streaming
    await expect(item.locator(".session-meta")).to_contain_text("6 messages")

    # The generated name and the tag arrive over GET /api/events, without a reload.
    sid = (await api.request("GET", "/api/sessions")).json()["items"][0]["id"]
    named = await api.wait_for(sid, lambda s: s["name_source"] == "auto" and s["session_tag"])
    await expect(item.locator(".session-name")).to_have_text(named["name"], timeout=REPLY_S)
    await expect(page.locator("#session-title")).to_have_text(named["name"])
    counter = named["session_tag"].rsplit("_", 1)[1]
    badge = item.get_by_role("button", name=f"Copy tag {named['session_tag']}")
    await expect(badge).to_have_text(f"[Echo #{counter}]")
    assert re.fullmatch(r"chat_model_[0-9a-f]{6}_\d{3,}", named["session_tag"])
    assert await page.evaluate("window.__sameDocument") is True

    await badge.click()
    assert await page.evaluate("navigator.clipboard.readText()") == named["session_tag"]
    await expect(page.locator("#list-status")).to_have_text(f"Copied {named['session_tag']}")

    # The session's traces, reachable from its tag.
    await page.get_by_role("button", name="Traces").click()
    traces = page.get_by_role("dialog", name=f"Traces of {named['session_tag']}")
    await expect(traces.locator("li")).to_have_count(3, timeout=REPLY_S)
    await traces.get_by_role("button", name="Close").click()

    # Rename in place: the user's name is kept.
    await page.get_by_role("button", name="Rename").click()
    await page.get_by_label("Session name").fill("qpdf recipes")
    await page.get_by_label("Session name").press("Enter")
    await expect(item.locator(".session-name")).to_have_text("qpdf recipes")
    await expect(page.locator("#session-title")).to_have_text("qpdf recipes")
    assert (await api.session(sid))["name_source"] == "user"

    # Archive: gone from the list, found again under the archived toggle.
    await page.get_by_role("button", name="Archive", exact=True).click()
    await expect(item).to_have_count(0)
    await page.get_by_label("Show archived").check()
    await expect(item).to_have_count(1)
    await expect(item.locator(".session-meta")).to_contain_text("Archived")
    assert (await api.session(sid))["is_archived"] is True

    # Delete, after confirming.
    await page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this session?")
    await dialog.get_by_role("button", name="Delete").click()
    await expect(item).to_have_count(0)
    await expect(page.get_by_text("Choose a session or start a new chat.")).to_be_visible()
    assert (await api.request("GET", f"/api/sessions/{sid}")).status_code == 404
    assert user.errors == []


async def test_two_users_see_only_their_own_sessions(open_user) -> None:
    alice, bob = await open_user(), await open_user()
    for user, text in ((alice, "alice's question about sourdough starters"), (bob, "bob asks")):
        await user.page.get_by_role("button", name="New chat", exact=True).click()
        await user.page.get_by_role("button", name="Create").click()
        await send(user, text)
        await expect(user.page.locator("article.message.assistant")).to_have_count(
            1, timeout=REPLY_S
        )
    # A second session of alice's reaches her sidebar live, and never bob's.
    await alice.page.get_by_role("button", name="New chat", exact=True).click()
    await alice.page.get_by_role("button", name="Create").click()
    await expect(alice.page.locator(".session")).to_have_count(2)
    await bob.page.wait_for_timeout(500)
    await expect(bob.page.locator(".session")).to_have_count(1)
    await expect(bob.page.locator(".session-meta")).to_contain_text("2 messages")
    await expect(alice.page.get_by_text("bob asks")).to_have_count(0)
    await bob.page.reload()
    await expect(bob.page.locator(".session")).to_have_count(1)  # the token survives a reload
    assert alice.errors == [] and bob.errors == []


async def test_markup_and_script_in_a_message_are_shown_as_text(open_user) -> None:
    user = await open_user()
    page = user.page
    hostile = (
        '<b>bold</b> <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    )
    await page.get_by_role("button", name="New chat", exact=True).click()
    await page.get_by_role("button", name="Create").click()
    await send(user, hostile)
    reply = page.locator("article.message.assistant")
    await expect(reply).to_have_count(1, timeout=REPLY_S)
    await expect(page.locator("article.message.user .content")).to_have_text(hostile)
    await expect(reply).to_contain_text(hostile)
    assert await page.locator("#messages b, #messages script, #messages img").count() == 0
    assert await page.evaluate("window.__pwned") is None
    await page.reload()  # from the stored history too
    await page.locator(".session-open").first.click()
    await expect(page.locator("article.message.user .content")).to_have_text(hostile)
    assert await page.locator("#messages b, #messages script, #messages img").count() == 0
    assert user.errors == []
