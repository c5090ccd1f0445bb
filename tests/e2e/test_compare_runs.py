"""Compare runs on Baby GPT, in Chromium at 1280x720: document 000 trained at lr 1e-3, Reset
(which keeps that run), trained again at lr 1e-2; the Compare runs tab overlays both, names them
in the legend with the setting that differs, draws a typed name as text, and every text of the
chart is at least 14 px.

Screenshot: screenshots/compare_runs_baby_1280x720.png (what the projector shows with the tab
scrolled into view) and compare_runs_baby.png (the whole page)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from .harness import SCREENSHOT_DIR, assert_no_exception, save_screenshot, wait_ready

pytestmark = pytest.mark.browser

TRAIN = re.compile(r"Train [\d,]+ steps?")
# the Compare runs chart: its legend's texts and every text's font size
CHART_JS = """() => {
  const plot = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(p => (p.querySelector('.gtitle') || {}).textContent?.includes('by run'));
  if (!plot || plot.getBoundingClientRect().width === 0) return null;
  return {legend: Array.from(plot.querySelectorAll('.legendtext')).map(t => t.textContent),
          small: Array.from(plot.querySelectorAll('text'))
            .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0)
            .map(t => [t.textContent.slice(0, 30), parseFloat(getComputedStyle(t).fontSize)])
            .filter(x => x[1] < 14),
          traces: plot._fullData.map(t => [t.name, t.line.dash || 'solid', t.y.length,
                                            t.x[t.x.length - 1]])};
}"""


def chart(page, legend_has: str) -> dict:
    """The chart's facts, once its legend holds `legend_has`."""
    handle = page.wait_for_function(
        f"() => {{ const c = ({CHART_JS})(); return c && c.legend.some("
        f"t => t.includes({legend_has!r})) ? c : null; }}", timeout=30_000, polling=200)
    return handle.json_value()


def train_and_wait(page) -> None:
    page.get_by_role("button", name=TRAIN).click()
    expect(page.locator("[data-testid='stProgress']").first).to_contain_text(
        "Finished the requested steps", timeout=90_000)
    expect(page.get_by_role("button", name=TRAIN)).to_be_visible(timeout=30_000)
    wait_ready(page)


def toggle_show(page, row: int, name: str, shown: bool) -> None:
    """Click the Show box of a row of the runs table (a canvas grid: by position) until the
    run called `name` is drawn (shown) or not."""
    grid = page.locator("[data-testid='stDataFrame']").last
    y = 35 + 35 * (row + 0.5)  # Streamlit's grid: a 35 px header, 35 px rows
    test = (f"() => {{ const c = ({CHART_JS})(); return c && "
            f"c.legend.some(t => t.startsWith({name!r})) === {str(shown).lower()}; }}")
    for _ in range(3):  # a click while the grid is being swapped in is lost
        wait_ready(page)
        grid.scroll_into_view_if_needed()
        grid.click(position={"x": 72, "y": y})  # the box, centred in the first column
        try:
            page.wait_for_function(test, timeout=15_000, polling=200)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"{name!r} still {'hidden' if shown else 'drawn'} after 3 clicks")


def edit_name_cell(page, row: int, name: str) -> None:
    """Type `name` into the Name cell of a row of the runs table (the grid's cell editor)."""
    editor = page.locator("#portal textarea")
    for _ in range(5):  # a double click while the grid is being swapped in is lost
        wait_ready(page)
        page.locator("[data-testid='stDataFrame']").last.dblclick(
            position={"x": 230, "y": 35 + 35 * (row + 0.5)})
        try:
            editor.wait_for(state="visible", timeout=3_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    editor.fill(name)
    editor.press("Enter")
    wait_ready(page)


def rename(page, name: str) -> None:
    """Type a name for the chosen kept run and press Rename."""
    box = page.get_by_label("New name", exact=True)
    box.fill(name)
    box.press("Enter")  # the value reaches the app before the click does
    wait_ready(page)
    page.get_by_role("button", name=re.compile("Rename$")).click()
    wait_ready(page)
    expect(page.get_by_text("Renamed to")).to_be_visible(timeout=10_000)


def test_two_baby_gpt_runs_overlaid_at_1280x720(app_server, chromium_browser):
    ctx = chromium_browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    try:
        page.goto(app_server + "/baby_gpt")
        wait_ready(page)
        page.get_by_role("button", name=re.compile("Load document 000")).click()
        wait_ready(page)
        expect(page.get_by_text("Step 0", exact=True)).to_be_visible(timeout=30_000)
        train_and_wait(page)  # 50 steps at lr 1e-3, as in the document
        page.get_by_role("button", name="Reset", exact=True).click()  # keeps the run it throws away
        wait_ready(page)
        lr = page.get_by_label("Learning rate", exact=True)
        lr.fill("0.01")
        lr.press("Enter")
        wait_ready(page)
        train_and_wait(page)  # the same seed's fresh model, 50 steps at lr 1e-2
        page.get_by_role("tab", name="Compare runs").click()
        wait_ready(page)
        facts = chart(page, "run 1")
        assert facts["legend"] == ["this run (lr 1e-2)", "run 1 (lr 1e-3)"]
        assert [t[1] for t in facts["traces"]] == ["solid", "solid"]  # no validation split
        assert all(t[2] == 50 for t in facts["traces"]), facts  # the loss on all windows, each step
        assert facts["small"] == [], "chart text under 14 px"
        # a typed name is shown as typed: markup in it is not read
        rename(page, "<b>lr</b> 1e-3 & co")
        assert "<b>lr</b> 1e-3 & co (lr 1e-3)" in chart(page, "<b>lr</b>")["legend"]
        rename(page, "document 000")
        facts = chart(page, "document 000")
        assert facts["legend"] == ["this run (lr 1e-2)", "document 000 (lr 1e-3)"]
        assert_no_exception(page)
        page.locator("[data-testid='stDataFrame']").last.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        SCREENSHOT_DIR.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / "compare_runs_baby_1280x720.png"))
        save_screenshot(page, "compare_runs_baby")
        # the table's Show box: a click on this run's hides it from the chart, another shows it
        toggle_show(page, 0, "this run", shown=False)
        assert chart(page, "document 000")["legend"] == ["document 000"]  # nothing to tell apart
        toggle_show(page, 0, "this run", shown=True)
        assert chart(page, "this run")["legend"] == ["this run (lr 1e-2)",
                                                     "document 000 (lr 1e-3)"]
        # a name typed into the table's Name cell renames the run
        edit_name_cell(page, row=1, name="slow lr")
        assert chart(page, "slow lr")["legend"] == ["this run (lr 1e-2)", "slow lr (lr 1e-3)"]
        # while it trains, the chart follows this run (redrawn every pages/_runs.LIVE_SECONDS)
        steps = page.get_by_label("Steps per click of Train", exact=True)
        steps.fill("100000")
        steps.press("Enter")
        wait_ready(page)
        page.get_by_role("button", name=TRAIN).click()
        expect(page.get_by_role("button", name="Pause")).to_be_visible(timeout=10_000)
        page.wait_for_timeout(4_000)
        before = chart(page, "this run")["traces"][0][3]  # the last step drawn
        page.wait_for_timeout(5_000)
        after = chart(page, "this run")["traces"][0][3]
        page.get_by_role("button", name="Pause").click()
        assert after > before > 50, (before, after)
        assert_no_exception(page)
    finally:
        ctx.close()
