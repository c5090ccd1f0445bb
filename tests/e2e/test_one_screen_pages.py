"""Train on text, Sorting & addition and GPT-1 on a 1280x720 projector, sidebar open.

Before, during and after training, the Train/Pause control and the page's main live figure
lie inside the viewport with the page not scrolled: a class sees both without anyone touching
the page. Every text of those figures is at least 14 px. Text and Sorting & addition also
replay: after training, Replay and an early step show what the page showed at that step.

Screenshots: screenshots/one_screen_<page>_<when>.png (the whole page) and
screenshots/one_screen_<page>_<when>_1280x720.png (what the projector shows).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from .harness import (
    SCREENSHOT_DIR,
    assert_no_exception,
    open_via_nav,
    save_screenshot,
    set_number,
    wait_ready,
    wait_training_finished,
)

pytestmark = pytest.mark.browser

W, H = 1280, 720
MIN_FONT_PX = 14
TRAIN_OR_PAUSE = re.compile(r"^(play_arrow|pause)?\s*(Train [\d,]+ steps?|Pause)$")

# [scrollTop of the main area, the sidebar's width]
_SCROLL_JS = """() => [document.querySelector("[data-testid='stMain']").scrollTop,
    document.querySelector("[data-testid='stSidebar']").getBoundingClientRect().width]"""
# the main area's elements that start on the first screen: y, height, kind, text (for a failure)
_LAYOUT_JS = """() => [...document.querySelectorAll(
    "[data-testid='stMain'] [data-testid='stElementContainer']")]
    .map(e => [e.getBoundingClientRect(), e]).filter(([r]) => r.height > 0 && r.top < 720)
    .map(([r, e]) => `y=${Math.round(r.top)} h=${Math.round(r.height)} `
        + `${(e.firstElementChild || e).dataset.testid || ''}: `
        + e.innerText.replace(/\\s+/g, ' ').slice(0, 60))"""
_FONTS_JS = """e => [...e.querySelectorAll('text')].filter(t => t.textContent.trim())
    .map(t => [t.textContent.slice(0, 30), parseFloat(getComputedStyle(t).fontSize)])"""


@pytest.fixture
def page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": W, "height": H})
    p = context.new_page()
    try:
        yield p
    finally:
        context.close()



def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label` (a click may land before it listens)."""
    box = page.get_by_role("combobox", name=label)
    for _ in range(5):
        box.click()
        item = page.get_by_role("option").filter(has_text=option).first
        try:
            item.click(timeout=3_000)
            break
        except PlaywrightTimeout:
            box.press("Escape")
    wait_ready(page)
    expect(box).to_have_value(option)


def shots(page, name: str) -> None:
    save_screenshot(page, f"one_screen_{name}")
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"one_screen_{name}_1280x720.png"))


def assert_on_one_screen(page, name: str, **parts) -> dict[str, dict]:
    """Each locator in `parts` lies inside the 1280x720 viewport, the main area not scrolled
    and the sidebar open; the figures' text is at least MIN_FONT_PX. Returns the boxes."""
    scroll_top, sidebar = page.evaluate(_SCROLL_JS)
    assert scroll_top == 0, f"{name}: the page was scrolled by {scroll_top} px"
    assert sidebar > 200, f"{name}: the sidebar is not open ({sidebar} px wide)"
    boxes = {}
    for what, loc in parts.items():
        b = box_of(loc)
        assert b is not None, f"{name}: {what} has no box"
        boxes[what] = {k: round(v) for k, v in b.items()}
        if not (b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["width"] <= W
                and b["y"] + b["height"] <= H):
            shots(page, f"{name}_FAILED")
            raise AssertionError(f"{name}: {what} is off the screen: {b}; what lies above it:\n"
                                 + "\n".join(page.evaluate(_LAYOUT_JS)))
        if what.startswith("figure"):
            small = [(t, s) for t, s in loc.evaluate(_FONTS_JS) if s < MIN_FONT_PX]
            assert not small, f"{name}: {what} has text under {MIN_FONT_PX} px: {small[:5]}"
    print(f"\n{name}: {boxes}")
    shots(page, name)
    return boxes


def box_of(loc, tries: int = 40) -> dict | None:
    """The locator's box; while training, a figure is redrawn twice a second and may be between
    two drawings at any one moment."""
    for _ in range(tries):
        expect(loc).to_be_visible()
        b = loc.bounding_box()
        if b is not None and b["height"] > 0:
            return b
        loc.page.wait_for_timeout(50)
    return None


def train_button(page):
    return page.get_by_role("button", name=TRAIN_OR_PAUSE).first


def plot(page, title: str):
    return page.locator(".js-plotly-plot", has_text=title).first


def wait_training(page, at_least: int = 1) -> None:
    """Until the page trains (its button says Pause) and its status line is past at_least."""
    expect(page.get_by_role("button", name=re.compile("Pause"))).to_be_visible(timeout=30_000)
    page.wait_for_function(
        """([n]) => { const el = document.querySelector("[data-testid='stProgress']");
                       const m = el && el.innerText.match(/Training… Step ([\\d,]+)/);
                       return m && parseInt(m[1].replace(/,/g, '')) >= n; }""",
        arg=[at_least], timeout=60_000, polling=100)


def replay_at(page, step: int) -> None:
    """Replay on, then the timeline's slider to `step` with the keyboard."""
    page.get_by_text("Replay", exact=True).first.click()  # the toggle's label
    expect(page.get_by_role("switch", name="Replay")).to_be_checked()
    wait_ready(page)
    thumb = page.get_by_role("slider", name=re.compile(r"^Step"))
    expect(thumb).to_be_visible()
    thumb.focus()
    thumb.press("Home")
    for _ in range(step):
        thumb.press("ArrowRight")
    page.wait_for_timeout(800)
    wait_ready(page)
    expect(thumb).to_have_value(str(step))


# --- Train on text --------------------------------------------------------------------------
def text_parts(page) -> dict:
    sample = page.locator("[data-testid='stVerticalBlock']",
                          has=page.get_by_text("The model writes")).locator(
        "[data-testid='stCode']").first
    return {"train_button": train_button(page),
            "figure_loss": plot(page, "Loss (cross-entropy per character)"),
            "sample": sample}


def open_text(page, base_url: str, steps: int, every: int) -> None:
    open_via_nav(page, base_url, "Train on text")
    expect(page.locator("h1").first).to_contain_text("Train on text")
    choose(page, "Preset", "Tiny")
    set_number(page, "Steps per click of Train", steps)
    set_number(page, "Evaluate every N steps", every)
    set_number(page, "Characters per sample", 600)  # the longest: it still fits


def test_text_trains_on_one_screen_and_replays_its_samples(app_server, page):
    open_text(page, app_server, steps=240, every=20)
    assert_on_one_screen(page, "text_before", **text_parts(page))
    train_button(page).click()
    wait_training(page, at_least=40)
    assert_on_one_screen(page, "text_training", **text_parts(page))
    wait_training_finished(page)
    assert_no_exception(page)
    assert_on_one_screen(page, "text_trained", **text_parts(page))
    expect(page.get_by_text("The model writes (step 240)")).to_be_visible()
    final = text_parts(page)["sample"].inner_text()

    replay_at(page, 20)
    expect(page.get_by_text("The model writes (step 20)")).to_be_visible()
    expect(page.get_by_text("Replaying step 20: the sample written then.")).to_be_visible()
    early = text_parts(page)["sample"].inner_text()
    assert early != final
    loss = plot(page, "Loss (cross-entropy per character)")
    expect(loss).to_contain_text("step 20")  # the marker on the curve
    assert_no_exception(page)
    assert_on_one_screen(page, "text_replay", **text_parts(page))


# --- Sorting & addition ---------------------------------------------------------------------
def tasks_parts(page) -> dict:
    return {"train_button": train_button(page),
            "figure_loss": plot(page, "Loss on the answer digits"),
            "figure_accuracy": plot(page, "Held-out problems answered exactly right")}


def held_out_table(page):
    return page.locator("[data-testid='stMarkdownContainer']",
                        has_text="Held-out problems (step").first


def test_tasks_train_on_one_screen_and_replay_the_table(app_server, page):
    open_via_nav(page, app_server, "Sorting & addition")
    expect(page.locator("h1").first).to_contain_text("Sorting & addition")
    set_number(page, "Steps per click of Train", 150)
    assert_on_one_screen(page, "tasks_before", **tasks_parts(page))
    train_button(page).click()
    wait_training(page, at_least=30)
    assert_on_one_screen(page, "tasks_training", **tasks_parts(page))
    wait_training_finished(page)
    assert_no_exception(page)
    assert_on_one_screen(page, "tasks_trained", **tasks_parts(page))
    expect(held_out_table(page)).to_contain_text("Held-out problems (step 150)")
    final = held_out_table(page).inner_text()

    replay_at(page, 25)
    table = held_out_table(page)
    expect(table).to_contain_text("Held-out problems (step 25, replaying step 25")
    assert table.inner_text().split("\n", 1)[1] != final.split("\n", 1)[1]  # other answers
    expect(plot(page, "Where each answer digit looks")).to_contain_text("(step 25)")
    assert_no_exception(page)
    assert_on_one_screen(page, "tasks_replay", **tasks_parts(page))

    # Play walks the recorded steps on its own; Pause stops it
    page.get_by_role("button", name=re.compile("Play")).click()
    step = page.get_by_role("slider", name=re.compile(r"^Step"))
    page.wait_for_function(
        """() => { const s = document.querySelector("input[type='range'][aria-label='Step']");
                   return s && parseInt(s.value) > 27; }""",
        timeout=30_000, polling=200)
    page.get_by_role("button", name=re.compile("Pause")).first.click()
    wait_ready(page)
    assert int(step.input_value()) > 27
    assert_no_exception(page)


# --- GPT-1 ----------------------------------------------------------------------------------
def test_gpt1_stages_each_fit_one_screen(app_server, page):
    open_via_nav(page, app_server, "GPT-1")
    expect(page.locator("h1").first).to_contain_text("GPT-1")
    set_number(page, "Pre-training steps per click", 100)
    set_number(page, "Fine-tuning steps", 30)

    def stage1() -> dict:
        return {"train_button": train_button(page),
                "figure_loss": plot(page, "Stage 1: next-character loss")}

    assert_on_one_screen(page, "gpt1_stage1_before", **stage1())
    train_button(page).click()
    wait_training(page, at_least=5)
    assert_on_one_screen(page, "gpt1_stage1_training", **stage1())
    wait_training_finished(page, timeout=180_000)
    assert_no_exception(page)
    assert_on_one_screen(page, "gpt1_stage1_trained", **stage1())

    page.get_by_role("tab", name=re.compile("Stage 2")).click()
    go = page.get_by_role("button", name=re.compile(r"Fine-tune \(2 runs of 30 steps"))
    go.click()
    stop = page.get_by_role("button", name=re.compile("Stop fine-tuning"))
    expect(stop).to_be_visible(timeout=30_000)
    chart = plot(page, "pre-trained vs from scratch")
    expect(chart).to_be_visible(timeout=30_000)
    assert_on_one_screen(page, "gpt1_stage2_training", stop_button=stop,
                         figure_comparison=chart)
    expect(page.get_by_text("Finished 2 runs.")).to_be_visible(timeout=240_000)
    wait_ready(page)
    assert_no_exception(page)
    expect(page.get_by_role("tab", name=re.compile("Stage 2"))).to_have_attribute(
        "aria-selected", "true")  # the rerun at the end keeps the stage shown
    assert_on_one_screen(page, "gpt1_stage2_trained",
                         finetune_button=page.get_by_role("button",
                                                          name=re.compile(r"Fine-tune \(")),
                         figure_comparison=plot(page, "pre-trained vs from scratch"))


# --- Induction heads ------------------------------------------------------------------------
def induction_parts(page) -> dict:
    return {"train_button": train_button(page),
            "figure_loss": plot(page, "Loss on each half"),
            "figure_heads": plot(page, "What each head does")}


def test_induction_trains_to_the_crash_on_one_screen_and_switches_its_head_off(app_server,
                                                                                page):
    open_via_nav(page, app_server, "Induction heads")
    expect(page.locator("h1").first).to_contain_text("Induction heads")
    set_number(page, "Steps per click of Train", 200)
    assert_on_one_screen(page, "induction_before", **induction_parts(page))
    t0 = time.perf_counter()
    train_button(page).click()
    wait_training(page, at_least=20)
    assert_on_one_screen(page, "induction_training", **induction_parts(page))
    wait_training_finished(page, timeout=240_000)
    print(f"\ninduction: 200 steps trained and drawn in {time.perf_counter() - t0:.1f} s")
    assert_no_exception(page)
    assert_on_one_screen(page, "induction_trained", **induction_parts(page))
    switch = page.get_by_role("switch", name=re.compile("Switch off the induction head"))
    expect(switch).to_be_enabled()
    page.get_by_text("Switch off the induction head").first.click()
    expect(switch).to_be_checked()
    wait_ready(page)
    expect(page.get_by_text(re.compile(r"switched off \(step 200\)"))).to_be_visible()
    expect(plot(page, "Loss on each half")).to_contain_text("off:")  # the marker's label
    assert_no_exception(page)
    assert_on_one_screen(page, "induction_switched_off", **induction_parts(page))
