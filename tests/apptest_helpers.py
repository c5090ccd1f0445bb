"""Helpers shared by the AppTests of the pages (tests/test_page_*.py).

A plain module, not a conftest, so that every test file says what it uses:

    from tests.apptest_helpers import button, page_session, wait_done

What is here: opening a page with a session state and releasing it afterwards, finding a
button, waiting for a background run to finish (failing clearly when it does not), and reading
the plotly and graphviz figures that AppTest returns as unknown elements (their `.proto.spec`
holds the figure's JSON or DOT source).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"


class Running(Protocol):
    """Something that works in a background thread: a LiveRun, a ComparisonJob."""

    @property
    def running(self) -> bool: ...


# --- opening a page -------------------------------------------------------------------------
def page_path(name: str) -> str:
    """The path of pages/<name>.py (name without ".py"), as AppTest.from_file wants it."""
    return str(PAGES_DIR / f"{name}.py")


def open_page(name: str, *, timeout: float = 60,
              session_state: Mapping[str, Any] | None = None) -> AppTest:
    """Run pages/<name>.py once in a new AppTest, with session_state set before the first run.

    timeout (seconds) becomes the AppTest's default for this and every later `at.run()`.
    """
    at = AppTest.from_file(page_path(name), default_timeout=timeout)
    for key, value in (session_state or {}).items():
        at.session_state[key] = value
    return at.run()


def stop_runs(at: AppTest, *keys: str) -> None:
    """Stop the background work kept in session_state under each key, where there is any.

    A value may be a LiveRun (paused), a job with `stop` (stopped), or a dict of them (as the
    Sorting & addition page keeps one run per task). Missing keys are skipped.
    """
    for key in keys:
        if key not in at.session_state:
            continue
        value = at.session_state[key]
        for obj in value.values() if isinstance(value, dict) else [value]:
            if obj is None:
                continue
            (obj.pause if hasattr(obj, "pause") else obj.stop)()


@contextmanager
def page_session(name: str, *, timeout: float = 60, stop: tuple[str, ...] = (),
                 session_state: Mapping[str, Any] | None = None) -> Iterator[AppTest]:
    """open_page(name, ...), then afterwards stop_runs(at, *stop) and clear st.cache_resource.

    Session-scoped resources are not released at the end of an AppTest, so without the clear a
    later test would find this one's. Use it in a fixture:

        @pytest.fixture
        def at() -> Iterator[AppTest]:
            with page_session("baby_gpt", stop=("baby_run",)) as at:
                yield at
    """
    at = None
    try:
        at = open_page(name, timeout=timeout, session_state=session_state)
        yield at
    finally:
        if at is not None:
            stop_runs(at, *stop)
        st.cache_resource.clear()


def fresh_caches(*, data: bool = False) -> Iterator[None]:
    """Clear st.cache_resource (and st.cache_data if data) before and after a test.

    A generator for an autouse fixture: `yield from fresh_caches(data=True)`.
    """
    st.cache_resource.clear()
    if data:
        st.cache_data.clear()
    yield
    st.cache_resource.clear()
    if data:
        st.cache_data.clear()


# --- widgets --------------------------------------------------------------------------------
def button(at: AppTest, label: str, *, exact: bool = False) -> Button:
    """The first button whose label starts with label (is label, if exact)."""
    for b in at.button:
        if b.label == label or (not exact and b.label.startswith(label)):
            return b
    raise AssertionError(f"no button labelled {label!r}; buttons: {[b.label for b in at.button]}")


# --- waiting for background work ------------------------------------------------------------
def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll condition every 50 ms until it holds; fail the test if timeout seconds pass first.

    what: the awaited event in words, for the failure message ("the run to begin").
    """
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def wait_done(at: AppTest, job: Running, *, timeout: float = 60,
              until: Callable[[], bool] | None = None, pause: bool = False,
              what: str = "training to finish") -> None:
    """Wait until job (a LiveRun or a ComparisonJob) stops running, then rerun the page.

    until: stop waiting as soon as it returns True, even while the job still runs (with
    pause=True the job is then paused). Fails the test, saying what it waited for, if neither
    happens within timeout seconds; never returns silently on a timeout.
    """
    wait_for(lambda: not job.running or (until is not None and until()), timeout=timeout,
             what=what)
    if pause:
        job.pause()  # type: ignore[attr-defined]
    at.run()


# --- figures --------------------------------------------------------------------------------
def graph_source(at: AppTest) -> str:
    """The DOT source of the last graphviz chart on the page."""
    return at.get("graphviz_chart")[-1].proto.spec


def plotly_specs(at: AppTest) -> list[str]:
    """The JSON source of every plotly chart on the page, in page order."""
    return [c.proto.spec for c in at.get("plotly_chart")]


def figure(at: AppTest, words: str) -> dict:
    """The first plotly figure whose title contains words, or whose element id (its key) does."""
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        if words in c.proto.id or words in json.dumps(spec.get("layout", {}).get("title", "")):
            return spec
    raise AssertionError(f"no figure titled with {words!r}")


def figures_by_title(at: AppTest) -> dict[str, dict]:
    """Every plotly figure on the page by its title's text (a later one wins a shared title)."""
    out = {}
    for spec in map(json.loads, plotly_specs(at)):
        out[spec["layout"]["title"]["text"]] = spec
    return out


def array(value: Any) -> np.ndarray:
    """A plotly JSON array: a list, or plotly 7's typed array {"dtype", "bdata", "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = [int(n) for n in shape.split(",")]
        return a.reshape(shape) if shape else a
    return np.array(value, dtype=float)
