"""The app as `streamlit run app.py` serves it, plus the live-training pages its catalog does
not list yet (pages/text_model.py until the lead adds it): the benchmark's entry point.

Same start-up as app.py (one torch thread per process, the catalog's navigation); page paths
are absolute because this script's own folder is bench/.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import torch

from pages._catalog import CATALOG

ROOT = Path(__file__).resolve().parents[1]
EXTRA = [("pages/text_model.py", "Train on text", ":material/article:")]

st.set_page_config(page_title="gptviz: watch a GPT learn", page_icon=":material/neurology:",
                   layout="wide")


@st.cache_resource
def _configure_torch() -> None:
    torch.set_num_threads(1)  # as app.py


_configure_torch()
sections: dict[str, list[st.Page]] = {"": [
    st.Page(ROOT / "pages/home.py", title="Home", icon=":material/home:", default=True)]}
for info in CATALOG:
    sections.setdefault(info.section, []).append(
        st.Page(ROOT / info.path, title=info.title, icon=info.icon))
listed = {info.path for info in CATALOG}
for path, title, icon in EXTRA:
    if path not in listed and (ROOT / path).exists():
        sections.setdefault("Not in the catalog yet", []).append(
            st.Page(ROOT / path, title=title, icon=icon))
st.navigation(sections).run()
