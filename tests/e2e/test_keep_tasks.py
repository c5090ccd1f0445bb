"""Sorting & addition in a real browser: its settings and its trained model survive a visit to
another page (tests/e2e/switching.py)."""

from __future__ import annotations

import pytest

from .switching import check_settings_survive_a_page_switch

pytestmark = pytest.mark.browser


def test_tasks_settings_and_model_survive_a_page_switch(app_server, browser_page):
    # the 2-digit addition preset has 2 layers, lr 3e-3 and seed 1337: all three changed
    check_settings_survive_a_page_switch(
        browser_page, app_server, "Sorting & addition",
        settings={"Layers": 1, "Seed": 7, "Batch size (problems per step)": 32},
        steps_label="Steps per click of Train", steps=5, shot="keep_tasks")
