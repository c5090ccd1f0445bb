"""Closing the tab stops GPT-1's pre-training and fine-tuning and Generate's quick-train.

Each of them used to keep training (and a training slot) after the tab closed: the fine-tuning
and the quick model were never session-guarded, and fast clicks on Quick-train started one
unguarded run per click. One tab (one session) starts all three, then closes: the server must
log that it stopped exactly three runs, and its CPU must go idle within seconds.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .harness import (
    REPO_ROOT,
    VIEWPORT,
    assert_no_exception,
    set_number,
    start_streamlit,
    stop_streamlit,
)
from .switching import nav, open_page

pytestmark = pytest.mark.browser


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_closing_the_tab_stops_gpt1_and_generate_training(chromium_browser):
    # three slots: all three jobs train at once (none waits in line)
    url, proc = start_streamlit(REPO_ROOT / "app.py", env={"GPTVIZ_MAX_TRAINERS": "3"})
    ctx = chromium_browser.new_context(viewport=VIEWPORT)
    try:
        page = ctx.new_page()
        # Generate first (it offers Quick-train only while the session has no model), clicked
        # five times in a row before the page can redraw
        open_page(page, url, "Generate")
        quick = page.get_by_role("button", name=re.compile("Quick-train a tiny text model"))
        quick.evaluate("b => { for (let i = 0; i < 5; i++) b.click(); }")
        expect(page.get_by_text("still training")).to_be_visible(timeout=30_000)
        assert_no_exception(page)

        nav(page, "GPT-1")
        # stage 2 from scratch (needs no pre-training), long enough to outlast the test
        page.get_by_text("Random weights only (from scratch)").click()
        set_number(page, "Fine-tuning steps", 5000)
        page.get_by_role("tab", name=re.compile("Stage 2")).click()  # each stage is a tab
        page.get_by_role("button", name=re.compile(r"Fine-tune \(1 run of 5000 steps")).click()
        expect(page.get_by_role("button", name=re.compile("Stop fine-tuning"))).to_be_visible()
        # stage 1 at the same time
        set_number(page, "Pre-training steps per click", 20_000)
        page.get_by_role("tab", name=re.compile("Stage 1")).click()
        page.get_by_role("button", name=re.compile("Train 20,000 steps")).click()
        expect(page.locator("[data-testid='stProgress']").first).to_contain_text(
            re.compile(r"Step [1-9]"), timeout=30_000)
        page.get_by_role("tab", name=re.compile("Stage 2")).click()
        expect(page.get_by_text(re.compile(r"Fine-tuning run 1 of 1 \(scratch"))).to_be_visible(
            timeout=30_000)
        assert_no_exception(page)

        assert "session released" not in proc.log_path.read_text()
    finally:
        ctx.close()

    try:
        t0 = time.monotonic()
        while ("session released" not in proc.log_path.read_text()
               and time.monotonic() - t0 < 5):
            time.sleep(0.05)
        log = proc.log_path.read_text()
        assert "stopped 3 training run(s)" in log, log[-2000:]
        assert log.count("session released") == 1
        time.sleep(1.0)  # each thread finishes its current step
        c0 = cpu_seconds(proc.pid)
        time.sleep(1.0)
        assert cpu_seconds(proc.pid) - c0 < 0.3  # nothing trains any more
    finally:
        stop_streamlit(proc)
