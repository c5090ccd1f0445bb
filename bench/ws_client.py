"""A Streamlit client that speaks the app's websocket protocol, without a browser.

A browser tab talks to the server over one websocket: it sends BackMsg protobufs (run the
page, with these widget values; rerun fragment F) and receives ForwardMsg protobufs (the
elements of each run, `auto_rerun` timers for `run_every` fragments, `script_finished`). This
client does what a tab does for our pages, and nothing that needs a renderer:

- `open()` connects to /_stcore/stream and asks for a page (its URL path and query string);
- `click(label)` sends a button's trigger, found by its label in the elements received;
- `auto_rerun` messages start timers that rerun the fragment, exactly as the frontend's
  `setInterval` does (`stop_auto_rerun` clears them), so a live view keeps ticking;
- every `st.progress` element received is recorded with its time: that is one redraw of a
  live view, and its text holds the step count.

Ten of these cost the load generator almost nothing, so a load test on a 2-core machine
measures the server rather than ten Chromium renderers fighting it for the same cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

STEP_RE = re.compile(r"Step ([\d,]+)")


@dataclass
class Redraw:
    t: float  # time.monotonic() when the progress element arrived
    text: str

    @property
    def step(self) -> int:
        m = STEP_RE.search(self.text)
        return int(m.group(1).replace(",", "")) if m else -1


@dataclass
class Session:
    """One simulated browser tab."""

    base_url: str  # http://127.0.0.1:PORT
    page: str = ""  # the URL path of the page, e.g. "baby_gpt"
    query: str = ""  # without "?"
    cookie: str = ""  # a Cookie header, e.g. nginx's sticky-session key (deploy/)
    ws: websockets.ClientConnection | None = None
    buttons: dict[str, str] = field(default_factory=dict)  # label -> widget id
    redraws: list[Redraw] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # markdown/alert bodies, newest last
    runs_finished: int = 0
    page_script_hash: str = ""  # the page's, from the server's `navigation` message
    # elements drawn in a run whose navigation was Streamlit's own listing of pages/ (its old
    # "pages directory" mode, a page run without app.py: pages/_entry.py), not app.py's
    elements_outside_app: int = 0
    app_navigation: bool = False  # the latest navigation message was app.py's
    first_element_s: float | None = None  # from open() to the first element
    first_finished_s: float | None = None  # from open() to the end of the first run
    closed_at: float | None = None  # time.monotonic() when the server closed the connection
    _timers: dict[str, asyncio.Task] = field(default_factory=dict)
    _reader: asyncio.Task | None = None
    _t_open: float = 0.0
    _finished: asyncio.Event = field(default_factory=asyncio.Event)

    async def open(self, timeout: float = 120.0) -> None:
        parts = urlsplit(self.base_url)
        self._t_open = time.monotonic()
        self.ws = await websockets.connect(
            f"ws://{parts.netloc}/_stcore/stream", subprotocols=["streamlit"],
            origin=self.base_url, max_size=None, open_timeout=timeout, ping_interval=None,
            additional_headers={"Cookie": self.cookie} if self.cookie else None)
        self._reader = asyncio.create_task(self._read())
        await self.rerun()
        await self.wait_run(timeout)

    async def rerun(self, triggers: tuple[str, ...] = (), fragment_id: str = "",
                    auto: bool = False) -> None:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        # as the frontend does: the page by its URL name until the server names its hash
        cs.page_script_hash = self.page_script_hash
        cs.page_name = "" if self.page_script_hash else self.page
        cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        for wid in triggers:
            w = cs.widget_states.widgets.add()
            w.id = wid
            w.trigger_value = True
        if not fragment_id:
            self._finished.clear()
        await self.ws.send(msg.SerializeToString())

    async def click(self, label_start: str, wait: bool = True, timeout: float = 120.0) -> None:
        wid = next((i for label, i in self.buttons.items() if label.startswith(label_start)),
                   None)
        if wid is None:
            raise LookupError(f"no button {label_start!r} among {list(self.buttons)}")
        await self.rerun((wid,))
        if wait:
            await self.wait_run(timeout)

    async def tap(self, label_start: str) -> bool:
        """Send a button's trigger without waiting for the run (a fast click); False when no
        button with that label has been seen yet."""
        wid = next((i for label, i in self.buttons.items() if label.startswith(label_start)),
                   None)
        if wid is not None:
            await self.rerun((wid,))
        return wid is not None

    async def switch(self, page: str, timeout: float = 120.0) -> None:
        """Go to another page of the app in this session (the sidebar's menu), and wait."""
        self.page, self.page_script_hash = page, ""
        self.buttons.clear()
        await self.rerun()
        await self.wait_run(timeout)

    async def wait_run(self, timeout: float) -> None:
        await asyncio.wait_for(self._finished.wait(), timeout)

    async def close(self) -> None:
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    @property
    def step(self) -> int:
        return self.redraws[-1].step if self.redraws else -1

    # --- incoming ---------------------------------------------------------------------------
    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                try:
                    self._handle(msg)
                except Exception as e:  # a bug of this client: keep reading, and say so
                    self.exceptions.append(f"client: {type(e).__name__}: {e}")
        self.closed_at = time.monotonic()  # the server (or a proxy) ended the connection

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        now = time.monotonic()
        if kind == "navigation":
            self.page_script_hash = msg.navigation.page_script_hash
            # the old mode lists app.py itself ("app") and every file in pages/ ("entry",
            # "live", ...); app.py's st.navigation lists the catalog's pages
            self.app_navigation = not any(p.page_name == "app"
                                           for p in msg.navigation.app_pages)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            if not self.app_navigation:
                self.elements_outside_app += 1
            if self.first_element_s is None:
                self.first_element_s = now - self._t_open
            el = msg.delta.new_element
            which = el.WhichOneof("type")
            if which == "button":
                self.buttons[el.button.label] = el.button.id
            elif which == "progress":
                self.redraws.append(Redraw(now, el.progress.text))
            elif which == "exception":
                self.exceptions.append(f"{el.exception.type}: {el.exception.message}")
            elif which in ("markdown", "alert"):
                self.texts.append(getattr(el, which).body)
                del self.texts[:-200]
        elif kind == "script_finished":
            status = msg.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return  # e.g. pages/_entry.py's rerun through app.py: the real run follows
            if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                return  # a live redraw, not the end of the run a click started
            if self.first_finished_s is None:
                self.first_finished_s = now - self._t_open
            self.runs_finished += 1
            self._finished.set()
        elif kind == "auto_rerun":
            fid, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            old = self._timers.get(fid)
            if old is not None and getattr(old, "interval", None) == interval:
                return
            if old is not None:
                old.cancel()
            task = asyncio.create_task(self._tick(fid, interval))
            task.interval = interval  # type: ignore[attr-defined]
            self._timers[fid] = task
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                t = self._timers.pop(fid, None)
                if t is not None:
                    t.cancel()

    async def _tick(self, fragment_id: str, interval: float) -> None:
        """The frontend's setInterval: rerun the fragment every `interval` seconds."""
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(interval)
                await self.rerun(fragment_id=fragment_id, auto=True)
