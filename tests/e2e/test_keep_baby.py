"""Baby GPT keeps its settings and its trained model across a switch to another page."""

from __future__ import annotations

import pytest

from .switching import check_settings_survive_a_page_switch

pytestmark = pytest.mark.browser


def test_baby_gpt_settings_and_model_survive_a_page_switch(app_server, browser_page):
    check_settings_survive_a_page_switch(
        browser_page, app_server, "Baby GPT",
        settings={"Layers": 2, "Seed": 7, "Weight decay": 0.5},
        steps_label="Steps per click of Train", steps=30, shot="keep_baby_after_switch",
        away="Generate")
