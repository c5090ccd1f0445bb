"""The real app in a real browser: every page draws, and the baby GPT trains live.

Screenshots of every page land in screenshots/ (open them: that is how the pages look on a
1400x900 projector).
"""

from __future__ import annotations

import re
import time

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
    # the untrained model: 000 -> 001 at 50% (the chain is plotly's second figure on the page)
    page.wait_for_function(GRAPH_HAS_JS, arg=["Step 0", "1(50%)"], timeout=30_000)
    save_screenshot(page, "baby_gpt_before")

    page.get_by_role("button", name=re.compile("Train 50 steps")).click()
    wait_training_finished(page)
    # the data's own transition beside the model's
    page.wait_for_function(GRAPH_HAS_JS, arg=["Step 50", "data 50%"], timeout=30_000)
    assert page.locator(".js-plotly-plot").count() >= 3  # loss, graph, attention heatmaps
    assert_no_exception(page)
    save_screenshot(page, "baby_gpt_after_50_steps")


GRAPH_HAS_JS = """([title, text]) => {
    const g = document.querySelectorAll('.js-plotly-plot')[1];
    if (!g) return false;
    const texts = Array.from(g.querySelectorAll('text')).map(t => t.textContent);
    return texts.some(t => t.startsWith(title)) && texts.some(t => t.includes(text));
}"""


def test_baby_gpt_64_states_draw_as_a_circle_of_arrows_while_training(app_server, browser_page):
    page = browser_page
    open_via_nav(page, app_server, "Baby GPT")
    box = page.get_by_label("Context length T")
    box.fill("6")
    box.press("Enter")
    wait_ready(page)
    page.wait_for_function(GRAPH_HAS_JS, arg=["Step 0", "111111"], timeout=30_000)
    page.get_by_role("button", name=re.compile(r"Train \d+ steps")).click()
    wait_training_finished(page)
    # 64 states, each named, drawn by plotly (no graphviz layout in the browser)
    names = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')[1]
        .querySelectorAll('text')).map(t => t.textContent).filter(t => /^[01]{6}$/.test(t))""")
    assert len(set(names)) == 64
    assert page.locator("[data-testid='stGraphVizChart']").count() == 0
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


def test_a_class_opening_a_direct_link_at_once_all_enter_through_app_py():
    """Eight first visitors at once on a fresh server, all by a direct link (a teacher's shared
    link; websocket clients, bench/ws_client.py): every page is drawn inside app.py's
    navigation, none in Streamlit's pages-folder mode. Before pages/_entry.py marked app.py's
    runs, only the first visitor was sent through app.py and the others' pages drew on their
    own (7 of 8 here), without the wait for the background imports: "partially initialized
    module 'pandas'" on the GPT-1 page."""
    import asyncio

    from bench.common import run_async
    from bench.ws_client import Session

    async def visit(url: str, n: int) -> list[Session]:
        sessions = [Session(url, "baby_gpt", "baby_context=4") for _ in range(n)]
        await asyncio.gather(*(s.open() for s in sessions))
        for s in sessions:
            await s.close()
        return sessions

    with streamlit_server("app.py") as (url, _):
        sessions = run_async(visit(url, 8))
    assert all(s.runs_finished >= 1 for s in sessions)
    assert [s.elements_outside_app for s in sessions] == [0] * 8
    assert [s.exceptions for s in sessions] == [[]] * 8
    assert all(s.app_navigation for s in sessions)
    assert all(any(label.startswith("Train") for label in s.buttons) for s in sessions)


def test_the_home_page_loads_the_chart_code_in_the_background_and_shows_nothing_for_it(
        app_server, browser_page):
    """pages/_client_warm.py: while the home page is read, the browser fetches Streamlit's
    chunks for charts, tables, code and the training pages' widgets (none of which is on the
    home page), so a training page's first visit does not wait for them; the component takes
    no room on the page. Then Baby GPT, drawn in full, fetches no script at all."""
    from pages._client_warm import CHUNKS

    page = browser_page
    page.add_init_script("performance.setResourceTimingBufferSize(10000)")  # not 250: all
    page.goto(app_server)
    wait_ready(page)
    assert page.locator(".js-plotly-plot, [data-testid='stGraphVizChart']").count() == 0
    page.wait_for_function(
        """(chunks) => { const n = performance.getEntriesByType('resource').map(e => e.name);
                   return chunks.every(c => n.some(u => u.includes('/static/js/' + c + '.'))); }""",
        arg=list(CHUNKS), timeout=15_000)
    warm = page.locator(".st-key-gptviz_client_warm")
    assert warm.count() == 1
    box = warm.bounding_box()
    assert box is not None and box["height"] <= 1, box
    # the list is complete: the lesson's first page, drawn in full, fetches no script
    scripts = ("performance.getEntriesByType('resource').map(e => e.name)"
               ".filter(u => u.endsWith('.js'))")
    before = set(page.evaluate(f"() => {scripts}"))
    quiet_since = time.monotonic()
    deadline = quiet_since + 30
    # the chunks' own imports, fetched after them: wait until no script came for 2 s
    while time.monotonic() - quiet_since < 2.0 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        now = set(page.evaluate(f"() => {scripts}"))
        if now != before:
            before, quiet_since = now, time.monotonic()
    page.locator("[data-testid='stSidebarNavLink']", has_text="Baby GPT").first.click()
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    wait_ready(page)
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_attached()
    fetched = set(page.evaluate(f"() => {scripts}")) - before
    assert not fetched, sorted(u.rsplit("/", 1)[-1] for u in fetched)
