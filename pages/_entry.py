"""Every page enters through app.py, even when the first visit is a direct link to the page.

Streamlit (1.67) starts each server process in its old "pages directory" mode because a pages/
folder sits beside app.py, and leaves it only when app.py calls st.navigation. So if the first
visitor after a (re)start opens a shared link such as /baby_gpt?context=4, Streamlit runs
pages/baby_gpt.py without app.py: no page config, no one-thread torch setting (training then
ran 10-20x slower here), no wait for the background imports, and a sidebar listing every file
in pages/ (_live, _catalog, ...). Checked in tests/e2e/test_app.py. The flag below is
Streamlit's own switch for that mode (st.navigation sets it the same way); a rerun then goes
through app.py, whose navigation resolves the same URL to the same page, query parameters and
all.

Several first visitors at once (a class opening the teacher's link on a fresh server): each of
their first runs started in that mode, but only the first to get here sees the flag still set.
So app.py marks each run it starts (`mark_entered`), and a run of the app that did not come
through app.py turns the flag off and reruns, whatever the flag says by then. (Before, the
other visitors' pages drew while the first one's background import of pandas was half done:
"partially initialized module 'pandas'", tests/e2e/test_churn_gpt1.py.) A page run alone, as
AppTest.from_file does with a page file, is its own main script and is left as it is.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

import streamlit as st

APP = Path(__file__).resolve().parents[1] / "app.py"
_entered: ContextVar[bool] = ContextVar("gptviz_entered_through_app", default=False)


def mark_entered() -> None:
    """Call first in app.py: this script run comes through app.py."""
    _entered.set(True)


def _app_run_without_app() -> bool:
    """Whether this run belongs to app.py's app but did not start in app.py."""
    if _entered.get():
        return False
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx is not None and Path(ctx.main_script_path).resolve() == APP


def enter_through_app() -> None:
    """Call first in every page: rerun through app.py if Streamlit ran this page on its own."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the old mode: nothing to do
        return
    if _app_run_without_app():  # in that mode, or begun in it before another visitor left it
        PagesManager.uses_pages_directory = False
        st.rerun()
