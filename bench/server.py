"""A Streamlit server in a subprocess, and the Chromium that bench/ and the browser tests drive.

    from bench.server import start_streamlit, stop_streamlit
    url, proc = start_streamlit(REPO_ROOT / "app.py")  # waits until /_stcore/health answers
    ...
    stop_streamlit(proc)

Used by the benchmarks (bench.load_test, bench.browser) and by the browser tests
(tests/e2e/harness.py imports it from here: tests may use bench/, never the other way round).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from bench.common import REPO_ROOT

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

# The app is ready when the websocket is up, no script run is in progress and no
# placeholder skeleton remains. All three are checked in one predicate so that a
# rerun starting between separate checks cannot slip through.
READY_JS = """() => {
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
    port: int | None = None,
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
    port = port or free_port()  # a given port: a restart where the old server was
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
    page.wait_for_function(READY_JS, timeout=timeout, polling=100)
