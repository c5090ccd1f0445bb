"""gptviz: build a small GPT, train it live, and watch it learn. Entry point and navigation."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

import pages._entry  # noqa: F401  imported here, never at the same time as the warm-up
import pages._preload as _preload
from pages._catalog import CATALOG

st.set_page_config(page_title="gptviz: watch a GPT learn", page_icon=":material/neurology:",
                   layout="wide")


# GPT-2's vocabulary fetched once by scripts/fetch_test_data.py works offline without setup
_cache = Path(__file__).parent / ".cache" / "tiktoken"
if _cache.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_cache))

home = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
sections: dict[str, list[st.Page]] = {"": [home]}
for info in CATALOG:
    sections.setdefault(info.section, []).append(
        st.Page(info.path, title=info.title, icon=info.icon))
page = st.navigation(sections)

# torch, plotly, pandas, the pages' modules: imported by one background thread that the first
# run in this server process starts (pages/_preload.py). The home page needs none of it: it
# draws first, then the warm-up starts. Every other page waits for its end: torch on one thread
# before anything trains, and no import racing the warm-up's.
if page is home:
    try:
        page.run()
        # the browser loads the other pages' element code while the student reads
        st.html(_preload.browser_warm_up_html(), unsafe_allow_javascript=True)
    finally:
        _preload.start()
else:
    if not _preload.done.is_set():
        with st.spinner("Loading PyTorch and the plotting libraries (once per server start)…"):
            _preload.wait()
    page.run()
