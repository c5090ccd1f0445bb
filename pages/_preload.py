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
import numpy  # noqa: F401
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
# torch's optimisers import torch._dynamo (and sympy) on the first construction, about 2 s here;
# plotly loads its default template and validators on the first figure, about 0.5 s.
_w = torch.nn.Linear(2, 2)
_opt = torch.optim.AdamW(_w.parameters())
_w(torch.zeros(1, 2)).sum().backward()
_opt.step()
plotly.graph_objects.Figure(plotly.graph_objects.Scatter(x=[0], y=[0])).update_layout(
    title="warm-up").to_plotly_json()
del _w, _opt

# The library's own modules every training page imports (plotly figure builders, the live run)
import gptviz.live  # noqa: E402, F401
import gptviz.viz.chain  # noqa: E402, F401
