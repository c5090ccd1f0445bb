"""Helpers for real-browser tests: a Streamlit server in a subprocess, Debian's Chromium.

Fixtures live in conftest.py; tests import the helpers from here:

    from .harness import assert_no_exception, save_screenshot, wait_ready

Starting and stopping the server and the Chromium settings live in bench/server.py, which the
benchmarks use too; they are re-exported here. Server: start_streamlit / stop_streamlit, or
both around a block with streamlit_server. Page: wait_ready, nav_titles, open_via_nav,
wait_training_finished, assert_no_exception, save_screenshot.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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
           "nav_titles", "open_via_nav", "save_screenshot", "set_number", "start_streamlit",
           "stop_streamlit",
           "streamlit_server", "wait_ready", "wait_training_finished"]

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


@contextmanager
def streamlit_server(
    script_path: str | os.PathLike[str],
    *,
    log_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """start_streamlit(script_path, ...) for the length of a with-block; stopped at its end
    (also when the block fails). Yields (base_url, process)."""
    url, proc = start_streamlit(script_path, log_path=log_path, env=env)
    try:
        yield url, proc
    finally:
        stop_streamlit(proc)


_NAV_LINK = "[data-testid='stSidebarNavLink']"


def single_page_entry(page_file: str, title: str) -> str:
    """An app script that serves pages/<page_file> alone (one torch thread), for a test server
    that needs neither the navigation nor the other pages."""
    return f"""
import sys
sys.path.insert(0, {str(REPO_ROOT)!r})
import streamlit as st
import torch

st.set_page_config(page_title="gptviz", layout="wide")


@st.cache_resource
def _one_thread() -> None:
    torch.set_num_threads(1)


_one_thread()
page = st.Page({str(REPO_ROOT / "pages" / page_file)!r}, title={title!r})
st.navigation([page]).run()
"""


def nav_titles(page) -> list[str]:
    """The page titles in the sidebar navigation, in order.

    A link's inner text starts with its material icon's name ("home\n\nHome"): only the last
    line, the label, is kept.
    """
    texts = page.locator(_NAV_LINK).all_inner_texts()
    return [t.strip().splitlines()[-1] for t in texts if t.strip()]


def open_via_nav(page, base_url: str, title: str) -> None:
    """Open the app at base_url, then the page titled title through the sidebar, as a student
    would; returns once that page is drawn."""
    page.goto(base_url)
    wait_ready(page)
    page.locator(_NAV_LINK, has_text=title).first.click()
    wait_ready(page)


TRAINING_FINISHED = re.compile("Finished the requested steps")


def wait_training_finished(page, timeout: float = 90_000) -> None:
    """Wait (timeout in ms) until the page says its requested training steps are done, and the
    rerun after that is drawn. Fails (Playwright's assertion error) if it does not say so."""
    from playwright.sync_api import expect

    expect(page.get_by_text(TRAINING_FINISHED)).to_be_visible(timeout=timeout)
    wait_ready(page)


def set_number(page, label: str, value: float | int, tries: int = 4) -> None:
    """Type `value` into the number input labelled `label`, commit it (Enter) and check that
    the input holds it. Under load a rerun still in flight can redraw the input and drop what
    was typed; then it is typed again."""
    box = page.get_by_role("spinbutton", name=label, exact=True)
    for _ in range(tries):
        box.fill(str(value))
        box.press("Enter")
        page.wait_for_timeout(400)
        wait_ready(page)
        shown = box.input_value()
        try:
            if abs(float(shown) - float(value)) <= 1e-9 + 1e-6 * abs(float(value)):
                return
        except ValueError:
            pass
    raise AssertionError(f"{label!r} holds {box.input_value()!r}, not {value!r}")
