"""The heavy imports, torch's thread count and the shared read-only data, warmed once per
server process in a background thread, so that the first page draws without waiting for them.

app.py calls `start()` on every run of the home page, once the page has run, and `wait()`
(which starts it too) before running any other page. The first call in the process (the first
browser that connects after `streamlit run app.py`; Streamlit runs no app code before that)
starts one daemon thread, later calls do nothing (under AppTest the warm-up runs before
start() returns). The home page needs none of it and draws at once; every other page runs only
once the warm-up is done, so:

- torch runs on one thread before any training: the warm-up calls torch.set_num_threads(1)
  straight after importing torch. Process-wide and shared by every session: one thread per
  trainer keeps a 2-core host responsive while several students train at once (and avoids
  OpenMP threads spinning against each other, which made small models 30-100x slower here; see
  README, Benchmarks).
- No two threads import pandas (or torch) at the same time. When a class opens the app at once,
  each browser session runs app.py in its own thread; two threads importing pandas together can
  trip CPython's import deadlock detection, and one of them gets a half-initialised module: the
  10-session load test (tests/e2e/test_load.py) hit "partially initialized module 'pandas' has
  no attribute 'Series'" inside plotly, which looks pandas up lazily while drawing. Here one
  thread imports everything, and the pages wait for it to finish.

What else a page's first visit would pay is done here too: the modules every catalog page
imports (read from the pages' own import lines, so a page's new import is warmed without an
edit here), torch's first forward and backward pass (its lazy kernel set-up), and the shared
read-only data the pages keep in st.cache_resource/st.cache_data (the built-in corpus's
character tokenizer, GPT-2's vocabulary when it is on disk). Never a model a page trains: those
are per session. And the home page has the browser load the code of the elements the other
pages draw (browser_warm_up_html): most of a first visit's time was the browser's.
"""

from __future__ import annotations

import ast
import importlib
import os
import tempfile
import threading
import time
from functools import cache
from pathlib import Path

import streamlit
from streamlit.logger import get_logger

ROOT = Path(__file__).resolve().parents[1]
WAIT_TIMEOUT_S = 300.0  # a page gives up waiting (and imports for itself) after this

# Streamlit's browser code for the elements the catalog pages draw: each is loaded the first
# time a page shows such an element (the plotly one is 4.7 MB; a first visit to a page with a
# chart, a dataframe and a dozen widgets loaded ~70 such files, 2-5 s on this machine). The home
# page has the browser load them while the student reads it (browser_warm_up_html).
FRONTEND_CHUNKS = (
    "PlotlyChart", "Selectbox", "NumberInput", "TextInput", "TextArea", "Radio", "Slider",
    "Checkbox", "Button", "DownloadButton", "FileUploader", "Multiselect", "Progress",
    "DataFrame", "StreamlitSyntaxHighlighter", "Html", "Spinner",
)
STATIC_JS = Path(streamlit.__file__).parent / "static" / "static" / "js"

_log = get_logger(__name__)
_lock = threading.Lock()
_thread: threading.Thread | None = None
done = threading.Event()  # set when the pages' imports are done (or failed): pages may run
timings: dict[str, float] = {}  # seconds per warm-up stage, for the log and the tests


def start(background: bool | None = None) -> threading.Thread:
    """Start the warm-up, once per process; the same thread on every later call.

    In a server (`streamlit run`) it runs in a background thread. Under AppTest (no real
    Runtime) it runs here, before the call returns: tests run pages and import modules in
    their own threads, which must not race the warm-up's imports."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_warm_up, name="gptviz-warm-up", daemon=True)
            _log.info("gptviz warm-up started")
            _thread.start()
            if not (_in_server() if background is None else background):
                _thread.join()
        return _thread


def _in_server() -> bool:
    from streamlit.runtime import Runtime

    return type(Runtime._instance) is Runtime  # AppTest puts a MagicMock(spec=Runtime) there


def wait(timeout: float = WAIT_TIMEOUT_S) -> bool:
    """Start the warm-up if needed and wait for it to finish; False if it took too long."""
    start()
    return done.wait(timeout)


def page_modules(paths: list[str]) -> list[str]:
    """The modules the given page scripts import at their top level, in order."""
    mods: list[str] = []
    for path in paths:
        try:
            tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        for node in tree.body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module
                     and node.level == 0 else [])
            mods += [n for n in names if n not in mods and n != "__future__"]
    return mods


def _stage(name: str, t0: float) -> float:
    t = time.perf_counter()
    timings[name] = t - t0
    return t


def _warm_up() -> None:
    t0 = t = time.perf_counter()
    try:
        import torch

        torch.set_num_threads(1)  # first, before anything can train
        import torch._dynamo  # noqa: F401  AdamW's constructor imports it: 1.5-3 s here
        t = _stage("torch", t)
        import graphviz  # noqa: F401
        import numpy  # noqa: F401
        import pandas  # noqa: F401
        import plotly.graph_objects  # noqa: F401
        from _plotly_utils.optional_imports import get_module

        get_module("pandas")  # plotly's own lazy lookup, now answered from a complete module
        t = _stage("pandas_plotly", t)
        from pages._catalog import CATALOG

        for mod in page_modules([p.path for p in CATALOG]):
            try:
                importlib.import_module(mod)
            except Exception as e:  # noqa: BLE001 - the page shows its own error when visited
                _log.warning("gptviz warm-up could not import %s: %s", mod, e)
        t = _stage("page_imports", t)
        _first_pass(torch)
        t = _stage("torch_first_pass", t)
        _first_figure()
        t = _stage("plotly_first_figure", t)
    except Exception:
        _log.exception("gptviz warm-up failed; the pages import what they need themselves")
    finally:
        done.set()  # the pages may run: everything they import is imported
    try:
        # after done: st.cache_resource lets a page asking for the same value wait for it
        _shared_data()
        _stage("shared_data", t)
    except Exception:
        _log.exception("gptviz warm-up could not build the shared data")
    timings["total"] = time.perf_counter() - t0
    _log.info("gptviz warm-up done in %.1f s (%s)", timings["total"],
              ", ".join(f"{k} {v:.2f}" for k, v in timings.items() if k != "total"))


def _first_pass(torch) -> None:
    """One training step of a throwaway model: torch sets up its kernels, autograd and AdamW
    on first use (a few hundred ms here), which a page's first model would pay otherwise."""
    from gptviz.config import GPTConfig
    from gptviz.model import GPT

    model = GPT(GPTConfig(vocab_size=4, block_size=4, n_layer=1, n_head=1, n_embd=8))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.zeros(2, 4, dtype=torch.long)
    model(x, x).loss.backward()
    opt.step()
    with torch.no_grad():
        model(x, return_attention=True)


def _first_figure() -> None:
    """Figures with the trace kinds, settings and subplot grids gptviz draws, serialised as
    st.plotly_chart does: plotly loads its default template and creates each property's
    validator on first use (0.3-0.6 s here; a 4 x 4 grid another 0.1-0.2 s), which a page's
    first figures would pay otherwise."""
    import plotly.graph_objects as go
    import plotly.io as pio

    fig = go.Figure([
        go.Scatter(x=[0, 1], y=[1.0, 0.5], mode="lines+markers", name="loss", text=["a", "b"],
                   line=dict(width=2, dash="dot", color="#1f77b4"), marker=dict(size=6),
                   hovertemplate="step %{x}<br>%{y:.3f}<extra></extra>", showlegend=True),
        go.Heatmap(z=[[0.0, 1.0], [1.0, 0.0]], x=["a", "b"], y=["a", "b"], zmin=0, zmax=1,
                   colorscale="Blues", text=[["0", "1"], ["1", "0"]], texttemplate="%{text}",
                   textfont=dict(size=14), customdata=[[0, 1], [1, 0]], showscale=True,
                   colorbar=dict(title=dict(text="p")), xgap=1, ygap=1,
                   hovertemplate="%{y} %{x}: %{z:.2f}<extra></extra>"),
        go.Bar(x=[0.7, 0.3], y=["a", "b"], orientation="h", text=["70%", "30%"],
               textposition="outside", marker=dict(color=["#d62728", "#2ca02c"]),
               customdata=[1, 2], hovertemplate="%{y}: %{x:.4f}<extra></extra>"),
    ])
    fig.update_layout(title=dict(text="warm-up"), height=300, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=1.1), hovermode="x unified",
                      xaxis=dict(title=dict(text="step"), range=[0, 1], showgrid=True),
                      yaxis=dict(title=dict(text="loss"), type="log", autorange="reversed"),
                      template="plotly_white")
    fig.update_xaxes(tickangle=0, side="top")
    fig.update_yaxes(scaleanchor="x", tickfont=dict(size=12))
    fig.add_annotation(text="a", x=0, y=0, showarrow=False)
    fig.add_shape(type="line", x0=0, x1=1, y0=0.5, y1=0.5, line=dict(dash="dash"))
    pio.to_json(fig, validate=False)
    # a grid of panels, as the attention heatmaps draw (a layer a row, a head a column)
    from plotly.subplots import make_subplots

    grid = make_subplots(rows=4, cols=4, horizontal_spacing=0.03, vertical_spacing=0.08,
                         subplot_titles=[f"layer {i // 4 + 1} · head {i % 4 + 1}"
                                         for i in range(16)])
    grid.update_yaxes(autorange="reversed", showticklabels=False)
    grid.update_yaxes(showticklabels=True, col=1)
    grid.update_xaxes(tickangle=0, showticklabels=False)
    grid.update_xaxes(showticklabels=True, row=4)
    for ann in grid.layout.annotations:
        ann.font.size = 14
    pio.to_json(grid, validate=False)


def _shared_data() -> None:
    """The read-only data every session shares, built into the pages' own caches."""
    import logging

    from pages import _tokenizer_ui as tok_ui

    # the caches ask for a script run context this thread has not got; say nothing about it
    ctx_log = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = ctx_log.level
    ctx_log.setLevel(logging.ERROR)
    try:
        _shared_caches(tok_ui)
    finally:
        ctx_log.setLevel(level)


def _shared_caches(tok_ui) -> None:
    tok_ui.builtin_char_tokenizer()
    tok_ui.builtin_bpe_corpus()
    vocab = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
                 or Path(tempfile.gettempdir()) / "data-gym-cache")
    if vocab.is_dir() and any(vocab.iterdir()):  # fetched already: no download from here
        try:
            tok_ui._tiktoken("gpt2")
        except Exception as e:  # noqa: BLE001 - the page says why when visited
            _log.info("gptviz warm-up: GPT-2's vocabulary not loaded (%s)", e)


@cache
def frontend_chunks() -> tuple[str, ...]:
    """The file names (hashed by Streamlit's build) of FRONTEND_CHUNKS, those that exist."""
    try:
        files = sorted(p.name for p in STATIC_JS.glob("*.js"))
    except OSError:
        return ()
    return tuple(f for f in files if f.split(".", 1)[0] in FRONTEND_CHUNKS)


def browser_warm_up_html() -> str:
    """A script for st.html(..., unsafe_allow_javascript=True) on the home page: once the
    browser is idle, it imports Streamlit's element modules that the other pages need, from the
    same URLs Streamlit's own code imports them from (so the same modules), and the monospace
    and italic fonts, so a first visit finds them loaded. Once per browser tab; a failure only
    means the page loads its modules itself, as without it."""
    names = ",".join(f'"{n}"' for n in frontend_chunks())
    return f"""<script>
(() => {{
  if (window.__gptvizWarmUp) return;
  const index = document.querySelector("script[type=module][src*='/static/js/index.']");
  if (!index) return;
  window.__gptvizWarmUp = "waiting";  // then "loading", then "done" (python -m bench waits)
  const load = () => {{
    window.__gptvizWarmUp = "loading";
    const fonts = ['1em "Source Code Pro"', 'italic 1em "Source Sans"'];  // code, captions
    Promise.allSettled([{names}].map((n) => import(new URL(n, index.src).href))
      .concat(fonts.map((f) => document.fonts.load(f))))
      .then(() => {{ window.__gptvizWarmUp = "done"; }});
  }};
  (window.requestIdleCallback || ((f) => setTimeout(f, 300)))(load, {{timeout: 1500}});
}})();
</script>"""
