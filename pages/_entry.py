"""Every page enters through app.py, even when the first visit is a direct link to the page.

Streamlit (1.67) starts each server process in its old "pages directory" mode because a pages/
folder sits beside app.py, and leaves it only when app.py calls st.navigation. So if the first
visitor after a (re)start opens a shared link such as /baby_gpt?context=4, Streamlit runs
pages/baby_gpt.py without app.py: no page config, no one-thread torch setting (training then
ran 10-20x slower here), and a sidebar listing every file in pages/ (_live, _catalog, ...).
Checked in tests/e2e/test_app.py. The flag below is Streamlit's own switch for that mode
(st.navigation sets it the same way); a rerun then goes through app.py, whose navigation
resolves the same URL to the same page, query parameters and all.
"""

from __future__ import annotations

import streamlit as st


def enter_through_app() -> None:
    """Call first in every page: rerun through app.py if Streamlit ran this page on its own."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the old mode: nothing to do
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
