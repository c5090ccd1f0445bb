"""One browser routine for every training page: change settings, train, switch away and back.

Streamlit drops the state of widgets that are not drawn, so before the fix a page switch put
every setting back to its default, and a model built from non-default settings was thrown
away on return. Each training page's test (tests/e2e/test_keep_*.py) calls this routine.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .harness import assert_no_exception, save_screenshot, set_number, wait_ready

STEP_RE = re.compile(r"Step ([\d,]+)")


def open_page(page, base_url: str, title: str) -> None:
    """Open the app's home page, then `title` through the navigation (as a student does)."""
    page.goto(base_url)
    wait_ready(page)
    nav(page, title)


def nav(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNavLink']", has_text=title).first.click()
    page.wait_for_timeout(300)
    wait_ready(page)



def number_value(page, label: str) -> str:
    return page.get_by_label(label, exact=True).input_value()


def shown_step(page, status_text: str = "Step") -> int:
    """The step count the page's status line shows."""
    status = page.locator("[data-testid='stProgress']").first
    expect(status).to_contain_text(status_text)
    m = STEP_RE.search(status.inner_text())
    assert m, f"no step count in the status line: {status.inner_text()!r}"
    return int(m.group(1).replace(",", ""))


def train_steps(page, n: int, steps_label: str) -> None:
    """Set 'steps per click' to n, press Train and wait until the page says Step n or more."""
    set_number(page, steps_label, n)
    before = shown_step(page)
    page.get_by_role("button", name=re.compile(r"Train [\d,]+ step")).first.click()
    page.wait_for_function(
        """([n]) => { const el = document.querySelector("[data-testid='stProgress']");
                       const m = el && el.innerText.match(/Step ([\\d,]+)/);
                       return m && parseInt(m[1].replace(/,/g, '')) >= n; }""",
        arg=[before + n], timeout=120_000, polling=200)
    # finished: the button is Train again, not Pause
    expect(page.get_by_role("button", name=re.compile(r"Train [\d,]+ step"))).to_be_visible(
        timeout=60_000)
    wait_ready(page)


def check_settings_survive_a_page_switch(page, base_url: str, title: str,
                                         settings: dict[str, float | int], steps_label: str,
                                         steps: int, shot: str, away: str = "Home") -> None:
    """The whole routine: every setting in `settings` (number inputs, by label) changed from
    its default, `steps` trained, a visit to `away`, and back: same settings, same step."""
    open_page(page, base_url, title)
    for label, value in settings.items():
        assert number_value(page, label) != str(value), f"{label} is already {value}"
        set_number(page, label, value)
    train_steps(page, steps, steps_label)
    step = shown_step(page)
    assert step >= steps
    values = {label: number_value(page, label) for label in settings}
    nav(page, away)
    expect(page.locator("h1").first).to_be_visible()
    nav(page, title)
    assert_no_exception(page)
    assert {label: number_value(page, label) for label in settings} == values
    assert shown_step(page) == step, "the trained model was thrown away by the page switch"
    save_screenshot(page, shot)
