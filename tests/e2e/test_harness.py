"""The browser harness itself works: server start, page load, click, rerun, screenshot.

Runs on a throwaway Streamlit script, so it does not depend on app.py.
"""

from __future__ import annotations

import struct
import textwrap

import pytest
from playwright.sync_api import expect

from .harness import (
    VIEWPORT,
    assert_no_exception,
    save_screenshot,
    streamlit_server,
    wait_ready,
)

pytestmark = pytest.mark.browser

SECRET = "secret-detail-9f3a"  # must never reach the browser (client.showErrorDetails)

HARNESS_SCRIPT = textwrap.dedent(
    f"""
    import streamlit as st

    st.title("Harness check")
    with st.expander("Filler, taller than the viewport", expanded=True):
        for i in range(60):
            st.write(f"filler line {{i}}")
    if st.button("Say hello"):
        st.write("Hello from the harness")
    if st.button("Fail"):
        raise ValueError("{SECRET}")
    """
)


@pytest.fixture(scope="module")
def harness_server(tmp_path_factory):
    script_dir = tmp_path_factory.mktemp("harness_app")
    script = script_dir / "harness_app.py"
    script.write_text(HARNESS_SCRIPT)
    with streamlit_server(script, log_path=script_dir / "streamlit.log") as (url, proc):
        yield url, proc
    assert proc.poll() is not None, "server still running after streamlit_server's block"


def test_click_reruns_and_writes_text(harness_server, browser_page):
    url, _ = harness_server
    page = browser_page
    page.goto(url)
    wait_ready(page)
    expect(page.get_by_role("heading", name="Harness check")).to_be_visible()
    expect(page.get_by_text("Hello from the harness")).to_have_count(0)

    page.get_by_role("button", name="Say hello").click()
    expect(page.get_by_text("Hello from the harness")).to_be_visible(timeout=30_000)
    wait_ready(page)
    assert_no_exception(page)

    shot = save_screenshot(page, "harness_after_click")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # IHDR
    assert width == VIEWPORT["width"]
    assert height > VIEWPORT["height"], "screenshot should hold the whole scrolled page"
    assert page.viewport_size == VIEWPORT, "viewport restored after the screenshot"


def test_exception_is_detected_and_details_hidden(harness_server, browser_page):
    url, _ = harness_server
    page = browser_page
    page.goto(url)
    wait_ready(page)
    assert_no_exception(page)

    page.get_by_role("button", name="Fail").click()
    expect(page.locator("[data-testid='stException']")).to_have_count(1, timeout=30_000)
    wait_ready(page)
    with pytest.raises(AssertionError, match="exception"):
        assert_no_exception(page)
    # .streamlit/config.toml sets showErrorDetails = "none": no message, no traceback.
    assert SECRET not in page.content()
