"""Fixtures for real-browser tests (mark them `pytest.mark.browser`).

- app_server: session-wide `streamlit run app.py` on a free port; yields its base URL.
- chromium_browser: session-wide headless Debian Chromium driven by Playwright.
- browser_page: a fresh page (own context, 1400x900 viewport) per test.

Helpers (wait_ready, assert_no_exception, save_screenshot, streamlit_server, ...) are in
harness.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .harness import (
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    REPO_ROOT,
    VIEWPORT,
    streamlit_server,
)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the real app (app.py at the repo root) served for the whole session."""
    app = REPO_ROOT / "app.py"
    if not app.is_file():
        pytest.fail(f"{app} does not exist: nothing to serve")
    log = tmp_path_factory.mktemp("app_server") / "streamlit.log"
    with streamlit_server(app, log_path=log) as (url, _):
        yield url


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Chromium for the session (Debian's, never a Playwright download)."""
    if not os.access(CHROMIUM_PATH, os.X_OK):
        pytest.fail(f"{CHROMIUM_PATH} missing: apt-get install -y chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium_browser):
    """A new page in its own browser context (clean cookies and storage) per test."""
    context = chromium_browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
