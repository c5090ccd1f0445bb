"""Train on text in a real browser: its settings and its trained model survive a page switch."""

from __future__ import annotations

import pytest

from .switching import check_settings_survive_a_page_switch

pytestmark = pytest.mark.browser


def test_text_settings_and_model_survive_a_page_switch(app_server, browser_page):
    # three settings changed from the Small preset; 20 steps of that model take about a second
    check_settings_survive_a_page_switch(
        browser_page, app_server, "Train on text",
        settings={"Layers": 2, "Learning rate": 0.001, "Batch size (windows per step)": 16},
        steps_label="Steps per click of Train", steps=20, shot="keep_text_after_switch")
