"""A reload (F5) would throw away the model this session trained: the browser asks first.

Issue 15: a reload lost the model with no warning. pages/_unload.py arms the browser's own
`beforeunload` question while the session holds a trained model, and disarms it when its
Download model button is pressed. Playwright sees that question as a dialog of type
"beforeunload"; dismissing it keeps the page (and the model) where it was.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import expect

from .harness import VIEWPORT, assert_no_exception, wait_ready
from .switching import open_page, shown_step

pytestmark = pytest.mark.browser


def _reload_asks(page) -> bool:
    """Reload; True if the browser asked first (the question is dismissed: the page stays)."""
    seen: list[str] = []

    def on_dialog(d) -> None:
        seen.append(d.type)
        d.dismiss()

    page.on("dialog", on_dialog)
    with contextlib.suppress(Exception):  # a dismissed beforeunload cancels the navigation
        page.reload(timeout=5_000)
    page.remove_listener("dialog", on_dialog)
    return "beforeunload" in seen


def test_reload_after_training_asks_first_and_not_before(app_server, chromium_browser):
    ctx = chromium_browser.new_context(viewport=VIEWPORT)
    try:
        page = ctx.new_page()
        open_page(page, app_server, "Baby GPT")
        page.locator("h1").first.click()  # a user gesture: browsers ask only after one
        assert not _reload_asks(page), "asked before anything was trained"
        wait_ready(page)
        page.get_by_role("button", name=re.compile("One step")).click()
        expect(page.locator("[data-testid='stProgress']").first).to_contain_text(
            re.compile(r"Step 1\b"), timeout=30_000)
        wait_ready(page)
        assert _reload_asks(page), "no warning before a reload threw the model away"
        assert shown_step(page) == 1  # dismissed: the page and its model stayed
        assert_no_exception(page)
        # downloaded: nothing to lose, no question
        page.get_by_text("Save, load and share").click()
        expect(page.get_by_text(re.compile("a reload .* starts afresh"))).to_be_visible()
        with page.expect_download():
            page.get_by_role("button", name=re.compile("Download model")).click()
        assert not _reload_asks(page)
    finally:
        ctx.close()
