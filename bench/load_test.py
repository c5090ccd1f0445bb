"""Load test: a class of students in real browsers, all training at once on one server.

Two measurements, both on loopback against `streamlit run app.py` started here:

- `load`: N Chromium contexts (separate sessions, like N laptops) open the Baby GPT page and
  press Train. For each we record how many steps it made, and when its websocket received
  updates (bursts of frames, one per redraw of the live view): the gaps between redraws show
  whether each live view refreshed at least once a second. A new visitor arrives mid-way and
  we time its first page. The server's memory and thread count come from /proc.
- `churn`: sessions opened, trained and closed in turn (a few at a time), then the server's
  thread count and memory are compared with where they were after the first ones.

    python bench/load_test.py load --sessions 10 --seconds 30
    python bench/load_test.py churn --sessions 100 --batch 5

Prints one JSON object of figures (also written to bench/results/ when --save is given).
The students' browsers run on this machine too, so the figures are pessimistic for a hosted
server, whose students render the pages on their own computers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.harness import (  # noqa: E402
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    VIEWPORT,
    start_streamlit,
    stop_streamlit,
    wait_ready,
)

# Record when each websocket message arrives, in the page itself (exact, and independent of
# how often this script looks).
FRAME_CLOCK_JS = """(() => {
  const W = window.WebSocket;
  window.__frames = [];
  function Recorded(...args) {
    const ws = new W(...args);
    ws.addEventListener("message", () => window.__frames.push(Date.now()));
    return ws;
  }
  Recorded.prototype = W.prototype;
  for (const k of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Recorded[k] = W[k];
  window.WebSocket = Recorded;
})();"""

BURST_GAP_MS = 150  # frames closer than this belong to one redraw


def proc_status(pid: int) -> tuple[float, int]:
    """(resident memory in MB, threads) of a process."""
    rss, threads = 0.0, 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss, threads


class Sampler(threading.Thread):
    """Samples the server's memory and threads four times a second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.samples.append((time.monotonic(), *proc_status(self.pid)))
            except OSError:
                return
            self.stop.wait(0.25)

    def peak_rss(self, since: float = 0.0) -> float:
        return max((s[1] for s in self.samples if s[0] >= since), default=0.0)


@contextmanager
def server(env: dict[str, str] | None = None):
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        url, proc = start_streamlit(ROOT / "app.py")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        yield url, proc
    finally:
        stop_streamlit(proc)


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def step_of(page) -> int:
    text = page.locator("[data-testid='stProgress']").first.inner_text()
    m = re.search(r"Step ([\d,]+)", text)
    return int(m.group(1).replace(",", "")) if m else -1


def open_page(browser, url: str, query: str):
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.add_init_script(FRAME_CLOCK_JS)
    page = ctx.new_page()
    t0 = time.monotonic()
    page.goto(f"{url}/baby_gpt{query}", timeout=180_000)
    page.locator("h1").first.wait_for(timeout=120_000)
    first_paint = time.monotonic() - t0
    wait_ready(page, timeout=120_000)
    return page, first_paint, time.monotonic() - t0


def click_train(page) -> None:
    page.get_by_role("button", name=re.compile(r"^Train [\d,]+ steps")).first.click()


def redraw_gaps(frames_ms: list[int], start_ms: float, end_ms: float) -> list[float]:
    """Seconds between the starts of successive redraws inside [start, end]."""
    starts: list[int] = []
    last: int | None = None
    for t in frames_ms:
        if last is None or t - last > BURST_GAP_MS:
            starts.append(t)
        last = t
    starts = [t for t in starts if start_ms <= t <= end_ms]
    gaps = [(b - a) / 1000 for a, b in zip(starts, starts[1:], strict=False)]
    if starts:  # the time from the window's start to the first redraw, and after the last
        gaps += [(starts[0] - start_ms) / 1000, (end_ms - starts[-1]) / 1000]
    return gaps


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def run_load(sessions: int = 10, seconds: float = 30.0, max_trainers: int | None = None) -> dict:
    env = {"GPTVIZ_MAX_TRAINERS": str(max_trainers)} if max_trainers else {}
    with server(env) as (url, proc), chromium() as browser:
        sampler = Sampler(proc.pid)
        sampler.start()
        rss_idle, threads_idle = proc_status(proc.pid)
        pages, first_loads = [], []
        query = "?baby_steps=100000"
        for _ in range(sessions):
            page, _, ready = open_page(browser, url, query)
            pages.append(page)
            first_loads.append(ready)
        rss_all_open, threads_all_open = proc_status(proc.pid)
        load_before = os.getloadavg()[0]
        for page in pages:
            click_train(page)
        t_start = time.monotonic()
        wall_start_ms = pages[0].evaluate("Date.now()")
        # the measurement window starts once every session has pressed Train
        visitor = None
        while time.monotonic() - t_start < seconds:
            pages[0].wait_for_timeout(250)
            if visitor is None and time.monotonic() - t_start > seconds / 2:
                vpage, v_paint, v_ready = open_page(browser, url, "")
                visitor = {"first_content_s": round(v_paint, 2), "ready_s": round(v_ready, 2)}
                vpage.context.close()
        wall_end_ms = pages[0].evaluate("Date.now()")
        per_session = []
        for page in pages:
            frames = page.evaluate("window.__frames")
            gaps = redraw_gaps(frames, wall_start_ms + 2000, wall_end_ms)
            per_session.append({
                "steps": step_of(page),
                "redraws": len(gaps) - 1,
                "gap_median_s": round(statistics.median(gaps), 2) if gaps else None,
                "gap_p95_s": round(pct(gaps, 0.95), 2),
                "gap_max_s": round(max(gaps), 2) if gaps else None,
            })
        rss_peak = sampler.peak_rss()
        for page in pages:
            page.context.close()
        # closing the tabs stops their training: threads return
        t_close = time.monotonic()
        while proc_status(proc.pid)[1] > threads_all_open and time.monotonic() - t_close < 15:
            time.sleep(0.1)
        threads_back_s = time.monotonic() - t_close
        rss_after, threads_after = proc_status(proc.pid)
        sampler.stop.set()
        from gptviz.slots import max_trainers_from_env
        steps = [s["steps"] for s in per_session]
        return {
            "test": "load",
            "sessions": sessions,
            "seconds_training": round(seconds, 1),
            "max_trainers": max_trainers or max_trainers_from_env(),
            "cpus": os.cpu_count(),
            "steps_min": min(steps), "steps_max": max(steps), "steps_total": sum(steps),
            "every_session_progressed": all(s > 0 for s in steps),
            "redraw_gap_median_s": round(statistics.median(
                [s["gap_median_s"] for s in per_session if s["gap_median_s"] is not None]), 2),
            "redraw_gap_p95_worst_s": max(s["gap_p95_s"] for s in per_session),
            "redraw_gap_max_worst_s": max(s["gap_max_s"] or 0 for s in per_session),
            "first_page_s_while_opening": [round(x, 2) for x in first_loads],
            "new_visitor_under_load": visitor,
            "server_rss_mb": {"idle": round(rss_idle), "all_open": round(rss_all_open),
                              "peak": round(rss_peak), "after_close": round(rss_after)},
            "server_threads": {"idle": threads_idle, "all_open_before_training": threads_all_open,
                               "peak": max(x[2] for x in sampler.samples),
                               "after_close": threads_after,
                               "seconds_to_return": round(threads_back_s, 1)},
            "machine_load_average_1min": {"before_training": round(load_before, 1),
                                          "at_end": round(os.getloadavg()[0], 1)},
            "per_session": per_session,
        }


def run_churn(sessions: int = 100, batch: int = 5, ttl: int = 5) -> dict:
    """Open, train and close `sessions` sessions, `batch` at a time."""
    env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(ttl)}
    with server(env) as (url, proc), chromium() as browser:
        sampler = Sampler(proc.pid)
        sampler.start()
        rss_start, threads_start = proc_status(proc.pid)
        done = 0
        baseline = None
        t0 = time.monotonic()
        while done < sessions:
            n = min(batch, sessions - done)
            pages = [open_page(browser, url, "?baby_steps=20")[0] for _ in range(n)]
            for page in pages:
                click_train(page)
            for page in pages:
                page.get_by_text(re.compile("Finished the requested steps")).wait_for(
                    timeout=120_000)
                assert step_of(page) == 20
            for page in pages:
                page.context.close()
            done += n
            if baseline is None:  # after the first batch: torch, plotly and pages are loaded
                time.sleep(ttl + 1)
                _touch(browser, url)
                baseline = proc_status(proc.pid)
        elapsed = time.monotonic() - t0
        # disconnected sessions live on for the TTL (for reconnects), then are dropped when
        # the session store is next written: wait, then open and close one more session
        time.sleep(ttl + 1)
        _touch(browser, url)
        time.sleep(1.0)
        end = proc_status(proc.pid)
        sampler.stop.set()
        return {
            "test": "churn",
            "sessions": sessions, "batch": batch, "disconnected_session_ttl_s": ttl,
            "seconds": round(elapsed, 1),
            "server_rss_mb": {"start": round(rss_start), "after_first_batch": round(baseline[0]),
                              "peak": round(sampler.peak_rss()), "end": round(end[0])},
            "server_threads": {"start": threads_start, "after_first_batch": baseline[1],
                               "end": end[1]},
        }


def _touch(browser, url: str) -> None:
    page = open_page(browser, url, "")[0]
    page.context.close()
    gc.collect()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["load", "churn"])
    ap.add_argument("--sessions", type=int)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--batch", type=int, default=5)
    ap.add_argument("--max-trainers", type=int)
    ap.add_argument("--save", action="store_true", help="also write bench/results/<what>.json")
    a = ap.parse_args()
    if a.what == "load":
        out = run_load(a.sessions or 10, a.seconds, a.max_trainers)
    else:
        out = run_churn(a.sessions or 100, a.batch)
    text = json.dumps(out, indent=2)
    print(text)
    if a.save:
        (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
        (ROOT / "bench" / "results" / f"{a.what}.json").write_text(text)


if __name__ == "__main__":
    main()
