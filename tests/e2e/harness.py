"""Helpers for real-browser tests: a Streamlit server in a subprocess, Debian's Chromium.

Fixtures live in conftest.py; tests import the helpers from here:

    from .harness import assert_no_exception, save_screenshot, wait_ready

Starting and stopping the server and the Chromium settings live in bench/server.py, which the
benchmarks use too; they are re-exported here.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.server import (
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    REPO_ROOT,
    SERVER_START_TIMEOUT_S,
    VIEWPORT,
    free_port,
    start_streamlit,
    stop_streamlit,
    wait_ready,
)

__all__ = ["CHROMIUM_ARGS", "CHROMIUM_PATH", "REPO_ROOT", "SCREENSHOT_DIR",
           "SERVER_START_TIMEOUT_S", "VIEWPORT", "assert_no_exception", "free_port",
           "save_screenshot", "start_streamlit", "stop_streamlit", "wait_ready"]

SCREENSHOT_DIR = REPO_ROOT / "screenshots"
MAX_SCREENSHOT_HEIGHT = 12_000  # px; a cap so a runaway page cannot make a giant PNG

# Height of everything Streamlit drew: its main area and sidebar scroll on their own.
_CONTENT_HEIGHT_JS = """() => Math.max(
    document.documentElement.scrollHeight,
    ...[...document.querySelectorAll(
        "[data-testid='stMain'], [data-testid='stSidebarContent']")].map(e => e.scrollHeight)
)"""


def assert_no_exception(page) -> None:
    """Fail if the page shows a Streamlit exception box (st.exception / uncaught error)."""
    boxes = page.locator("[data-testid='stException']")
    count = boxes.count()
    assert count == 0, f"page shows {count} Streamlit exception(s):\n" + "\n---\n".join(
        boxes.all_inner_texts()
    )


def save_screenshot(page, name: str) -> Path:
    """Save a full-page PNG as screenshots/<name>.png at the repo root; return its path.

    Streamlit scrolls inside its main element, not the document, so Playwright's
    full_page alone captures only the viewport. The viewport is stretched to the
    content's height for the shot, then put back.
    """
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "screenshot"
    if not safe.endswith(".png"):
        safe += ".png"
    path = SCREENSHOT_DIR / safe

    viewport = page.viewport_size
    content_height = page.evaluate(_CONTENT_HEIGHT_JS)
    stretched = viewport is not None and content_height > viewport["height"]
    if stretched:
        height = min(content_height, MAX_SCREENSHOT_HEIGHT)
        page.set_viewport_size({"width": viewport["width"], "height": height})
        page.wait_for_timeout(200)  # let the layout (and plotly's resize) settle
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if stretched:
            page.set_viewport_size(viewport)
    return path
