"""Baby GPT as a live instrument, in Chromium: one screen at 1280x720 (and 1920x1080), readable
figure text, presenter mode, a locked demo, the timeline replay, clicking a state, and a walk.

Screenshots (screenshots/baby_*_1280x720.png and friends) are the viewport as a projector shows
it: open them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .harness import SCREENSHOT_DIR, assert_no_exception, wait_ready

pytestmark = pytest.mark.browser

TRAIN = re.compile(r"Train [\d,]+ steps?")
SMALL_TEXT_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).slice(0, 3)
  .flatMap(p => Array.from(p.querySelectorAll('text')))
  .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0)
  .map(t => [t.textContent.slice(0, 20), parseFloat(getComputedStyle(t).fontSize)])
  .filter(x => x[1] < 14)"""


def shot(page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))


BOXES_JS = """(n) => {
  // by the charts' keys (pages/baby_gpt.py), not by order: Streamlit replaces a chart's element
  // at each redraw, and a chart caught between two elements must not let a later one stand in
  const keys = [['baby_loss'], ['baby_network', 'baby_heat'], ['baby_attn']].slice(0, n);
  const plots = keys.map(ks => ks.map(k => document.querySelector(`.st-key-${k} .js-plotly-plot`))
    .find(p => p && p.getBoundingClientRect().width > 0));
  const btn = Array.from(document.querySelectorAll('button'))
    .find(b => /^(pause|play_arrow)?\\s*(Pause|Train [\\d,]+ steps?)$/.test(b.innerText.trim()));
  if (!btn || plots.some(p => !p)) return null;
  const r = e => { const b = e.getBoundingClientRect();
                   return {x: b.x, y: b.y, right: b.right, bottom: b.bottom}; };
  return {button: r(btn), plots: plots.map(r)};
}"""


def screen_boxes(page, n_plots: int) -> dict:
    """The Train/Pause button's box and the first n plots' boxes, once all are drawn (Streamlit
    replaces a plotly chart's element at each redraw, so they are read in one go)."""
    handle = page.wait_for_function(BOXES_JS, arg=n_plots, timeout=20_000, polling=100)
    return handle.json_value()


def inside(page, box: dict, what: str) -> None:
    vp = page.viewport_size
    assert box["x"] >= 0 and box["y"] >= 0, (what, box)
    assert box["right"] <= vp["width"] + 1 and box["bottom"] <= vp["height"] + 1, (what, box, vp)


def open_baby(page, base_url: str, query: str = "") -> None:
    page.goto(base_url + "/baby_gpt" + query)
    wait_ready(page)
    page.wait_for_timeout(500)
    wait_ready(page)


def load_doc000(page) -> None:
    page.get_by_role("button", name=re.compile("Load document 000")).click()
    wait_ready(page)
    expect(page.get_by_text("Step 0", exact=True)).to_be_visible(timeout=30_000)


def plots(page):
    return page.locator(".js-plotly-plot")


def check_one_screen(page, with_attention: bool = False) -> None:
    boxes = screen_boxes(page, 3 if with_attention else 2)
    inside(page, boxes["button"], "the Train/Pause button")
    for box, what in zip(boxes["plots"], ("the loss curve", "the state graph",
                                          "the attention heatmaps"), strict=False):
        inside(page, box, what)
    assert page.evaluate(SMALL_TEXT_JS) == [], "figure text under 14 px"


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_controls_loss_and_graph_share_one_screen_before_during_and_after(
        app_server, chromium_browser, width, height):
    ctx = chromium_browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    try:
        open_baby(page, app_server)
        load_doc000(page)
        steps = page.get_by_label("Steps per click of Train", exact=True)
        steps.fill("5000")
        steps.press("Enter")
        wait_ready(page)
        shot(page, f"baby_before_{width}x{height}")
        check_one_screen(page, with_attention=width >= 1920)  # before
        page.get_by_role("button", name=TRAIN).click()
        expect(page.get_by_role("button", name="Pause")).to_be_visible(timeout=10_000)
        expect(page.locator("[data-testid='stProgress']").first).to_contain_text(
            re.compile(r"Step [1-9]"), timeout=30_000)
        shot(page, f"baby_training_{width}x{height}")
        check_one_screen(page, with_attention=width >= 1920)  # during
        page.get_by_role("button", name="Pause").click()
        expect(page.get_by_role("button", name=TRAIN)).to_be_visible(timeout=30_000)
        wait_ready(page)
        shot(page, f"baby_trained_{width}x{height}")
        check_one_screen(page, with_attention=width >= 1920)  # after
        assert_no_exception(page)
    finally:
        ctx.close()


def test_presenter_mode_has_larger_type_and_no_sidebar(app_server, chromium_browser):
    ctx = chromium_browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    try:
        open_baby(page, app_server, "?present=1")
        sidebar = page.locator("[data-testid='stSidebar']")
        expect(sidebar).to_have_attribute("data-collapsed", "true")
        size = page.evaluate("""() => parseFloat(getComputedStyle(
            document.querySelector('[data-testid="stMainBlockContainer"] p')).fontSize)""")
        assert size >= 19  # 1.25 rem against the normal 1 rem (17 px)
        assert not page.get_by_text("How to read this.").is_visible()
        check_one_screen(page)
        shot(page, "baby_presenter_1280x720")
    finally:
        ctx.close()


def test_a_locked_demo_hides_what_the_link_names_and_says_what_it_cannot(app_server,
                                                                         browser_page):
    page = browser_page
    open_baby(page, app_server, "?hide=reset,settings,nonsense")
    expect(page.get_by_text("can hide:")).to_be_visible()
    assert "nonsense" not in page.locator("[data-testid='stAlert']").first.inner_text()
    labels = page.locator("button").all_inner_texts()
    assert not any(t.strip().endswith("Reset") for t in labels), labels
    assert page.get_by_label("Layers", exact=True).count() == 0  # the sidebar's settings
    expect(page.get_by_role("button", name=TRAIN)).to_be_visible()
    assert_no_exception(page)


NODE_JS = """(name) => {
    const t = Array.from(document.querySelectorAll('.js-plotly-plot')[1]
                         .querySelectorAll('text')).find(e => e.textContent === name);
    if (!t) return null;
    const b = t.getBoundingClientRect();
    return b.width > 0 ? {x: b.x + b.width / 2, y: b.y + b.height / 2} : null;
}"""
TITLES_JS = "() => Array.from(document.querySelectorAll('.gtitle')).map(t => t.textContent)"
TITLE_JS = """(start) => Array.from(document.querySelectorAll('.gtitle'))
    .some(t => t.textContent.startsWith(start))"""


def graph_title(page) -> str:
    return plots(page).nth(1).locator(".gtitle").first.text_content()


def test_replay_click_and_walk_on_document_000(app_server, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 720})
    open_baby(page, app_server)
    load_doc000(page)
    page.get_by_role("button", name=TRAIN).click()
    expect(page.locator("[data-testid='stProgress']").first).to_contain_text(
        "Step 50 of 50", timeout=60_000)
    expect(page.get_by_role("button", name=TRAIN)).to_be_visible(timeout=30_000)
    wait_ready(page)
    assert graph_title(page).startswith("Step 50")
    # the timeline: back to the untrained model, and the step is marked on the loss curve
    page.get_by_text("Replay", exact=True).first.click()
    wait_ready(page)
    thumb = page.locator("[data-testid='stSlider'] input[type='range']").first
    thumb.focus()
    thumb.press("Home")
    wait_ready(page)
    expect(plots(page).nth(1).locator(".gtitle").first).to_have_text(re.compile(r"^Step 0\b"),
                                                                      timeout=10_000)
    assert plots(page).nth(0).locator(".shapelayer path").count() >= 1  # the marker line
    shot(page, "baby_replay_step0_1280x720")
    for _ in range(25):
        thumb.press("ArrowRight")
    wait_ready(page)
    expect(plots(page).nth(1).locator(".gtitle").first).to_have_text(re.compile(r"^Step 25\b"),
                                                                      timeout=10_000)
    page.get_by_text("Replay", exact=True).first.click()  # back to live
    wait_ready(page)
    # click a state: it becomes the attention's input
    for _ in range(3):  # a click that lands while Streamlit swaps the chart in is lost
        page.wait_for_timeout(1_000)
        box = page.wait_for_function(NODE_JS, arg="110", timeout=20_000, polling=100).json_value()
        page.mouse.click(box["x"], box["y"])
        wait_ready(page)
        try:
            page.wait_for_function(TITLE_JS, arg="Attention for input 110", timeout=5_000)
            break
        except Exception:
            continue
    assert any(t.startswith("Attention for input 110") for t in page.evaluate(TITLES_JS))
    shot(page, "baby_clicked_110_1280x720")
    # a walk, traced on the graph
    page.get_by_role("tab", name="Walk the chain").click()
    page.get_by_role("button", name=re.compile("Sample a walk")).click()
    wait_ready(page)
    expect(page.get_by_text(re.compile("The walk"))).to_be_visible(timeout=10_000)
    page.wait_for_timeout(3_000)  # traced one state per redraw
    wait_ready(page)
    names = page.evaluate("""() => document.querySelectorAll('.js-plotly-plot')[1]
        .data.map(t => t.name)""")
    assert "trail" in names and "last state" in names
    assert any(t.startswith("In the long run") for t in page.evaluate(TITLES_JS))
    page.mouse.wheel(0, 400)
    shot(page, "baby_walk_1280x720")
    assert_no_exception(page)
