"""The real app in a real browser: every page draws, and the baby GPT trains live.

Screenshots of every page land in screenshots/ (open them: that is how the pages look on a
1400x900 projector).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from pages._catalog import CATALOG

from .harness import (
    assert_no_exception,
    nav_titles,
    open_via_nav,
    save_screenshot,
    streamlit_server,
    wait_ready,
    wait_training_finished,
)

pytestmark = pytest.mark.browser


def test_every_page_in_the_navigation_draws_without_error(app_server, browser_page):
    page = browser_page
    page.goto(app_server)
    wait_ready(page)
    titles = nav_titles(page)
    assert "Home" in titles[0] and len(titles) >= 2
    for title in titles:
        page.locator("[data-testid='stSidebarNavLink']", has_text=title).first.click()
        page.wait_for_timeout(500)
        wait_ready(page)
        expect(page.locator("h1").first).to_be_visible()
        assert_no_exception(page)
        save_screenshot(page, "page_" + re.sub(r"\W+", "_", title.lower()))


def test_baby_gpt_reproduces_document_000_live(app_server, browser_page):
    page = browser_page
    open_via_nav(page, app_server, "Baby GPT")
    page.get_by_role("button", name=re.compile("Load document 000")).click()
    wait_ready(page)
    graph = page.locator("[data-testid='stGraphVizChart'] svg").last
    expect(graph).to_be_visible(timeout=30_000)
    expect(graph).to_contain_text("1(50%)")  # the untrained model: 000 -> 001 at 50%
    save_screenshot(page, "baby_gpt_before")

    page.get_by_role("button", name=re.compile("Train 50 steps")).click()
    wait_training_finished(page)
    expect(page.get_by_text("Now (step 50)")).to_be_visible()
    expect(graph).to_contain_text("data 50%")  # the data's own transition beside the model's
    assert page.locator(".js-plotly-plot").count() >= 2  # loss curve and attention heatmaps
    assert_no_exception(page)
    save_screenshot(page, "baby_gpt_after_50_steps")


def test_baby_gpt_64_states_draw_as_a_circle_of_arrows_while_training(app_server, browser_page):
    page = browser_page
    open_via_nav(page, app_server, "Baby GPT")
    box = page.get_by_label("Context length T")
    box.fill("6")
    box.press("Enter")
    wait_ready(page)
    network = page.locator(".st-key-baby_graph .js-plotly-plot")
    expect(network).to_be_visible(timeout=30_000)
    expect(page.get_by_text("64 states: too many to label every arrow")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"Train \d+ steps")).click()
    wait_training_finished(page)
    # 64 nodes, one text label each, drawn by plotly (no graphviz layout in the browser)
    assert network.locator("g.textpoint").count() == 64
    assert page.locator(".st-key-baby_graph [data-testid='stGraphVizChart']").count() == 0
    assert_no_exception(page)
    save_screenshot(page, "baby_gpt_64_states")


def test_a_direct_link_as_the_first_visit_still_enters_through_app_py(browser_page):
    """A fresh server whose first visitor opens a shared link to a page (not Home): the page must
    run inside app.py's navigation (pages/_entry.py), not in Streamlit's pages-folder mode."""
    page = browser_page
    # fresh: the session server has already seen Home
    with streamlit_server("app.py") as (url, _):
        page.goto(f"{url}/baby_gpt?baby_context=4")  # a shared link with one setting
        wait_ready(page)
        expect(page.locator("h1").first).to_contain_text("Baby GPT")
        links = page.locator("[data-testid='stSidebarNavLink']")
        expect(links.first).to_be_visible()
        assert nav_titles(page) == ["Home"] + [info.title for info in CATALOG]  # not pages/
        assert "/baby_gpt?" in page.url and "baby_context=4" in page.url
        expect(page.get_by_label("Context length T")).to_have_value("4")  # the link's setting
        assert_no_exception(page)
