"""Fixtures of the browser tests: one Chromium (Debian's package, driven by Playwright) for the
run, and pages signed in as fresh users of the real stack (``tests/stack.py``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from stack import Stack

CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

#: Counts, in the page, each reply bubble that appeared while its reply was still streaming.
WATCH_STREAMING = """
window.__streamed = 0;
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes) {
    if (n.classList && n.classList.contains('streaming')) window.__streamed += 1;
  }
}).observe(document, {childList: true, subtree: true});
"""


@dataclass
class UserPage:
    """A browser page of one signed-in user, with the console errors it logged and the
    answers of 400 and above it received."""

    user_id: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The folder the browser tests write their artefacts to (screenshots, axe results,
    timings): ``tests/artifacts/``, ignored by git."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run tests/e2e/browser/install-chromium.sh "
            "(Debian package 'chromium') or set PARLEY_CHROMIUM"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        await browser.close()


@pytest.fixture
async def open_user(browser: Browser, stack: Stack) -> AsyncIterator[Any]:
    """``await open_user(**context_options)``: a new context and page at the UI, signed in
    through the dev sign-in form as a fresh user. Every context is closed after the test."""
    contexts: list[BrowserContext] = []

    async def open_user(sign_in: bool = True, **options: Any) -> UserPage:
        context = await browser.new_context(base_url=stack.base_url, **options)
        contexts.append(context)
        await context.add_init_script(WATCH_STREAMING)
        page = await context.new_page()
        user = UserPage(f"user-{uuid.uuid4().hex[:8]}", context, page)
        page.on("console", lambda m: user.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: user.errors.append(str(e)))
        page.on(
            "response",
            lambda r: (
                user.errors.append(f"{r.status} {r.request.method} {r.url}")
                if r.status >= 400
                else None
            ),
        )
        await page.goto("/")
        if sign_in:
            await page.get_by_label("User id").fill(user.user_id)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_selector("body[data-ready=true]")
        return user

    yield open_user
    for context in contexts:
        await context.close()
