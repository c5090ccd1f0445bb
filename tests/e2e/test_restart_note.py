"""When the server a tab trained on goes away, the tab says so as soon as it reconnects.

The server is stopped and a new one started on the same port, as a restart (or a replica
behind nginx going down) does. The open tab reconnects to a new, empty session: its model is
gone, and without the note the page would go on from Step 0 as if nothing had happened. A tab
opened afresh shows no such note, also when it is the new server's first visitor.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .harness import (
    REPO_ROOT,
    VIEWPORT,
    assert_no_exception,
    save_screenshot,
    set_number,
    start_streamlit,
    stop_streamlit,
    wait_ready,
)
from .switching import nav, shown_step

pytestmark = pytest.mark.browser
NOTE = "The server restarted"


def one_step(page) -> None:
    page.get_by_role("button", name=re.compile("One step")).first.click()
    page.wait_for_timeout(500)
    wait_ready(page)


def test_a_tab_that_outlives_its_server_says_its_model_is_gone(chromium_browser):
    url, proc = start_streamlit(REPO_ROOT / "app.py")
    context = chromium_browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(url + "/baby_gpt")  # a shared link, the new server's first visitor
        wait_ready(page)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Baby GPT")
        set_number(page, "Steps per click of Train", 7)
        one_step(page)
        one_step(page)
        assert shown_step(page) == 2
        expect(page.get_by_text(NOTE)).to_have_count(0)  # a fresh tab: no note

        stop_streamlit(proc)  # the server goes away...
        url2, proc = start_streamlit(REPO_ROOT / "app.py", port=urlsplit(url).port)  # ...back
        assert url2 == url
        # the tab reconnects to a new, empty session and says so by itself: no click needed
        expect(page.get_by_text(NOTE)).to_be_visible(timeout=30_000)
        wait_ready(page)
        assert_no_exception(page)
        # the old model (step 2) is gone: a new one, at step 0 (polled: until the new
        # session's run ends, the tab shows the old page)
        expect(page.locator("[data-testid='stProgress']").first).to_contain_text(
            re.compile(r"Step 0\b"), timeout=30_000)
        assert shown_step(page) == 0
        assert page.get_by_role("spinbutton", name="Steps per click of Train",
                                exact=True).input_value() == "7"  # the settings are kept
        save_screenshot(page, "restart_note")
        nav(page, "Home")  # said once: a page switch does not repeat it
        expect(page.get_by_text(NOTE)).to_have_count(0)

        fresh = context.new_page()  # a tab opened now lost nothing
        fresh.goto(url + "/baby_gpt")
        wait_ready(fresh)
        expect(fresh.get_by_role("heading", level=1)).to_contain_text("Baby GPT")
        expect(fresh.get_by_text(NOTE)).to_have_count(0)
    finally:
        context.close()
        stop_streamlit(proc)
