"""Streamlit pieces shared by the Tokenizers and Forward pass pages."""

from __future__ import annotations

import streamlit as st

from gptviz.corpus import builtin_corpus
from gptviz.i18n import N_, _
from gptviz.tokenizers import (
    BPETokenizer,
    CharTokenizer,
    TiktokenTokenizer,
    TokenizerUnavailable,
)

FAILURES_KEY = "tokui_tiktoken_failures"  # per session: encoding name -> message
BPE_CORPUS_CHARS = 100_000  # the built-in corpus is cut here so training takes about a second


@st.cache_resource(show_spinner=False)
def _tiktoken(name: str) -> TiktokenTokenizer:
    # read-only once built, so one copy serves every session; failures raise and are not cached
    return TiktokenTokenizer(name)


def tiktoken_tokenizer(name: str) -> tuple[TiktokenTokenizer | None, str | None]:
    """The tiktoken encoding, or None and the message that says why not.

    A failure is remembered for this session, so that an offline classroom does not retry the
    download on every click; `retry_tiktoken` forgets it.
    """
    failures: dict[str, str] = st.session_state.setdefault(FAILURES_KEY, {})
    if name in failures:
        return None, failures[name]
    try:
        with st.spinner(_("Loading the tokenizer's vocabulary...")):
            return _tiktoken(name), None
    except TokenizerUnavailable as e:
        failures[name] = str(e)
        return None, str(e)


def retry_tiktoken() -> None:
    st.session_state.pop(FAILURES_KEY, None)


def show_tiktoken_unavailable(message: str, key: str) -> None:
    """The plain-words paragraph as a warning, the exact file names below it, and a retry."""
    summary, *details = message.split("\n\n")
    st.warning(summary, icon=":material/cloud_off:")
    if details:
        with st.expander(_("How to make it work offline")):
            went_wrong = _("What went wrong: {error}").split("{error}")[0]
            for part in details:
                if part.startswith(("What went wrong:", went_wrong)):
                    st.text(part)  # an error message from requests: plain text, no markdown
                else:
                    st.markdown(part)
    st.button(_("Try the download again"), key=key, on_click=retry_tiktoken,
              icon=":material/refresh:")


@st.cache_resource
def builtin_char_tokenizer() -> CharTokenizer:
    # the name is shown translated, with _(tokenizer.name)
    return CharTokenizer.from_text(builtin_corpus(), name=N_("characters (built-in corpus)"))


@st.cache_data(max_entries=1)
def builtin_bpe_corpus() -> str:
    return builtin_corpus()[:BPE_CORPUS_CHARS]


def trained_bpe(text: str, num_merges: int) -> tuple[BPETokenizer, float]:
    """A BPE tokenizer trained on text, and how long training took (seconds)."""
    with st.spinner(_("Learning merges...")):
        return _trained_bpe(text, num_merges)


@st.cache_resource(max_entries=16, show_spinner=False)
def _trained_bpe(text: str, num_merges: int) -> tuple[BPETokenizer, float]:

    import time

    t0 = time.perf_counter()
    tok = BPETokenizer.train(text, num_merges)
    return tok, time.perf_counter() - t0
