"""The browser's share of a first visit, paid while the home page is read.

Streamlit's browser code loads the JavaScript for plotly charts (4.7 MB) and graphviz drawings
the first time a page shows one, and compiles it: on this 2-core machine that took 1.5 to 4 s
of a training page's first visit after the server had finished its run (bench app). The home
page mounts this invisible component, whose script imports those two chunks in the background:
a browser keeps one instance of an ES module per URL, so when a page then draws its first chart
Streamlit's own import finds the module already evaluated. If the chunks are not found (another
Streamlit build), nothing is mounted; if the import fails, the page loads them as before.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import streamlit as st

CHUNKS = ("PlotlyChart", "GraphVizChart")  # Streamlit's lazily loaded element chunks


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
