"""Heavy imports and first-use costs, done once and fully before any page but the home page
draws, and torch's thread count.

pages/_warm.py imports this module in a background thread from the first visit; app.py waits
for it before running any page but the home page.

When a class opens the app at once, each browser session runs app.py in its own thread. Two
threads importing pandas (or torch) at the same time can trip CPython's import deadlock
detection, and one of them gets a half-initialised module: the 10-session load test
(tests/e2e/test_load.py) hit "partially initialized module 'pandas' has no attribute 'Series'"
inside plotly, which looks pandas up lazily while drawing. Importing this one module instead
is safe: the second thread waits on its lock until the first has imported everything below.
"""

from __future__ import annotations

import graphviz  # noqa: F401
import numpy as np
import pandas  # noqa: F401
import plotly.graph_objects  # noqa: F401
import torch  # noqa: F401
from _plotly_utils.optional_imports import get_module

get_module("pandas")  # plotly's own lazy lookup, now answered from a complete module

# Process-wide and shared by every session: one thread per trainer keeps a 2-core host
# responsive while several students train at once (and avoids OpenMP threads spinning against
# each other, which made small models 30-100x slower here; see README, Benchmarks).
torch.set_num_threads(1)

# First uses that cost more than a page's whole run, paid here instead of on the first visit:
# torch's first backward pass; plotly's template and the validators of every kind of layout
# and trace (0.5 s here, mostly deep copies of the template). The first optimizer (torch._dynamo,
# 0.8 s) is not among them: no page needs it before its first step (pages/_preload_training.py).
_w = torch.nn.Linear(2, 2)
_w(torch.zeros(1, 2)).sum().backward()
del _w

# The library's own modules and the pages' helpers, which every training page imports
import gptviz.live  # noqa: E402, F401
import pages._ablate  # noqa: E402, F401
import pages._instrument  # noqa: E402, F401
import pages._live  # noqa: E402, F401
import pages._room  # noqa: E402, F401
import pages._runs  # noqa: E402, F401
from gptviz.analysis import model_transition_probs  # noqa: E402
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE  # noqa: E402
from gptviz.model import GPT  # noqa: E402
from gptviz.statespace import StateSpace  # noqa: E402
from gptviz.tasks import SequenceTask  # noqa: E402
from gptviz.viz.attention import attention_figure, format_attention  # noqa: E402
from gptviz.viz.chain import stationary_figure  # noqa: E402
from gptviz.viz.loss import loss_figure  # noqa: E402
from gptviz.viz.network import chain_figure  # noqa: E402


def _draw_baby_gpt_once() -> None:
    """Baby GPT's figures (the page most lessons open first) for document 000's untrained
    model, so that its first visit finds every layout's validators built. No seed is set:
    torch's global generator is left to the pages, which seed it right before they build."""
    cfg = DOC000_MODEL
    task = SequenceTask(DOC000_SEQUENCE, cfg.vocab_size, cfg.block_size, last_only=True)
    space = StateSpace(task, show_prefixes=False)
    model = GPT(cfg)
    probs = model_transition_probs(model, space.states).numpy()
    names = ["".join(map(str, s)) for s in space.states]
    window = torch.tensor([space.windows[0]], dtype=torch.long)
    with torch.no_grad():
        att = format_attention(model(window, return_attention=True).attention)
    figures = [
        loss_figure([1, 2], [0.7, 0.6], (), task.entropy_floor(), title="warm-up"),
        chain_figure(space.states, probs, cfg.block_size, space.in_windows, str,
                     title="warm-up", height=360, last_only=True),
        attention_figure(att, [str(t) for t in space.windows[0]], height=320),
        stationary_figure(names, np.full(len(names), 1 / len(names)),
                          np.full(len(names), 1 / len(names))),
    ]
    for fig in figures:
        fig.to_plotly_json()


_draw_baby_gpt_once()
