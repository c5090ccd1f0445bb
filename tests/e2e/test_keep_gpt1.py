"""GPT-1's settings and its pre-trained model survive a visit to another page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .harness import assert_no_exception
from .switching import check_settings_survive_a_page_switch, nav, shown_step

pytestmark = pytest.mark.browser

SCRATCH = "Random weights only (from scratch)"
SWEEP = "Also at 32, 128, 512 examples"


def test_gpt1_settings_and_pretraining_survive_a_page_switch(app_server, browser_page):
    page = browser_page
    check_settings_survive_a_page_switch(
        page, app_server, "GPT-1",
        settings={"λ (weight of the language-model loss L1)": 0.25, "Fine-tuning steps": 40},
        steps_label="Pre-training steps per click", steps=10, shot="keep_gpt1")
    # a radio and a checkbox keep their values too: scratch only, at 32, 128 and 512 examples
    step = shown_step(page)
    page.get_by_text(SCRATCH).click()
    page.get_by_text(SWEEP).click()
    stage2 = page.get_by_role("tab", name=re.compile("Stage 2"))
    stage2.click()
    expect(page.get_by_role("button", name="Fine-tune (3 runs of 40 steps)")).to_be_visible()
    nav(page, "Home")
    nav(page, "GPT-1")
    assert_no_exception(page)
    expect(page.get_by_role("radio", name=SCRATCH)).to_be_checked()
    expect(page.get_by_role("checkbox", name=SWEEP)).to_be_checked()
    assert page.get_by_label("Pre-training steps per click", exact=True).input_value() == "10"
    assert shown_step(page) == step
    stage2.click()
    expect(page.get_by_role("button", name="Fine-tune (3 runs of 40 steps)")).to_be_visible()
