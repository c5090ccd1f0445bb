"""Rapid interaction: click a training page's buttons much faster than a person can.

A websocket client (bench/ws_client.py) sends each click as soon as the last one is sent,
without waiting for the page to redraw, so several clicks reach the server while a run of the
page (and its callbacks) is still going: Train, Pause, One step and Reset of the same model at
once, Reset then Fine-tune, ten Quick-trains. Between pages it switches page in the same
session, as the sidebar's menu does. What the server logged is read afterwards: a traceback
there is a bug even when nothing reached the page.

    python -m bench.rapid_clicks [--clicks 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from dataclasses import dataclass

from bench.common import REPO_ROOT, run_async
from bench.server import start_streamlit, stop_streamlit
from bench.ws_client import Session

# what the server must never log (Streamlit logs a callback's or a script's exception there)
BAD_LOG = re.compile(r"Traceback|KeyError|RuntimeError")
RELEASED = re.compile(r"session released, stopped (\d+) training run")


@dataclass(frozen=True)
class Hammer:
    """A page and the buttons (label starts) to click on it, in random order."""

    page: str
    query: str
    labels: tuple[str, ...]


TRAINING = ("Train", "Pause", "One step", "Reset")
PAGES = (
    Hammer("baby_gpt", "baby_steps=300", TRAINING),
    Hammer("text_model", "", TRAINING),
    Hammer("tasks", "", TRAINING),
    Hammer("gpt1", "", (*TRAINING, "Fine-tune", "Stop fine-tuning")),
)


async def hammer(s: Session, labels: tuple[str, ...], clicks: int, rng: random.Random) -> int:
    """`clicks` fast clicks on random buttons of the open page; returns how many were sent."""
    sent = 0
    for _ in range(clicks):
        if await s.tap(rng.choice(labels)):
            sent += 1
        await asyncio.sleep(rng.uniform(0.0, 0.05))
    await s.rerun()  # as a person would, look at the page once the clicking stops
    await s.wait_run(120)
    return sent


async def _session(url: str, clicks: int, seed: int) -> dict:
    rng = random.Random(seed)
    s = Session(url, PAGES[0].page, PAGES[0].query)
    sent: dict[str, int] = {}
    try:
        await s.open()
        for h in PAGES:
            if h.page != s.page:
                s.query = h.query
                await s.switch(h.page)
            sent[h.page] = await hammer(s, h.labels, clicks, rng)
        # back to the first page while the others may still train, and hammer it again
        s.query = PAGES[0].query
        await s.switch(PAGES[0].page)
        sent["back"] = await hammer(s, TRAINING, clicks // 2, rng)
        return {"clicks_sent": sent, "page_exceptions": list(s.exceptions)}
    finally:
        await s.close()


async def _quick_train(url: str, clicks: int) -> dict:
    """Generate's Quick-train clicked `clicks` times at once; then the tab closes at once."""
    s = Session(url, "generate", "")
    try:
        await s.open()
        deadline = time.monotonic() + 30  # the button, should the first run not have shown it
        while not any(label.startswith("Quick-train") for label in s.buttons):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        runs_before = s.runs_finished
        sent = 0
        for _ in range(clicks):
            sent += await s.tap("Quick-train")
        # the clicks' run ends (a browser sends nothing more); then the page is looked at once.
        # This waited a fixed second before: in two CI runs the clicks' run had not finished
        # by then (its callback builds the model), the extra rerun cut it short, and the page
        # then said "no trained model" and no training run was released at the tab's close.
        await s.wait_run(120)
        await asyncio.sleep(1.0)
        await s.rerun()
        await s.wait_run(120)
        # the last run's texts and the live view's redraws after it (which add their own
        # caption: the last three were once all redraws, and the run's caption fell out)
        return {"page_exceptions": list(s.exceptions), "texts": s.texts[-40:],
                "taps_sent": sent, "runs_finished_after_taps": s.runs_finished - runs_before,
                "buttons": sorted(s.buttons)}
    finally:
        await s.close()


def released_counts(log: str) -> list[int]:
    """The training runs each closed session stopped, as the session guard logged them."""
    return [int(m) for m in RELEASED.findall(log)]


def run_rapid(clicks: int = 40, seed: int = 0) -> dict:
    """A server of its own; the clicking session, then Generate's Quick-train session."""
    url, proc = start_streamlit(REPO_ROOT / "app.py")
    try:
        t0 = time.monotonic()
        pages = run_async(_session(url, clicks, seed))
        t_pages = time.monotonic() - t0
        quick = run_async(_quick_train(url, 10))
        deadline = time.monotonic() + 20
        while len(released_counts(proc.log_path.read_text())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        log = proc.log_path.read_text(errors="replace")
    finally:
        stop_streamlit(proc)
    bad = [line for line in log.splitlines() if BAD_LOG.search(line)]
    return {"seconds_clicking": round(t_pages, 1), **pages, "quick_train": quick,
            "runs_stopped_at_close": released_counts(log), "bad_log_lines": bad[:20],
            "log_tail": log[-3000:] if bad else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clicks", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(json.dumps(run_rapid(a.clicks, a.seed), indent=2))


if __name__ == "__main__":
    main()
