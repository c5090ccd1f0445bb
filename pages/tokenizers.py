"""Tokenizers: how text becomes the numbers a GPT reads (documents 002 and 003)."""

from __future__ import annotations

import streamlit as st

from gptviz.i18n import N_, _
from gptviz.markup import escape_markdown
from gptviz.tokenizers import ByteTokenizer, Tokenizer, TokenizerError, tiktoken_encoding_names
from gptviz.viz.tokens import merges_table, spans_html, token_spans
from pages._entry import enter_through_app  # noqa: E402
from pages._instrument import no_live_view_here
from pages._tokenizer_ui import (
    builtin_bpe_corpus,
    builtin_char_tokenizer,
    show_tiktoken_unavailable,
    tiktoken_tokenizer,
    trained_bpe,
)

enter_through_app()
no_live_view_here()  # ?present=1 or ?hide=... links are for the live pages

P = "tok"  # widget-key prefix
DEFAULT_TEXT = "Hello, I am a student. Tokenization isn't magic: it's counting!"
KINDS = {  # shown with _()
    "gpt2": N_("GPT-2 (tiktoken)"),
    "tiktoken": N_("Other tiktoken encodings"),
    "chars": N_("Characters"),
    "bytes": N_("Bytes"),
    "bpe": N_("BPE trained here"),
}
BPE_SOURCES = {"builtin": N_("Built-in corpus (100 KB)"), "paste": N_("Text I paste")}
MIN_BPE_CHARS = 50

defaults = {f"{P}_text": DEFAULT_TEXT, f"{P}_kind": "gpt2", f"{P}_merges": 256,
            f"{P}_bpe_source": "builtin", f"{P}_bpe_text": "", f"{P}_show_ids": True}
for k, v in defaults.items():
    if k not in st.session_state:
        st.session_state[k] = v

st.title(_("Tokenizers: from text to numbers"))
st.markdown(_(
    "A GPT never sees letters. A **tokenizer** cuts the text into pieces (tokens) and gives each "
    "piece a number (its id); the model reads the ids and, at the end, an id is turned back "
    "into text. GPT-2 turns *Hello, I am* into **[15496, 11, 314, 716]** (document 002). "
    "Type below and try different tokenizers. **How to read it:** each coloured box is one "
    "token, with its id underneath; a space belongs to the word after it; ↵ is a new line. "
    "Fewer tokens per text means the model sees more text in its context window."
))

text = st.text_area(_("Your text"), key=f"{P}_text", height=110, max_chars=20_000)
kind = st.radio(_("Tokenizer"), list(KINDS), format_func=lambda k: _(KINDS[k]), key=f"{P}_kind",
                horizontal=True)

# --- the chosen tokenizer ---------------------------------------------------------------------
tokenizer: Tokenizer | None = None
bpe = None
if kind in ("gpt2", "tiktoken"):
    if kind == "gpt2":
        name = "gpt2"
        st.caption(_("GPT-2's byte-pair encoding: 50,257 tokens learned from web text "
                     "(GPT-3 uses the same vocabulary)."))
    else:
        others = [n for n in tiktoken_encoding_names() if n != "gpt2"]
        name = st.selectbox(_("Encoding"), others, key=f"{P}_encoding",
                            help="r50k_base = GPT-2/GPT-3, p50k_base = Codex, "
                                 "cl100k_base = GPT-3.5/GPT-4, o200k_base = GPT-4o.")
    tokenizer, problem = tiktoken_tokenizer(name)
    if problem:
        show_tiktoken_unavailable(problem, key=f"{P}_retry")
        st.info(_("Meanwhile, pick **{chars}**, **{bytes}** or **{bpe}** above: they need no "
                  "download.").format(chars=_(KINDS["chars"]), bytes=_(KINDS["bytes"]),
                                      bpe=_(KINDS["bpe"])))
        st.stop()
elif kind == "chars":
    tokenizer = builtin_char_tokenizer()
    st.caption(_("One token per character, over the {n} characters of the built-in corpus "
                 "(CPython's documentation).").format(n=tokenizer.vocab_size))
elif kind == "bytes":
    tokenizer = ByteTokenizer()
    st.caption(_("One token per UTF-8 byte: 256 tokens, any text at all. Letters outside "
                 "ASCII take 2 to 4 bytes each."))
else:
    c1, c2 = st.columns([1, 2])
    source = c1.radio(_("Train on"), list(BPE_SOURCES), key=f"{P}_bpe_source",
                      format_func=lambda k: _(BPE_SOURCES[k]))
    merges = c2.slider(_("Number of merges"), 0, 2000, key=f"{P}_merges", step=16,
                       help=_("Each merge adds one token to the 256 bytes."))
    if source == "paste":
        corpus = st.text_area(_("Training text"), key=f"{P}_bpe_text", height=140,
                              max_chars=300_000,
                              placeholder=_("Paste a few paragraphs (or a whole book chapter)."))
        if len(corpus.strip()) < MIN_BPE_CHARS:
            st.warning(_("Paste at least {n} characters of training text: the merges are "
                         "learned from it.").format(n=MIN_BPE_CHARS))
            st.stop()
    else:
        corpus = builtin_bpe_corpus()
    bpe, seconds = trained_bpe(corpus, int(merges))
    tokenizer = bpe
    st.caption(_(
        "Byte-pair encoding, learned here: start from the 256 bytes, then {merges} times merge "
        "the most frequent neighbouring pair into a new token (trained on {chars:,} characters "
        "in {seconds:.2f} s; vocabulary {vocab:,}). GPT-2 learned 50,000 merges the same way, "
        "from web text."
    ).format(merges=len(bpe.merges), chars=len(corpus), seconds=seconds, vocab=bpe.vocab_size))
    if len(bpe.merges) < merges:
        st.info(_("Only {n} merges were possible: after that every word of the training text is "
                  "a single token.").format(n=len(bpe.merges)))

assert tokenizer is not None

# --- encode, show, decode ---------------------------------------------------------------------
if not text:
    st.info(_("Type some text above to see its tokens."))
    st.stop()
try:
    ids = tokenizer.encode(text)
except TokenizerError as e:
    st.error(_("**This tokenizer cannot encode your text.** {error} A character tokenizer only "
               "knows the characters it was built from; bytes and BPE tokenizers know every "
               "text.").format(error=escape_markdown(e)),
             icon=":material/block:")
    st.stop()

decoded = tokenizer.decode(ids)
c = st.columns(4)
c[0].metric(_("Tokens"), f"{len(ids):,}")
c[1].metric(_("Characters"), f"{len(text):,}")
c[2].metric(_("Characters per token"), f"{len(text) / max(len(ids), 1):.2f}")
c[3].metric(_("Vocabulary size"), f"{tokenizer.vocab_size:,}")

show_ids = st.toggle(_("Show ids under the tokens"), key=f"{P}_show_ids")
MAX_SPANS = 3000
st.html(spans_html(token_spans(tokenizer, ids[:MAX_SPANS]), show_ids=show_ids))
if len(ids) > MAX_SPANS:
    st.caption(_("The first {shown:,} of {total:,} tokens are shown.").format(
        shown=MAX_SPANS, total=len(ids)))

st.subheader(_("The ids the model reads"))
st.code(str(ids), language=None, wrap_lines=True)

st.subheader(_("And back: decode(ids)"))
if decoded == text:
    st.success(_("decode(encode(text)) gives back exactly your text."), icon=":material/check:")
else:
    st.error(_("decode(encode(text)) differs from your text."), icon=":material/close:")
st.code(decoded, language=None, wrap_lines=True)

if bpe is not None:
    st.subheader(_("The {n} merges, in the order they were learned").format(n=len(bpe.merges)))
    st.markdown(_(
        "Row 1 is the pair that was most frequent in the training text; it became token 256. "
        "Later merges build on earlier ones (␣ is a space, ↵ a new line; \\xNN is a byte that "
        "is only part of a character). *Pairs in corpus* is how often the pair occurred when "
        "it was chosen."
    ))

    st.dataframe(merges_table(bpe), hide_index=True, height=360, width="stretch")
