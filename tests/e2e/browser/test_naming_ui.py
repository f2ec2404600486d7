"""Name suggestions and regenerate in the web UI, in a real browser against the real stack."""

from __future__ import annotations

import httpx
from playwright.async_api import expect
from stack import Client

REPLY_S = 20_000  # ms: longest wait for a reply, a name or suggestions


async def test_suggestions_are_offered_applied_and_regenerate_is_then_hidden(
    open_user, http: httpx.AsyncClient
) -> None:
    user = await open_user()
    page = user.page
    api = await Client(http, user.user_id).login()
    await page.get_by_role("button", name="New chat", exact=True).click()
    await page.get_by_role("button", name="Create").click()
    composer = page.get_by_label("Message", exact=True)
    await composer.fill("How do I rotate a PDF page with qpdf on the command line?")
    await composer.press("Enter")
    sid = (await api.request("GET", "/api/sessions")).json()["items"][0]["id"]
    named = await api.wait_for(sid, lambda s: s["name_source"] == "auto")
    title = page.locator("#session-title")
    await expect(title).to_have_text(named["name"], timeout=REPLY_S)

    # Regenerate: named again from the conversation, the title follows.
    await page.get_by_role("button", name="Regenerate name").click()
    status = page.locator("#chat-status")
    await expect(status).to_contain_text("Named again", timeout=REPLY_S)
    again = await api.session(sid)
    assert again["name_source"] == "auto"
    await expect(title).to_have_text(again["name"])

    # Suggestions: three distinct names; picking one makes it the user's.
    await page.get_by_role("button", name="Suggest names").click()
    offered = page.get_by_role("list", name="Name suggestions").get_by_role("button")
    await expect(offered).to_have_count(3, timeout=REPLY_S)
    names = await offered.all_inner_texts()
    assert len({n.casefold() for n in names}) == 3
    await offered.nth(1).click()
    chosen = await api.wait_for(sid, lambda s: s["name_source"] == "user")
    assert chosen["name"] == names[1]
    await expect(title).to_have_text(names[1])
    await expect(page.get_by_role("button", name="Regenerate name")).to_be_hidden()
    assert user.errors == []
