"""gptviz: build a small GPT, train it live, and watch it learn. Entry point and navigation."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from gptviz.i18n import _
from pages import _warm
from pages._catalog import CATALOG
from pages._entry import mark_entered
from pages._i18n import choose_language, language_switch
from pages._restart import restart_note

mark_entered()  # this run comes through app.py (pages/_entry.py)
st.set_page_config(page_title="gptviz: watch a GPT learn", page_icon=":material/neurology:",
                   layout="wide")


# GPT-2's vocabulary fetched once by scripts/fetch_test_data.py works offline without setup
_cache = Path(__file__).parent / ".cache" / "tiktoken"
if _cache.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_cache))

choose_language()  # before any text: every _() below is in this run's language
home = st.Page("pages/home.py", title=_("Home"), icon=":material/home:", default=True)
sections: dict[str, list[st.Page]] = {"": [home]}
for info in CATALOG:
    sections.setdefault(_(info.section), []).append(
        st.Page(info.path, title=_(info.title), icon=info.icon))
page = st.navigation(sections)
language_switch()
restart_note()  # a tab that comes back from a server that went away
if page is not home:
    _warm.wait()  # every other page draws figures: only once the heavy imports are complete
if _warm.done():  # a session holds a model only once it has been on a page that waited
    from pages._unload import unload_guard  # imports torch: never before the home page draws

    unload_guard()  # the browser asks before a reload throws a trained model away
page.run()
# torch, pandas, plotly: imported in the background from the end of the first run, so that they
# take nothing from the home page's own drawing and are ready (or nearly) by the next click
_warm.start()
if page is not home:  # torch._dynamo for the first optimizer, while the browser draws this page
    _warm.start_training()
