"""Heavy imports, done once and fully before any page draws, and torch's thread count.

app.py imports this module first.

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

