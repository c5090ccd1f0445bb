"""The GPT-1 page in the real app: pre-train live, fine-tune both ways, see the comparison.

Small settings (the tiny model, a few dozen steps) keep it to a minute or two on a shared CPU;
the accuracies are not the point here, the page working end to end is. Screenshots land in
screenshots/gpt1_*.png.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from .harness import (
    assert_no_exception,
    open_via_nav,
    save_screenshot,
    set_number,
    wait_ready,
    wait_training_finished,
)

pytestmark = pytest.mark.browser



def comparison_spec(page) -> dict:
    """The comparison chart's figure as plotly holds it in the browser."""
    plot = page.locator(".js-plotly-plot", has_text="pre-trained vs from scratch").first
    return json.loads(plot.evaluate("e => JSON.stringify({data: e.data, layout: e.layout})"))


def stage(page, n: int) -> None:
    """Show stage n's tab (the two stages are tabs, each one screen)."""
    page.get_by_role("tab", name=re.compile(f"Stage {n}")).click()
    page.wait_for_timeout(200)


def open_gpt1(page, base_url: str) -> None:
    # through the sidebar, as a student would (a direct link works too: test_app.py)
    open_via_nav(page, base_url, "GPT-1")
    page.wait_for_url(re.compile(r"/gpt1$"))  # st.navigation's url_path for pages/gpt1.py
    wait_ready(page)


def test_pretrain_then_finetune_both_ways_and_compare(app_server, browser_page):
    page = browser_page
    open_gpt1(page, app_server)
    expect(page.locator("h1").first).to_contain_text("GPT-1")
    assert_no_exception(page)
    # the transformed example: special tokens drawn as tokens
    stage(page, 2)
    page.get_by_text("The task: how an example becomes token sequences").click()
    tokens = page.locator(".js-plotly-plot", has_text="tokens").first
    expect(tokens).to_contain_text("<start>")
    expect(tokens).to_contain_text("<extract>")

    # fine-tuning before pre-training says what to do, no traceback
    page.get_by_role("button", name=re.compile(r"Fine-tune \(2 runs")).click()
    expect(page.get_by_text("has not been pre-trained yet")).to_be_visible()
    assert_no_exception(page)

    # stage 1: the tiny model (the default), 50 steps (one evaluation interval), live
    stage(page, 1)
    expect(page.get_by_role("combobox", name="Model size")).to_have_value(re.compile("^tiny"))
    set_number(page, "Pre-training steps per click", 50)
    page.get_by_role("button", name=re.compile(r"Train 50 steps")).click()
    wait_training_finished(page, timeout=120_000)
    expect(page.get_by_text(re.compile(r"Held-out loss [\d.]+ nats per character at step 50"))
           ).to_be_visible()
    assert_no_exception(page)

    # stage 2: both starting points, at 32, 128 and 512 labelled examples, 20 steps each
    set_number(page, "Fine-tuning steps", 20)
    page.get_by_text("Also at 32, 128, 512 examples").click()
    wait_ready(page)
    stage(page, 2)
    page.get_by_role("button", name=re.compile(r"Fine-tune \(6 runs of 20 steps")).click()
    expect(page.get_by_text("Finished 6 runs.")).to_be_visible(timeout=240_000)
    wait_ready(page)
    assert_no_exception(page)
    expect(page.get_by_text(re.compile(r"With 128 labelled examples: \d+% from the pre-trained "
                                       r"GPT, \d+% from scratch"))).to_be_visible()

    fig = comparison_spec(page)
    over_steps = [t for t in fig["data"] if t.get("xaxis", "x") == "x"]
    over_n = [t for t in fig["data"] if t.get("xaxis") == "x2"]
    # one curve per starting point in each panel; over steps from step 0 to step 20
    assert len(over_steps) == 2 and len(over_n) == 2
    for t in over_steps:
        assert t["x"][0] == 0 and t["x"][-1] == 20
        assert all(0.0 <= y <= 1.0 for y in t["y"])
    for t in over_n:
        assert list(t["x"]) == [32, 128, 512]
    page.locator(".js-plotly-plot", has_text="pre-trained vs from scratch").first \
        .scroll_into_view_if_needed()
    save_screenshot(page, "gpt1_after_both_stages")
