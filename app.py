"""gptviz: build a small GPT, train it live, and watch it learn. Entry point and navigation."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
import torch

from pages._catalog import CATALOG

st.set_page_config(page_title="gptviz: watch a GPT learn", page_icon=":material/neurology:",
                   layout="wide")


@st.cache_resource
def _configure_torch() -> None:
    # process-wide and shared by every session: one thread per trainer keeps a 2-core host
    # responsive while several students train at once (and avoids OpenMP threads spinning
    # against each other, which made small models many times slower here)
    torch.set_num_threads(1)


_configure_torch()

# GPT-2's vocabulary fetched once by scripts/fetch_test_data.py works offline without setup
_cache = Path(__file__).parent / ".cache" / "tiktoken"
if _cache.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_cache))

sections: dict[str, list[st.Page]] = {"": [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)]}
for info in CATALOG:
    sections.setdefault(info.section, []).append(
        st.Page(info.path, title=info.title, icon=info.icon))
st.navigation(sections).run()
