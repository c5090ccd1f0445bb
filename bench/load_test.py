"""Load test: a class of students training at once on one server.

Two measurements, both on loopback against `streamlit run app.py` started here. The students
are websocket clients that speak Streamlit's protocol (bench/ws_client.py): each is a session
exactly as a browser tab is (the server cannot tell), and each reruns its live view on the
server's `run_every` timer as the frontend does. Ten Chromium renderers on this 2-core machine
would measure Chromium, not the server; students' browsers run on their own laptops.

- `load`: N sessions open the Baby GPT page and press Train. For each we record its steps and
  every redraw of its live view (one `st.progress` element per fragment run, with the step):
  the gaps between redraws say whether each live view refreshed at least once a second. A
  newcomer arrives half-way, as a websocket client and as a real Chromium, and we time its
  first page. The server's memory and thread count come from /proc.
- `churn`: sessions opened, trained and closed, `batch` at a time; then the server's thread
  count and memory are compared with where they were after the first batch.

    python -m bench.load_test load --sessions 10 --seconds 30 [--save]
    python -m bench.load_test churn --sessions 100 --batch 10 [--save]

Prints one JSON object of figures (also written to bench/results/ when --save is given).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import REPO_ROOT as ROOT
from bench.common import proc_status, run_async
from bench.server import (
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    VIEWPORT,
    start_streamlit,
    stop_streamlit,
    wait_ready,
)
from bench.ws_client import Session


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
    url, proc = start_streamlit(ROOT / "app.py", env=env)
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


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def run_load(sessions: int = 10, seconds: float = 30.0, max_trainers: int | None = None,
             browser_newcomer: bool = True) -> dict:
    """`sessions` websocket clients train Baby GPT at once for `seconds`; a newcomer arrives
    half-way (as a websocket client, and as a real browser when `browser_newcomer`)."""
    env = {"GPTVIZ_MAX_TRAINERS": str(max_trainers)} if max_trainers else {}
    with server(env) as (url, proc):
        return run_async(_load(url, proc.pid, sessions, seconds, max_trainers,
                                 browser_newcomer))


async def _load(url: str, pid: int, sessions: int, seconds: float, max_trainers: int | None,
                browser_newcomer: bool) -> dict:
    sampler = Sampler(pid)
    sampler.start()
    rss_idle, threads_idle = proc_status(pid)
    clients = [Session(url, "baby_gpt", "baby_steps=100000") for _ in range(sessions)]
    for c in clients:  # one after another, as a class arrives
        await c.open()
    rss_all_open, threads_all_open = proc_status(pid)
    load_before = os.getloadavg()[0]
    for c in clients:  # as fast as a class clicks: nobody waits for their page to redraw
        await c.click("Train", wait=False)
    t_start = time.monotonic()
    await asyncio.sleep(seconds / 2)
    newcomer = Session(url, "baby_gpt", "")
    with contextlib.suppress(TimeoutError):  # None below: not finished within 90 s
        await newcomer.open(timeout=90)
    visitor = {"ws_first_element_s": _r(newcomer.first_element_s),
               "ws_page_complete_s": _r(newcomer.first_finished_s)}
    await newcomer.close()
    if browser_newcomer:
        visitor.update(await asyncio.to_thread(_browser_first_page, url))
    await asyncio.sleep(max(0.0, t_start + seconds - time.monotonic()))
    t_end = time.monotonic()
    per_session = []
    for c in clients:
        # from 2 s after everyone pressed Train (the first redraws) to the end
        times = [r.t for r in c.redraws if t_start + 2 <= r.t <= t_end]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        if times:
            gaps += [times[0] - (t_start + 2), t_end - times[-1]]
        trained = [r.step for r in c.redraws if r.t >= t_start and r.step >= 0]
        per_session.append({
            "steps": c.step,
            "steps_per_s": round(c.step / (t_end - t_start), 1),
            "redraws": len(times),
            "redraws_per_s": round(len(times) / (t_end - t_start - 2), 2),
            "gap_median_s": round(statistics.median(gaps), 2) if gaps else None,
            "gap_p95_s": round(pct(gaps, 0.95), 2),
            "gap_max_s": round(max(gaps), 2) if gaps else None,
            "exceptions": c.exceptions,
            "progressed": bool(trained) and max(trained) > 0,
        })
    rss_peak = sampler.peak_rss()
    threads_peak = max(x[2] for x in sampler.samples)
    for c in clients:
        await c.close()
    # closing the tabs stops their training: threads return
    t_close = time.monotonic()
    while proc_status(pid)[1] > threads_all_open and time.monotonic() - t_close < 15:
        await asyncio.sleep(0.1)
    threads_back_s = time.monotonic() - t_close
    rss_after, threads_after = proc_status(pid)
    sampler.stop.set()
    from gptviz.live.slots import max_trainers_from_env
    steps = [s["steps"] for s in per_session]
    return {
        "test": "load",
        "clients": "websocket (Streamlit's protocol)",
        "sessions": sessions,
        "seconds_training": round(seconds, 1),
        "max_trainers": max_trainers or max_trainers_from_env(),
        "cpus": os.cpu_count(),
        "steps_min": min(steps), "steps_max": max(steps), "steps_total": sum(steps),
        "steps_per_s_each": [s["steps_per_s"] for s in per_session],
        "every_session_progressed": all(s["progressed"] for s in per_session),
        "no_exceptions": not any(s["exceptions"] for s in per_session),
        "redraws_per_s_min": min(s["redraws_per_s"] for s in per_session),
        "redraw_gap_median_s": round(statistics.median(
            [s["gap_median_s"] for s in per_session if s["gap_median_s"] is not None]), 2),
        "redraw_gap_p95_worst_s": max(s["gap_p95_s"] for s in per_session),
        "redraw_gap_max_worst_s": max(s["gap_max_s"] or 0 for s in per_session),
        "first_page_s_while_opening": [round(c.first_finished_s, 2) for c in clients],
        "new_visitor_under_load": visitor,
        "server_rss_mb": {"idle": round(rss_idle), "all_open": round(rss_all_open),
                          "peak": round(rss_peak), "after_close": round(rss_after)},
        "server_threads": {"idle": threads_idle, "all_open_before_training": threads_all_open,
                           "peak": threads_peak, "after_close": threads_after,
                           "seconds_to_return": round(threads_back_s, 1)},
        "machine_load_average_1min": {"before_training": round(load_before, 1),
                                      "at_end": round(os.getloadavg()[0], 1)},
        "per_session": per_session,
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _browser_first_page(url: str) -> dict:
    """A real browser's first page while the class trains: time to the title, and to ready."""
    with chromium() as browser:
        ctx = browser.new_context(viewport=VIEWPORT)
        page = ctx.new_page()
        t0 = time.monotonic()
        page.goto(f"{url}/baby_gpt", timeout=180_000)
        page.locator("h1").first.wait_for(timeout=120_000)
        first = time.monotonic() - t0
        wait_ready(page, timeout=120_000)
        ready = time.monotonic() - t0
        ctx.close()
    return {"browser_first_content_s": round(first, 2), "browser_ready_s": round(ready, 2)}


@dataclass(frozen=True)
class ChurnPage:
    """What one churning session does: open `page?query`, click `button`, and close once its
    live view shows `steps` steps (Baby GPT: all its steps; GPT-1: a step of its 600, so the
    tab closes in the middle of training, as a student's does)."""

    page: str
    query: str
    button: str
    steps: int


BABY_CHURN = ChurnPage("baby_gpt", "baby_steps=20", "Train", 20)
GPT1_CHURN = ChurnPage("gpt1", "", "Train", 1)


def run_churn(sessions: int = 100, batch: int = 10, ttl: int = 5, steps: int = 20,
              what: ChurnPage | None = None) -> dict:
    """Open, train and close `sessions` sessions, `batch` at a time: Baby GPT for `steps`
    steps, or `what`."""
    what = what or ChurnPage("baby_gpt", f"baby_steps={steps}", "Train", steps)
    env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(ttl)}
    with server(env) as (url, proc):
        return run_async(_churn(url, proc.pid, sessions, batch, ttl, what))


async def _one_session(url: str, what: ChurnPage) -> int:
    s = Session(url, what.page, what.query)
    try:
        await s.open()
        await s.click(what.button)
        t0 = time.monotonic()
        while s.step < what.steps and time.monotonic() - t0 < 120:
            await asyncio.sleep(0.1)
        if s.exceptions:
            raise AssertionError(s.exceptions)
        if s.step < what.steps:
            print("churn: a session stopped at", [r.text for r in s.redraws[-3:]],
                  list(s.buttons), file=sys.stderr)
        return s.step
    finally:
        await s.close()


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _churn(url: str, pid: int, sessions: int, batch: int, ttl: int,
                 what: ChurnPage) -> dict:
    sampler = Sampler(pid)
    sampler.start()
    rss_start, threads_start = proc_status(pid)
    done, baseline, trained = 0, None, []
    t0 = time.monotonic()
    while done < sessions:
        n = min(batch, sessions - done)
        trained += await asyncio.gather(*(_one_session(url, what) for _ in range(n)))
        done += n
        if baseline is None:  # after the first batch: torch, plotly and the pages are loaded
            await _settle(url, ttl)
            baseline = proc_status(pid)
    elapsed = time.monotonic() - t0
    # disconnected sessions live on for the TTL (for reconnects), then are dropped when the
    # session store is next written: wait, then open and close one more session
    await _settle(url, ttl)
    end = proc_status(pid)
    c0 = cpu_seconds(pid)
    await asyncio.sleep(2.0)
    idle_cpu = (cpu_seconds(pid) - c0) / 2.0  # cores busy after every tab closed
    sampler.stop.set()
    return {
        "test": "churn",
        "clients": "websocket (Streamlit's protocol)",
        "page": what.page, "query": what.query,
        "sessions": sessions, "batch": batch, "steps_each": what.steps,
        "sessions_that_trained_all_steps": sum(t >= what.steps for t in trained),
        "disconnected_session_ttl_s": ttl,
        "seconds": round(elapsed, 1),
        "server_rss_mb": {"start": round(rss_start), "after_first_batch": round(baseline[0]),
                          "peak": round(sampler.peak_rss()), "end": round(end[0])},
        "server_threads": {"start": threads_start, "after_first_batch": baseline[1],
                           "peak": max(x[2] for x in sampler.samples), "end": end[1]},
        "server_cpu_after_close": round(idle_cpu, 3),
    }


async def _settle(url: str, ttl: int) -> None:
    await asyncio.sleep(ttl + 1)
    s = Session(url, "", "")
    await s.open()  # the session store drops expired sessions; the janitor collects them
    await s.close()
    gc.collect()
    await asyncio.sleep(6.0)  # gptviz/live/memory.py's janitor: at most one collection in 5 s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["load", "churn", "churn-gpt1"])
    ap.add_argument("--sessions", type=int)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--max-trainers", type=int)
    ap.add_argument("--no-browser", action="store_true", help="no real-browser newcomer")
    ap.add_argument("--save", action="store_true", help="also write bench/results/<what>.json")
    a = ap.parse_args()
    if a.what == "load":
        out = run_load(a.sessions or 10, a.seconds, a.max_trainers, not a.no_browser)
    elif a.what == "churn":
        out = run_churn(a.sessions or 100, a.batch)
    else:
        out = run_churn(a.sessions or 50, a.batch, what=GPT1_CHURN)
    text = json.dumps(out, indent=2)
    print(text)
    if a.save:
        (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
        (ROOT / "bench" / "results" / f"{a.what}.json").write_text(text)


if __name__ == "__main__":
    main()
