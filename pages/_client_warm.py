"""The browser's share of a first visit, paid while the home page is read.

Streamlit's browser code loads the JavaScript of each kind of element the first time a page
shows one, and compiles it: plotly charts (4.7 MB), graphviz drawings, the data table with its
Arrow code (1.2 MB), code blocks (1.6 MB), each kind of widget. On this 2-core machine, with
only the charts' two chunks loaded here, Baby GPT's first visit took a median 3.1 s; with all
of these, 1.6 s (5 rounds each, quiet machine, the server otherwise unchanged; bench app). The
home page mounts this invisible component, whose script imports those chunks in the
background: a browser keeps one instance of an ES module per URL, so when a page then draws
its first element of a kind, Streamlit's own import finds the module already evaluated. If a
chunk is not found (another Streamlit build), it is left out; if an import fails, the page
loads it as before. tests/e2e/test_app.py checks that Baby GPT then fetches no script at all.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import streamlit as st

# Streamlit's lazily loaded element chunks that the training pages use and the home page does
# not (found by listing the scripts each page's first visit fetched, bench/browser.py): charts,
# the data table (with its Arrow code), code blocks and the widgets. Each loads what it imports.
CHUNKS = ("PlotlyChart", "GraphVizChart", "DataFrame", "StreamlitSyntaxHighlighter",
          "NumberInput", "TextInput", "TextArea", "Selectbox", "Multiselect", "Checkbox",
          "Slider", "ButtonGroup", "Button", "DownloadButton", "FileUploader", "Progress",
          "Html")


@cache
def chunk_urls() -> tuple[str, ...]:
    """The chunks' paths under the app's base URL, as this Streamlit build names them."""
    static = Path(st.__file__).parent / "static" / "static" / "js"
    return tuple(f"static/js/{p.name}" for name in CHUNKS
                 for p in sorted(static.glob(f"{name}.*.js"))[:1])


_JS = """
const URLS = %s;
export default function () {
  const key = "__gptvizWarm";
  if (window[key]) return;
  window[key] = true;
  const load = () => {
    for (const path of URLS) {
      import(/* @vite-ignore */ new URL(path, document.baseURI).href).catch(() => {});
    }
  };
  if ("requestIdleCallback" in window) requestIdleCallback(load, { timeout: 1500 });
  else setTimeout(load, 300);
}
"""


@cache
def _component():  # registered once per process; the paths are Streamlit's own file names
    return st.components.v2.component("gptviz_client_warm", html="<span></span>",
                                      js=_JS % json.dumps(list(chunk_urls())))


def warm_browser() -> None:
    """Start loading the chart code in the browser (once per tab); draws nothing."""
    urls = chunk_urls()
    if urls:
        # no `data`: the mount would check it for a dataframe, which imports pandas (1 s)
        _component()(key="gptviz_client_warm")
