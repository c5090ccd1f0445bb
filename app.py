"""gptviz: build a small GPT, train it live, and watch it learn. Entry point and navigation."""

from __future__ import annotations

import streamlit as st
import torch

st.set_page_config(page_title="gptviz: watch a GPT learn", page_icon=":material/neurology:",
                   layout="wide")


@st.cache_resource
def _configure_torch() -> None:
    # process-wide and shared by every session: one thread per trainer keeps a 2-core host
    # responsive while several students train at once
    torch.set_num_threads(1)


_configure_torch()

home = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
pages = {
    "": [home],
    "Watch a GPT learn": [
        st.Page("pages/baby_gpt.py", title="Baby GPT (Markov chain)", icon=":material/hub:"),
    ],
}
st.navigation(pages).run()
