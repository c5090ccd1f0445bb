"""Is the live view smooth? Baby GPT's live instrument, measured against the issue's targets.

    python -m bench.live_view            # about 4 minutes here
    python -m bench.live_view --quick    # shorter samples: a smoke test, figures rough

The real app (`streamlit run app.py`) in Debian's Chromium, then websocket clients:

  views     8 states (document 000: V 2, T 3) and 64 states (T 6), each training with
            100,000 steps per click for `seconds`. In the page, a wrapper on the WebSocket
            records when each message arrives and which graph step it carries (the chain
            graph's title "Step N" in the plotly spec it holds); a MutationObserver records
            when the graph's title (`.gtitle`) shows a new step and a requestAnimationFrame
            then setTimeout(0) the moment after that frame was painted. An update is a new
            step painted; its latency runs from the message carrying that step arriving to
            that step painted (the server's send time cannot be known in the browser, so the
            server's own drawing is not in it). Updates per second: the median over 1 s windows.
  watch     steps/s read off the page's status line ("Step N of M ..."), in turns: watched
            (Baby GPT open and redrawing) and unwatched (the browser on Home, same session, so
            the training thread goes on). Watched: the first and last step shown in the turn.
            Unwatched: the last step shown before leaving to the first shown on coming back,
            over the time between (the two page switches included). Ratio of the medians.
            Again with a websocket client as the viewer (its live timer stopped while
            unwatched): the server's share, without Chromium drawing on the same two cores.
  sessions  N websocket clients (bench/ws_client.py: Streamlit's protocol, no renderer) open
            Baby GPT and press Train at once, with the app's training slots
            (GPTVIZ_MAX_TRAINERS, default 2: the others queue and take turns). Per session: its
            live redraws per second (every status-line element received) and its updates (a
            redraw showing a new step). bench/load_test.py's `load` counts redraws only, whether
            or not the step moved, and adds a newcomer half-way, so it is not reused here.

Writes bench/results/live_view.json (beside the machine, its load and the versions) and prints
a table against the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, machine, run_async, summarize, table, write_json

# --- the targets (issue item "Smooth") -----------------------------------------------------------
TARGET_8_UPDATES_PER_S = 5.0
TARGET_8_LATENCY_MS = 250.0
TARGET_64_UPDATES_PER_S = 2.0
TARGET_WATCHED_RATIO = 0.90
TARGET_SESSION_UPDATES_PER_S = 1.0

LONG_RUN = 100_000  # steps per click: never finishes during a measurement
NAV = "[data-testid='stSidebarNavLink']"
VIEWS = {"8 states": "baby_steps=100000", "64 states": "baby_context=6&baby_steps=100000"}

# In the page, all times are performance.now() (ms). __recv: [t, step] for each websocket
# message holding a chain graph titled "Step N"; __paint: [t_dom, t_painted, step] for each
# new step in the graph's title; __status: [t, step] for each new status-line step; __busy:
# [start, duration] of each main-thread task over 50 ms (the browser's "long tasks").
INSTRUMENT_JS = r"""
(() => {
  const now = () => performance.now();
  window.__recv = []; window.__paint = []; window.__status = []; window.__nmsg = 0;
  window.__sends = [];  // every message the page sent: its reruns (the live timer's included)
  window.__busy = [];  // [start, duration] of main-thread tasks over 50 ms
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries())
      window.__busy.push([e.startTime, e.duration]); }).observe({type: "longtask"});
  } catch (e) { /* no longtask timing in this browser */ }
  const SPEC = /"text":\s*"Step ([\d,]+)/;
  const TITLE = /^Step ([\d,]+)$/;  // the live graph's; not the tab's "Step 0: untrained"
  const STATUS = /Step ([\d,]+)/;
  const num = (s) => parseInt(s.replace(/,/g, ""), 10);
  const dec = new TextDecoder("utf-8");
  const onMessage = (ev) => {
    const t = now();
    window.__nmsg++;
    const scan = (s) => { const m = SPEC.exec(s); if (m) window.__recv.push([t, num(m[1])]); };
    const d = ev.data;
    if (d instanceof ArrayBuffer) scan(dec.decode(d));
    else if (typeof d === "string") scan(d);
    else if (d && d.text) d.text().then(scan);
  };
  const Native = window.WebSocket;
  // our listener is added in the constructor, so it runs before the app's own
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); this.addEventListener("message", onMessage); }
    send(data) { window.__sends.push(now()); return super.send(data); }
  };
  let lastTitle = null, lastStatus = null;
  const check = () => {
    const t = now();
    let title = null;
    for (const p of document.querySelectorAll(".js-plotly-plot")) {
      const g = p.querySelector(".gtitle");
      if (g && TITLE.test(g.textContent)) { title = g.textContent; break; }
    }
    if (title !== null && title !== lastTitle) {
      lastTitle = title;
      const step = num(TITLE.exec(title)[1]);
      requestAnimationFrame(() => setTimeout(() => window.__paint.push([t, now(), step]), 0));
    }
    const p = document.querySelector("[data-testid='stProgress']");
    const m = p ? STATUS.exec(p.textContent) : null;
    if (m && m[1] !== lastStatus) { lastStatus = m[1]; window.__status.push([t, num(m[1])]); }
  };
  const start = () => new MutationObserver(check).observe(document.documentElement,
      {subtree: true, childList: true, characterData: true});
  if (document.documentElement) start(); else document.addEventListener("DOMContentLoaded", start);
})();
"""


# --- pure parts: timestamps -> figures (tests/test_bench_live_view.py) ---------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1), linear between the nearest ranks; nan for no values."""
    v = sorted(values)
    if not v:
        return math.nan
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def per_window(times: Sequence[float], start: float, end: float,
               window: float = 1000.0) -> list[int]:
    """How many of `times` fall in each whole window [start + k*window, start + (k+1)*window)
    before `end` (a partial last window is dropped)."""
    n = int((end - start) // window)
    counts = [0] * n
    for t in times:
        k = int((t - start) // window)
        if 0 <= k < n:
            counts[k] += 1
    return counts


def update_latencies(received: Sequence[Sequence[float]],
                     painted: Sequence[Sequence[float]]) -> tuple[list[float], int]:
    """For each painted step (t_painted, step): t_painted minus the arrival of the first
    message carrying that step, if it came no later. Returns (latencies, painted steps whose
    message was not seen)."""
    first: dict[int, float] = {}
    for t, step in received:
        step = int(step)
        if step not in first or t < first[step]:
            first[step] = t
    out, unmatched = [], 0
    for t, step in painted:
        r = first.get(int(step))
        if r is None or r > t:
            unmatched += 1
        else:
            out.append(t - r)
    return out, unmatched


def view_figures(received: Sequence[Sequence[float]], paints: Sequence[Sequence[float]],
                 start: float, end: float) -> dict[str, Any]:
    """Updates per second and latency of one live view. paints: (t_dom, t_painted, step);
    all times in ms; only paints inside [start, end) count."""
    inside = [(p[1], p[2]) for p in paints if start <= p[1] < end]
    windows = per_window([t for t, _ in inside], start, end)
    lat, unmatched = update_latencies(received, inside)
    dom = [p[1] - p[0] for p in paints if start <= p[1] < end]
    return {
        "seconds": (end - start) / 1000,
        "updates": len(inside),
        "updates_per_s_median": statistics.median(windows) if windows else math.nan,
        "updates_per_s_mean": len(inside) / ((end - start) / 1000) if end > start else math.nan,
        "updates_per_window": windows,
        "latency_ms_median": statistics.median(lat) if lat else math.nan,
        "latency_ms_p90": percentile(lat, 0.9),
        "latency_ms": summarize(lat) if lat else None,
        "latencies_unmatched": unmatched,
        "dom_to_painted_ms_median": statistics.median(dom) if dom else math.nan,
        "steps_shown": [s for _, s in inside][:1] + [s for _, s in inside][-1:],
    }


def steps_per_second(a: Sequence[float], b: Sequence[float]) -> float:
    """Steps/s between two (t_ms, step) readings."""
    dt = (b[0] - a[0]) / 1000
    return (b[1] - a[1]) / dt if dt > 0 else math.nan


def watch_figures(watched: Sequence[float], unwatched: Sequence[float]) -> dict[str, Any]:
    w = [x for x in watched if math.isfinite(x)]
    u = [x for x in unwatched if math.isfinite(x)]
    out: dict[str, Any] = {"watched_steps_per_s": w, "unwatched_steps_per_s": u,
                           "watched_median": statistics.median(w) if w else math.nan,
                           "unwatched_median": statistics.median(u) if u else math.nan}
    out["ratio_of_medians"] = (out["watched_median"] / out["unwatched_median"]
                               if w and u and out["unwatched_median"] else math.nan)
    pairs = [a / b for a, b in zip(w, u, strict=False) if b]
    out["paired_ratio_median"] = statistics.median(pairs) if pairs else math.nan
    return out


def session_figures(redraws: Sequence[Sequence[float]], start: float,
                    end: float) -> dict[str, Any]:
    """One websocket session's live view. redraws: (t_s, step) of every status line received
    (step -1 when it showed none); an update is a redraw whose step differs from the one
    before. Times in seconds; only [start, end) counts."""
    last, updates, times = None, [], []
    for t, step in redraws:
        if start <= t < end:
            times.append(t)
            if step >= 0 and last is not None and step != last:
                updates.append(t)
        if step >= 0:
            last = step
    secs = end - start
    gaps = [b - a for a, b in zip([start, *updates], [*updates, end], strict=True)]
    return {
        "redraws_per_s": len(times) / secs,
        "redraws_per_s_median_1s": statistics.median(per_window(times, start, end, 1.0)),
        "updates_per_s": len(updates) / secs,
        "updates_per_s_median_1s": statistics.median(per_window(updates, start, end, 1.0)),
        "windows_with_an_update": (sum(1 for c in per_window(updates, start, end, 1.0) if c)
                                   / max(1, int(secs))),
        "longest_without_update_s": max(gaps),
    }


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) that process pid has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the browser parts ----------------------------------------------------------------------------
def _now(page) -> float:
    return page.evaluate("performance.now()")


def _records(page) -> dict[str, list]:
    return page.evaluate("({recv: window.__recv, paint: window.__paint, "
                         "status: window.__status, nmsg: window.__nmsg, busy: window.__busy, "
                         "sends: window.__sends})")


def busy_fraction(busy: Sequence[Sequence[float]], start: float, end: float) -> float:
    """The share of [start, end) that the page's main thread spent in long tasks."""
    total = sum(max(0.0, min(end, t + d) - max(start, t)) for t, d in busy)
    return total / (end - start) if end > start else math.nan


def open_training(browser, url: str, query: str):
    """A fresh session (browser context) on Baby GPT with `query`, Train pressed."""
    from bench.server import VIEWPORT, wait_ready

    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.add_init_script(INSTRUMENT_JS)
    page = ctx.new_page()
    page.goto(f"{url}/baby_gpt?{query}", timeout=120_000)
    wait_ready(page, timeout=120_000)
    page.get_by_role("button", name=re.compile(r"Train [\d,]+ steps")).first.click()
    page.get_by_role("button", name=re.compile("Pause")).first.wait_for(timeout=60_000)
    return ctx, page


def measure_view(page, seconds: float, pid: int) -> dict[str, Any]:
    page.wait_for_timeout(2000)  # the full rerun after the click, and the first redraws
    start, cpu0 = _now(page), cpu_seconds(pid)
    page.wait_for_timeout(seconds * 1000)
    end, cpu1 = _now(page), cpu_seconds(pid)
    page.wait_for_timeout(500)  # paints of the last frame land
    rec = _records(page)
    out = view_figures(rec["recv"], rec["paint"], start, end)
    st = [s for s in rec["status"] if start <= s[0] < end]
    out["steps_per_s"] = steps_per_second(st[0], st[-1]) if len(st) > 1 else math.nan
    out["main_thread_busy_share"] = busy_fraction(rec["busy"], start, end)
    out["server_cores_busy"] = (cpu1 - cpu0) / ((end - start) / 1000)
    # where the time goes: reruns the page asked for, graphs the server sent, new steps in them
    secs = (end - start) / 1000
    out["reruns_requested_per_s"] = sum(start <= t < end for t in rec["sends"]) / secs
    got = [(t, s) for t, s in rec["recv"] if start <= t < end]
    out["graphs_received_per_s"] = len(got) / secs
    out["new_steps_received_per_s"] = len({s for _, s in got}) / secs
    # the server's CPU per graph it sent (its training thread's included)
    out["server_cpu_s_per_graph"] = (out["server_cores_busy"] / out["graphs_received_per_s"]
                                     if got else math.nan)
    # the raw trace, ms from the window's start: [arrived, step] and [painted, step]
    out["trace_received"] = [[round(t - start), s] for t, s in rec["recv"] if t >= start - 5000]
    out["trace_painted"] = [[round(p[1] - start), p[2]] for p in rec["paint"]
                            if start <= p[1] < end]
    return out


def _goto(page, title: str, h1: str) -> None:
    from bench.server import wait_ready

    page.locator(NAV, has_text=title).first.click(force=True)
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('h1')].some(h => h.textContent.includes(t))",
        arg=h1, timeout=120_000, polling=50)
    wait_ready(page, timeout=120_000)


def measure_watch(page, turns: int, seconds: float) -> dict[str, Any]:
    """Turns of watched then unwatched training on an already training Baby GPT page."""
    watched, unwatched = [], []
    for _ in range(turns):
        t0 = _now(page)
        page.wait_for_timeout(seconds * 1000)
        st = [s for s in _records(page)["status"] if s[0] >= t0]
        if len(st) < 2:
            continue
        watched.append(steps_per_second(st[0], st[-1]))
        a = st[-1]
        _goto(page, "Home", "gptviz")
        page.wait_for_timeout(seconds * 1000)
        t_back = _now(page)
        _goto(page, "Baby GPT", "Baby GPT")
        page.wait_for_function(
            "([t, s]) => window.__status.some(x => x[0] >= t && x[1] > s)", arg=[t_back, a[1]],
            timeout=60_000, polling=50)
        b = next(s for s in _records(page)["status"] if s[0] >= t_back and s[1] > a[1])
        unwatched.append(steps_per_second(a, b))
        page.wait_for_timeout(1000)  # the full run of the page's arrival is not watched time
    out = watch_figures(watched, unwatched)
    out["turns"], out["seconds_per_turn"] = turns, seconds
    return out


def run_browser(url: str, pid: int, seconds: float, turns: int, turn_seconds: float,
                parts: set[str]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from bench.server import CHROMIUM_ARGS, CHROMIUM_PATH

    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            for label, query in VIEWS.items():
                if "views" not in parts and not (label == "8 states" and "watch" in parts):
                    continue
                ctx, page = open_training(browser, url, query)
                try:
                    if "views" in parts:
                        out[label] = measure_view(page, seconds, pid)
                    if label == "8 states" and "watch" in parts:
                        out["watch"] = measure_watch(page, turns, turn_seconds)
                finally:
                    ctx.close()  # the session goes: its training stops
                time.sleep(1.0)
        finally:
            browser.close()
    return out


# --- the websocket sessions -----------------------------------------------------------------------
def _recording_session(interval: float | None = None):
    """bench.ws_client.Session that also keeps the time of every live fragment run's end, and
    asks for a live rerun every `interval` seconds instead of the page's run_every if given."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from bench.ws_client import Session

    class FragmentTimes(Session):
        def _handle(self, msg) -> None:
            if (msg.WhichOneof("type") == "script_finished"
                    and msg.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                self.__dict__.setdefault("fragment_ends", []).append(time.monotonic())
            super()._handle(msg)

        async def _tick(self, fragment_id: str, every: float) -> None:
            await super()._tick(fragment_id, interval or every)

    return FragmentTimes


async def _sessions(url: str, pid: int, n: int, seconds: float,
                    interval: float | None = None) -> dict[str, Any]:
    session = _recording_session(interval)
    clients = [session(url, "baby_gpt", f"baby_steps={LONG_RUN}") for _ in range(n)]
    try:
        for c in clients:
            await c.open()
        t_click = time.monotonic()
        for c in clients:  # all at once, nobody waiting for a redraw
            await c.click("Train", wait=False)
        # start once every session has finished a live redraw since its click (its full rerun
        # after the click is then over), at most 30 s later: past that the server is not
        # keeping up, and that is what the window measures
        def settled(c) -> bool:
            return any(t > t_click for t in c.__dict__.get("fragment_ends", []))

        while time.monotonic() - t_click < 30 and not all(settled(c) for c in clients):
            await asyncio.sleep(0.1)
        n_settled = sum(settled(c) for c in clients)
        start, cpu0 = time.monotonic(), cpu_seconds(pid)
        await asyncio.sleep(seconds)
        end, cpu1 = time.monotonic(), cpu_seconds(pid)
    finally:
        for c in clients:
            await c.close()
    per = [session_figures([(r.t, r.step) for r in c.redraws], start, end) for c in clients]
    runs = sum(start <= t < end for c in clients for t in c.__dict__.get("fragment_ends", []))
    for p, c in zip(per, clients, strict=True):
        p["steps"] = c.step
        p["exceptions"] = c.exceptions
    return {"sessions": n, "seconds": seconds, "warmup_s": start - t_click,
            "settled_before_window": n_settled,
            "client_rerun_interval_s": interval or "the page's run_every",
            "live_runs_finished_per_s_all_sessions": runs / (end - start),
            "server_cores_busy": (cpu1 - cpu0) / (end - start), "per_session": per,
            **{f"{k}_{agg.__name__}": agg(p[k] for p in per)
               for k in ("updates_per_s", "redraws_per_s", "windows_with_an_update",
                         "longest_without_update_s")
               for agg in (min, statistics.median, max)}}


async def _watch_ws(url: str, turns: int, seconds: float) -> dict[str, Any]:
    """measure_watch with a websocket client as the viewer: the server's share of the cost of
    watching, without a renderer on this machine. Unwatched: the live timer stopped (as a tab
    on another page); one fragment rerun at the end of the turn reads the step."""
    from bench.ws_client import Session

    s = Session(url, "baby_gpt", f"baby_steps={LONG_RUN}")
    watched, unwatched = [], []
    try:
        await s.open()
        t_click = time.monotonic()
        await s.click("Train", wait=False)
        while time.monotonic() - t_click < 60 and not (s._timers and s.redraws
                                                        and s.redraws[-1].t > t_click + 2):
            await asyncio.sleep(0.1)
        (fid, task), = s._timers.items()
        interval = task.interval
        for _ in range(turns):
            t0 = time.monotonic()
            await asyncio.sleep(seconds)
            seen = [(r.t * 1000, r.step) for r in s.redraws if r.t >= t0 and r.step >= 0]
            if len(seen) < 2:
                continue
            watched.append(steps_per_second(seen[0], seen[-1]))
            a = seen[-1]
            for t in s._timers.values():  # the tab leaves: no more live reruns
                t.cancel()
            s._timers.clear()
            await asyncio.sleep(seconds)
            n = len(s.redraws)
            await s.rerun(fragment_id=fid, auto=True)
            while len(s.redraws) == n and time.monotonic() - t0 < 120:
                await asyncio.sleep(0.01)
            r = s.redraws[n]
            unwatched.append(steps_per_second(a, (r.t * 1000, r.step)))
            if fid not in s._timers:  # back: the timer again (unless the server restarted it)
                task = asyncio.create_task(s._tick(fid, interval))
                task.interval = interval  # type: ignore[attr-defined]
                s._timers[fid] = task
            await asyncio.sleep(1.0)
    finally:
        await s.close()
    out = watch_figures(watched, unwatched)
    out["turns"], out["seconds_per_turn"] = turns, seconds
    return out


# --- the whole ------------------------------------------------------------------------------------
def run(quick: bool = False, parts: set[str] | None = None, sessions: int = 10,
        max_trainers: int | None = None, client_interval: float | None = None) -> dict[str, Any]:
    from bench.common import REPO_ROOT
    from bench.server import start_streamlit, stop_streamlit

    parts = parts or {"views", "watch", "sessions"}
    seconds = 4.0 if quick else 10.0
    turns, turn_seconds = (2, 3.0) if quick else (4, 5.0)
    session_seconds = 6.0 if quick else 20.0
    env = {"GPTVIZ_MAX_TRAINERS": str(max_trainers)} if max_trainers else {}
    from gptviz.live.slots import max_trainers_from_env

    out: dict[str, Any] = {"quick": quick, "parts": sorted(parts),
                           "max_trainers": max_trainers or max_trainers_from_env()}
    url, proc = start_streamlit(REPO_ROOT / "app.py", env=env)
    try:
        if parts & {"views", "watch"}:
            out.update(run_browser(url, proc.pid, seconds, turns, turn_seconds, parts))
        if "watch" in parts:
            out["watch_ws"] = run_async(_watch_ws(url, turns, turn_seconds))
        if "sessions" in parts:
            out["sessions"] = run_async(_sessions(url, proc.pid, sessions, session_seconds,
                                                    client_interval))
    finally:
        stop_streamlit(proc)
    out["verdict"] = verdict(out)
    return out


def verdict(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured median and whether it is met."""
    rows = []

    def add(target: str, measured: float, goal: float, higher: bool, unit: str) -> None:
        ok = (measured >= goal if higher else measured < goal) if math.isfinite(measured) else False
        rows.append({"target": target, "measured": measured, "goal": goal, "unit": unit,
                     "met": ok})

    if "8 states" in res:
        v = res["8 states"]
        add("8 states: updates/s (median of 1 s windows) >= 5", v["updates_per_s_median"], 5.0,
            True, "/s")
        add("8 states: message -> painted, median < 250 ms", v["latency_ms_median"],
            TARGET_8_LATENCY_MS, False, "ms")
    if "64 states" in res:
        add("64 states: updates/s (median of 1 s windows) >= 2",
            res["64 states"]["updates_per_s_median"], TARGET_64_UPDATES_PER_S, True, "/s")
    if "watch" in res:
        add("watched / unwatched steps/s (ratio of medians) >= 0.90",
            res["watch"]["ratio_of_medians"], TARGET_WATCHED_RATIO, True, "")
    if "sessions" in res:
        s = res["sessions"]
        add(f"{s['sessions']} sessions: each >= 1 update (new step)/s (the slowest)",
            s["updates_per_s_min"], TARGET_SESSION_UPDATES_PER_S, True, "/s")
        add(f"{s['sessions']} sessions: each >= 1 redraw/s (the slowest)",
            s["redraws_per_s_min"], TARGET_SESSION_UPDATES_PER_S, True, "/s")
    return rows


def report(res: dict[str, Any]) -> str:
    rows = [[r["target"], f"{r['measured']:.2f}{r['unit']}".replace("nan", "-"),
             "met" if r["met"] else "MISSED"] for r in res["verdict"]]
    lines = [table(rows, ["target", "measured", ""])]
    for label in VIEWS:
        if label in res:
            v = res[label]
            lines.append(f"{label}: {v['updates']} updates in {v['seconds']:.1f} s "
                         f"(mean {v['updates_per_s_mean']:.2f}/s), latency median "
                         f"{v['latency_ms_median']:.0f} ms, p90 {v['latency_ms_p90']:.0f} ms, "
                         f"{v['steps_per_s']:.0f} steps/s, browser main thread busy "
                         f"{v['main_thread_busy_share']:.0%}, server "
                         f"{v['server_cores_busy']:.2f} cores "
                         f"({v['server_cpu_s_per_graph']:.2f} CPU s per graph sent); reruns asked "
                         f"{v['reruns_requested_per_s']:.1f}/s, graphs received "
                         f"{v['graphs_received_per_s']:.1f}/s, new steps in them "
                         f"{v['new_steps_received_per_s']:.1f}/s")
    if "watch" in res:
        w = res["watch"]
        lines.append(f"watched {w['watched_median']:.1f} vs unwatched {w['unwatched_median']:.1f}"
                     f" steps/s (paired median ratio {w['paired_ratio_median']:.2f})")
    if "watch_ws" in res:
        w = res["watch_ws"]
        lines.append(f"watched by a websocket client (no renderer here) {w['watched_median']:.1f}"
                     f" vs unwatched {w['unwatched_median']:.1f} steps/s "
                     f"({w['ratio_of_medians']:.2f}; paired {w['paired_ratio_median']:.2f})")
    if "sessions" in res:
        s = res["sessions"]
        lines.append(f"{s['sessions']} sessions, {res['max_trainers']} training slots: updates/s "
                     f"min {s['updates_per_s_min']:.2f} median {s['updates_per_s_median']:.2f}; "
                     f"redraws/s min {s['redraws_per_s_min']:.2f} median "
                     f"{s['redraws_per_s_median']:.2f}; longest without a new step "
                     f"{s['longest_without_update_s_max']:.1f} s; live runs finished "
                     f"{s['live_runs_finished_per_s_all_sessions']:.2f}/s in all; server "
                     f"{s['server_cores_busy']:.2f} cores")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.live_view",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short samples (a smoke test)")
    p.add_argument("--parts", default="views,watch,sessions",
                   help="comma-separated: views, watch, sessions (default: all)")
    p.add_argument("--sessions", type=int, default=10, help="websocket sessions (default 10)")
    p.add_argument("--max-trainers", type=int, help="GPTVIZ_MAX_TRAINERS for the server")
    p.add_argument("--client-interval", type=float,
                   help="sessions part: each client asks for a live redraw every this many "
                        "seconds (default: the page's run_every, as a browser does)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="where live_view.json goes")
    a = p.parse_args(argv)
    parts = {x.strip() for x in a.parts.split(",") if x.strip()}
    if bad := parts - {"views", "watch", "sessions"}:
        p.error(f"unknown part(s): {', '.join(sorted(bad))}")
    info = machine()
    t0 = time.perf_counter()
    res = run(a.quick, parts, a.sessions, a.max_trainers, a.client_interval)
    path = write_json("live_view", {"part": "live_view", "machine": info,
                                    "load_average_after": list(os.getloadavg()),
                                    "seconds": time.perf_counter() - t0, "results": res}, a.out)
    print(report(res))
    print(f"\n(wrote {path}; load average {info['load_average']} -> {list(os.getloadavg())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
