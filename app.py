"""gptviz: build a small GPT, train it live, and watch it learn. Entry point and navigation."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

import pages._preload  # noqa: F401  first: heavy imports once, and torch on one thread
from pages._catalog import CATALOG
from pages._restart import restart_note
from pages._unload import unload_guard

st.set_page_config(page_title="gptviz: watch a GPT learn", page_icon=":material/neurology:",
                   layout="wide")


# GPT-2's vocabulary fetched once by scripts/fetch_test_data.py works offline without setup
_cache = Path(__file__).parent / ".cache" / "tiktoken"
if _cache.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_cache))

sections: dict[str, list[st.Page]] = {"": [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)]}
for info in CATALOG:
    sections.setdefault(info.section, []).append(
        st.Page(info.path, title=info.title, icon=info.icon))
page = st.navigation(sections)
restart_note()  # a tab that comes back from a server that went away
unload_guard()  # the browser asks before a reload throws a trained model away
page.run()
