"""Home: what gptviz teaches, and where to start."""

import streamlit as st

st.title("gptviz: build a small GPT and watch it learn")
st.markdown(
    """
A GPT reads a sequence of tokens and gives a probability for every possible next token.
Nothing more: everything else is how it is trained and how it is used. Here you build small
GPTs, train them live on this computer, and look inside while they learn.
"""
)
st.page_link("pages/baby_gpt.py", label="**Baby GPT**: a GPT with 2 tokens and a context of 3 "
             "is a Markov chain with 8 states. Train it on a bit sequence and watch the "
             "state graph change (document 000).", icon=":material/hub:")
st.markdown(
    """
**How to use it in class.** Open a page, press *Train*, and talk over the pictures: the loss
falls toward the lowest value the data allows, the arrows of the state graph move toward the
data's own frequencies, and the attention heatmaps show which earlier tokens each position reads.
Every page explains its figures underneath them.
"""
)
