"""Home: what gptviz teaches, and where to start."""

import streamlit as st

from gptviz.i18n import _
from pages._catalog import CATALOG
from pages._client_warm import warm_browser
from pages._entry import enter_through_app  # noqa: E402
from pages._instrument import no_live_view_here

enter_through_app()
no_live_view_here()  # ?present=1 or ?hide=... links are for the live pages

st.title(_("gptviz: build a small GPT and watch it learn"))
st.markdown(_(
    "A GPT reads a sequence of tokens and gives a probability for every possible next token. "
    "Nothing more: everything else is how it is trained and how it is used. Here you build "
    "small GPTs, train them live on this computer, and look inside while they learn."
))

sections: dict[str, list] = {}
for info in CATALOG:
    sections.setdefault(info.section, []).append(info)
for section, infos in sections.items():
    st.subheader(_(section))
    cols = st.columns(3)
    for i, info in enumerate(infos):
        with cols[i % 3].container(border=True, height="stretch"):
            st.page_link(info.path, label=f"**{_(info.title)}**", icon=info.icon)
            st.write(_(info.blurb))

st.markdown(_(
    "**In class.** Open a page, press **Train**, and talk over the pictures: the loss falls "
    "toward the lowest value the data allows, the arrows of the state graph move toward the "
    "data's own frequencies, and the attention heatmaps show which earlier tokens each position "
    "reads. Every page explains its figures underneath them."
))

warm_browser()  # the chart code loads in this tab while the home page is read (draws nothing)
