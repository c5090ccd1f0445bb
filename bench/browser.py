"""Parts 3 and 4: the real app (`streamlit run app.py`) in a real browser (Debian's Chromium).

Measured:
  startup      `streamlit run app.py` started -> the home page drawn in the browser; then,
               a second after (a user's reaction), every page's first visit since the start:
               its link clicked -> its title drawn and the app idle; and each page as the
               first one opened (a fresh server per page)
  page switch  click in the sidebar -> the other page drawn (Home <-> Baby GPT)
  watching     training steps per second while the page draws live against the same training
               with no page drawing it (the browser on the home page; the thread trains on),
               in turns; and a LiveRun in this process with one torch thread, as the app has
  memory       the server's resident memory (VmRSS of its process group): idle, one session
               training, and per extra session

How fast a live view redraws is measured by bench/live_view.py (`python -m bench.live_view`).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, summarize
from bench.server import (
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    READY_JS,
    VIEWPORT,
    free_port,
    stop_streamlit,
)

BABY = "Baby GPT"
TEXT = "Train on text"
NAV = "[data-testid='stSidebarNavLink']"
STEPS_LABEL = "Steps per click of Train"
LONG_RUN = 100_000  # steps per click while measuring: never finishes during a measurement

# Timestamps in the page, in epoch milliseconds (the same clock as time.time() here): every
# WebSocket.send (a rerun request, e.g. the live fragment's timer) and every change of the
# progress text (the watching part reads the training's step from it).
INSTRUMENT_JS = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  window.__sends = [];
  window.__marks = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    window.__sends.push(now());
    return send.call(this, data);
  };
  let lastStatus = null;
  const observe = () => {
    const obs = new MutationObserver(() => {
      const p = document.querySelector("[data-testid='stProgress']");
      const status = p ? p.textContent : null;
      if (status !== lastStatus) {
        lastStatus = status;
        window.__marks.push([now(), "status", status]);
      }
    });
    obs.observe(document.body, {subtree: true, childList: true, characterData: true,
                                attributes: true});
  };
  if (document.body) observe(); else document.addEventListener("DOMContentLoaded", observe);
})();
"""


# --- the server ------------------------------------------------------------------------------
def spawn_server(port: int, env: dict[str, str] | None = None,
                 script: str = "app.py") -> subprocess.Popen[bytes]:
    """`streamlit run <script>` as a user starts it (headless), in its own process group."""
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
           "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
           "--server.address", "127.0.0.1", "--server.port", str(port)]
    log = open(os.devnull, "wb")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, **(env or {})})


def wait_health(url: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def rss_mb(pid: int) -> float:
    """Resident memory of the process group led by pid (Streamlit runs as one process)."""
    total = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            pgid = int(stat.rsplit(")", 1)[1].split()[2])
            if pgid != pid:
                continue
            for line in (d / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024


# --- the page --------------------------------------------------------------------------------
def wait_ready(page, timeout: float = 60_000) -> None:
    page.wait_for_function(READY_JS, timeout=timeout, polling="raf")


def goto_nav(page, title: str) -> float:
    """Click a sidebar link; seconds until that page is drawn (its title shown, app idle)."""
    t0 = time.perf_counter()
    page.locator(NAV, has_text=title).first.click(force=True)
    page.wait_for_function(
        """(t) => [...document.querySelectorAll('h1')].some(h => h.textContent.includes(t))""",
        arg=_h1_for(title), timeout=60_000, polling="raf")
    wait_ready(page)
    return time.perf_counter() - t0


def _h1_for(nav_title: str) -> str:
    return {"Home": "gptviz", BABY: "Baby GPT", TEXT: "Train on text"}.get(nav_title, nav_title)


def has_nav(page, title: str) -> bool:
    return page.locator(NAV, has_text=title).count() > 0


def set_number(page, label: str, value: float) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(300)
    wait_ready(page)


def click_train(page, steps: int = LONG_RUN) -> None:
    """Press Train for `steps` steps (set first when the page shows another count: a page
    visited again may have its widgets back at their defaults)."""
    if page.get_by_role("button", name=f"Train {steps:,} steps").count() == 0:
        set_number(page, STEPS_LABEL, steps)
    page.get_by_role("button", name=re.compile(r"Train [\d,]+ steps")).first.click()
    page.get_by_role("button", name=re.compile("Pause")).first.wait_for(timeout=30_000)


def click_pause(page) -> None:
    # force: while the live fragment redraws below it, the button may never look "stable" to
    # Playwright on a busy machine, though it is there and clickable
    try:
        page.get_by_role("button", name=re.compile("Pause")).first.click(force=True,
                                                                         timeout=60_000)
    except Exception:
        page.screenshot(path="/tmp/bench_pause_failed.png")
        raise
    page.get_by_role("button", name=re.compile(r"Train [\d,]+ steps")).first.wait_for(
        timeout=30_000)
    wait_ready(page)


def marks(page) -> tuple[list[float], list[list]]:
    return page.evaluate("[window.__sends || [], window.__marks || []]")


def clear_marks(page) -> None:
    page.evaluate("window.__sends = []; window.__marks = [];")


_STEP = re.compile(r"Step ([\d,]+)")


def status_steps(mk: list[list]) -> list[tuple[float, int]]:
    """(epoch ms, step) each time the progress text changed."""
    out = []
    for t, kind, text in mk:
        if kind == "status" and text and (m := _STEP.search(text)):
            out.append((t, int(m.group(1).replace(",", ""))))
    return out


def rate_from_marks(mk: list[list]) -> float | None:
    """Steps per second: least-squares slope of step against the page's clock."""
    pts = status_steps(mk)
    if len(pts) < 3:
        return None
    ts = [t / 1000 for t, _ in pts]
    ss = [s for _, s in pts]
    tm, sm = statistics.mean(ts), statistics.mean(ss)
    den = sum((t - tm) ** 2 for t in ts)
    return sum((t - tm) * (s - sm) for t, s in zip(ts, ss, strict=True)) / den if den else None


# --- the parts -------------------------------------------------------------------------------
def measure_startup(browser, runs: int) -> dict[str, Any]:
    """`streamlit run app.py` -> home page drawn, with the browser opening the URL at once
    (retrying until the server answers), as a user who starts the app and its tab together;
    then each page's first visit since the server started, in the navigation's order."""
    from pages._catalog import CATALOG

    healthy, drawn = [], []
    visits: dict[str, list[float]] = {info.title: [] for info in CATALOG}
    for _ in range(runs):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        proc = spawn_server(port)
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            done = threading.Event()
            t_health: list[float] = []

            def poll(url: str = url, t_health: list[float] = t_health,
                     done: threading.Event = done) -> None:
                wait_health(url)
                t_health.append(time.perf_counter())
                done.set()

            threading.Thread(target=poll, daemon=True).start()
            done.wait(60)
            page = ctx.new_page()
            page.goto(url)
            page.wait_for_function(
                "() => [...document.querySelectorAll('h1')].length > 0", timeout=60_000,
                polling="raf")
            wait_ready(page)
            drawn.append(time.perf_counter() - t0)
            healthy.append(t_health[0] - t0)
            page.wait_for_timeout(1000)
            for info in CATALOG:
                visits[info.title].append(first_visit(page, info.title))
        finally:
            ctx.close()
            stop_streamlit(proc)
    return {"server_answers_s": summarize(healthy), "first_page_drawn_s": summarize(drawn),
            "samples_first_page_drawn_s": drawn,
            "first_visit_s": {k: summarize(v) for k, v in visits.items()},
            "samples_first_visit_s": visits}


def measure_first_after_home(browser, runs: int) -> dict[str, Any]:
    """Each page as the first one a user opens: a fresh server, its home page drawn, a second
    to read it, then that page's link. measure_startup's visits go in the navigation's order,
    so only its first page meets a server still importing; here every page does."""
    from pages._catalog import CATALOG

    visits: dict[str, list[float]] = {info.title: [] for info in CATALOG}
    for _ in range(runs):
        for info in CATALOG:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            proc = spawn_server(port)
            ctx = browser.new_context(viewport={"width": 1400, "height": 900})
            try:
                wait_health(url)
                page = ctx.new_page()
                page.goto(url)
                page.wait_for_function("() => document.querySelectorAll('h1').length > 0",
                                       timeout=60_000, polling="raf")
                wait_ready(page)
                page.wait_for_timeout(1000)
                visits[info.title].append(first_visit(page, info.title))
            finally:
                ctx.close()
                stop_streamlit(proc)
    return {"first_after_home_s": {k: summarize(v) for k, v in visits.items()},
            "samples_first_after_home_s": visits}


def first_visit(page, title: str) -> float:
    """Seconds from clicking a page's link to its own title drawn and the app idle."""
    before = page.locator("h1").first.text_content()
    t0 = time.perf_counter()
    page.locator(NAV, has_text=title).first.click(force=True)
    page.wait_for_function(
        "(t) => { const h = document.querySelector('h1'); return h && h.textContent !== t; }",
        arg=before, timeout=60_000, polling="raf")
    wait_ready(page)
    return time.perf_counter() - t0


def measure_page_switch(page, runs: int) -> dict[str, Any]:
    to_baby, to_home = [], []
    for _ in range(runs):
        to_baby.append(goto_nav(page, BABY))
        to_home.append(goto_nav(page, "Home"))
    return {"home_to_baby_gpt_s": summarize(to_baby), "baby_gpt_to_home_s": summarize(to_home)}


def headless_rate(seconds: float) -> float:
    """Steps per second of the Baby GPT page's LiveRun in this process, nothing drawn, with
    one torch thread (as app.py sets)."""
    import torch

    from bench.data import doc000_task
    from gptviz.config import DOC000_MODEL, DOC000_TRAIN, replace
    from gptviz.live import LiveRun
    from gptviz.live.slots import FairSlots
    from gptviz.train import Trainer, build_model

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = replace(DOC000_TRAIN, eval_batches=1)  # the page's TrainConfig
        run = LiveRun(Trainer(build_model(DOC000_MODEL, 1337), doc000_task(), cfg),
                      slots=FairSlots(1))
        run.start(LONG_RUN)
        time.sleep(1.0)
        s0, t0 = run.snapshot().step, time.perf_counter()
        time.sleep(seconds)
        s1, t1 = run.snapshot().step, time.perf_counter()
        run.pause()
        return (s1 - s0) / (t1 - t0)
    finally:
        torch.set_num_threads(before)


def measure_watching(page, title: str, rounds: int, seconds: float) -> dict[str, Any]:
    """Steps/s with the page drawing live vs with the browser on the home page, in turns.

    Displayed: the slope of step against time over the live progress text. Not displayed: the
    step shown when leaving the page and the step shown on coming back, over the time between
    (both read the same way: the first progress text of a fresh page draw).
    """
    shown, hidden = [], []
    click_train(page)
    page.wait_for_timeout(1500)
    for _ in range(rounds):
        clear_marks(page)
        page.wait_for_timeout(seconds * 1000)
        _, mk = marks(page)
        r = rate_from_marks(mk)
        if r:
            shown.append(r)
        # leave, wait, come back: the steps done meanwhile, with nothing drawn
        goto_nav(page, "Home")
        goto_nav(page, title)
        _, mk = marks(page)
        a = status_steps(mk)
        if not a:
            continue
        goto_nav(page, "Home")
        page.wait_for_timeout(seconds * 1000)
        clear_marks(page)
        goto_nav(page, title)
        _, mk = marks(page)
        b = status_steps(mk)
        if b:
            hidden.append((b[0][1] - a[0][1]) / ((b[0][0] - a[0][0]) / 1000))
    click_pause(page)
    out: dict[str, Any] = {"page": title, "seconds_per_sample": seconds,
                           "displayed_steps_per_second": summarize(shown) if shown else None,
                           "not_displayed_steps_per_second": summarize(hidden) if hidden else None,
                           "samples_displayed": shown, "samples_not_displayed": hidden}
    if shown and hidden:
        out["displayed_over_not_displayed"] = (statistics.median(shown)
                                               / statistics.median(hidden))
    return out


def run(quick: bool = False, parts: tuple[str, ...] = ("startup", "switch", "watch",
                                                       "memory")) -> dict[str, Any]:
    """The parts; how fast a live view redraws is bench/live_view.py's (python -m
    bench.live_view), which reads the instrument's own graph title."""
    from playwright.sync_api import sync_playwright

    n = 2 if quick else 3
    secs = 4.0 if quick else 8.0
    out: dict[str, Any] = {"quick": quick}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            if "startup" in parts:
                out["startup"] = measure_startup(browser, n)
                out["startup"].update(measure_first_after_home(browser, n))
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            proc = spawn_server(port)
            try:
                wait_health(url)
                time.sleep(1.0)
                out["memory"] = {"idle_no_session_mb": rss_mb(proc.pid)}
                ctx = browser.new_context(viewport=VIEWPORT)
                ctx.add_init_script(INSTRUMENT_JS)
                page = ctx.new_page()
                page.goto(url)
                wait_ready(page)
                out["memory"]["one_session_home_mb"] = rss_mb(proc.pid)
                def part(name: str, fn) -> None:
                    # one part failing (a timeout on a loaded machine) keeps the others' figures
                    if name not in parts:
                        return
                    try:
                        fn()
                    except Exception as e:  # noqa: BLE001 - recorded in the results
                        out.setdefault("errors", {})[name] = f"{type(e).__name__}: {e}"[:500]
                        print(f"app part {name!r} failed: {e}", file=sys.stderr)

                def switch() -> None:
                    goto_nav(page, BABY)  # the first visit imports and builds; not counted
                    goto_nav(page, "Home")
                    out["page_switch"] = measure_page_switch(page, n + 2)

                def watch() -> None:
                    goto_nav(page, BABY)
                    out["headless_liverun_steps_per_second"] = headless_rate(secs)
                    out["watching"] = [measure_watching(page, BABY, n, secs)]
                    if has_nav(page, TEXT):
                        goto_nav(page, TEXT)
                        out["watching"].append(measure_watching(page, TEXT, n, secs))

                def memory() -> None:
                    goto_nav(page, BABY)
                    click_train(page)
                    page.wait_for_timeout(int(secs * 1000))
                    out["memory"]["one_session_training_mb"] = rss_mb(proc.pid)
                    click_pause(page)
                    out["memory"].update(measure_sessions(browser, url, proc.pid, page,
                                                          extra=3))

                part("switch", switch)
                part("watch", watch)
                part("memory", memory)
                ctx.close()
            finally:
                stop_streamlit(proc)
        finally:
            browser.close()
    return out


def measure_sessions(browser, url: str, pid: int, page, extra: int) -> dict[str, Any]:
    """RSS with one session training, then with `extra` more sessions on the Baby GPT page,
    each having pressed Train (at most GPTVIZ_MAX_TRAINERS train at once; the rest wait)."""
    click_train(page)
    page.wait_for_timeout(2000)
    one = rss_mb(pid)
    contexts = []
    try:
        for _ in range(extra):
            c = browser.new_context(viewport={"width": 1400, "height": 900})
            p = c.new_page()
            p.goto(url)
            wait_ready(p)
            goto_nav(p, BABY)
            click_train(p)
            contexts.append(c)
        page.wait_for_timeout(3000)
        many = rss_mb(pid)
    finally:
        for c in contexts:
            c.close()
        click_pause(page)
    return {"one_session_training_mb": one, f"{extra + 1}_sessions_training_mb": many,
            "per_extra_session_mb": (many - one) / extra}
