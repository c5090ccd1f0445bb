"""Helpers for real-browser tests: a Streamlit server in a subprocess, Debian's Chromium.

Fixtures live in conftest.py; tests import the helpers from here:

    from .harness import assert_no_exception, save_screenshot, wait_ready

Server: start_streamlit / stop_streamlit, or both around a block with streamlit_server.
Page: wait_ready, nav_titles, open_via_nav, wait_training_finished, assert_no_exception,
save_screenshot.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "screenshots"

# Debian's Chromium (apt-get install chromium); Playwright's own browser download is never used.
CHROMIUM_PATH = "/usr/bin/chromium"
# Without the networking flags Chromium keeps dialling Google's hosts, which this
# sandbox refuses; --no-sandbox because tests run as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 900}  # about a classroom projector

SERVER_START_TIMEOUT_S = 60.0
MAX_SCREENSHOT_HEIGHT = 12_000  # px; a cap so a runaway page cannot make a giant PNG

# Height of everything Streamlit drew: its main area and sidebar scroll on their own.
_CONTENT_HEIGHT_JS = """() => Math.max(
    document.documentElement.scrollHeight,
    ...[...document.querySelectorAll(
        "[data-testid='stMain'], [data-testid='stSidebarContent']")].map(e => e.scrollHeight)
)"""

# The app is ready when the websocket is up, no script run is in progress and no
# placeholder skeleton remains. All three are checked in one predicate so that a
# rerun starting between separate checks cannot slip through.
_READY_JS = """() => {
    const app = document.querySelector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']");
    return app !== null
        && document.querySelector("[data-test-script-state='notRunning']") !== null
        && document.querySelector("[data-testid='stSkeleton']") === null;
}"""


def free_port() -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(log_path: Path, n_chars: int = 4000) -> str:
    try:
        return log_path.read_text(errors="replace")[-n_chars:]
    except OSError:
        return "<no log>"


def start_streamlit(
    script_path: str | os.PathLike[str],
    *,
    cwd: str | os.PathLike[str] = REPO_ROOT,
    timeout_s: float = SERVER_START_TIMEOUT_S,
    log_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start `streamlit run script_path` on a free port; return (base_url, process).

    Waits until /_stcore/health answers. The server runs in its own process group
    (stop it with stop_streamlit) and logs to log_path (a new temporary file if None),
    also kept as `proc.log_path`. cwd defaults to the repo root so that
    .streamlit/config.toml applies. env: extra environment variables for the server only.
    """
    script = Path(script_path).resolve()
    if not script.is_file():
        raise FileNotFoundError(f"Streamlit script not found: {script}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if log_path is None:
        log_fd, log_name = tempfile.mkstemp(prefix="streamlit-", suffix=".log")
    else:
        log_name = os.fspath(log_path)
        log_fd = os.open(log_name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group, so teardown kills any children too
        env={**os.environ, **(env or {})},
    )
    os.close(log_fd)
    proc.log_path = Path(log_name)  # type: ignore[attr-defined]

    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {proc.returncode} before answering; log:\n"
                + _log_tail(proc.log_path)  # type: ignore[attr-defined]
            )
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return url, proc
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            stop_streamlit(proc)
            raise TimeoutError(
                f"streamlit did not answer on {url} within {timeout_s:.0f} s; log:\n"
                + _log_tail(proc.log_path)  # type: ignore[attr-defined]
            )
        time.sleep(0.2)


def stop_streamlit(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL after grace_s."""
    if proc.poll() is not None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=grace_s)


def wait_ready(page, timeout: float = 60_000) -> None:
    """Wait (timeout in ms) until the app is connected, idle and fully drawn.

    After a click the old "notRunning" state can still be showing before the rerun
    starts, so after an interaction also wait for the effect you expect, e.g.
    `expect(page.get_by_text("...")).to_be_visible()`.
    """
    page.wait_for_function(_READY_JS, timeout=timeout, polling=100)


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
