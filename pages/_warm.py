"""The heavy imports (torch, pandas, plotly, graphviz) in the background, so the first page
draws without waiting for them.

`start()` is called by app.py on every run and starts one thread per process, the first time
a browser opens the app; the home page needs none of those modules and draws while they load
(`streamlit run app.py` to the first page drawn: see README, Benchmarks). `wait()` is called
by app.py before any other page runs: it imports pages._preload, and Python's per-module
import lock makes it wait until the background thread has imported all of it.

Why the wait matters: while a module is being imported, a half-initialised copy already sits
in sys.modules. plotly reads pandas from there without importing it (`get_module("pandas",
should_load=False)`, while converting figure data), so a page drawing a figure while the
background thread was half-way through pandas failed with "partially initialized module
'pandas' has no attribute 'Series'" (seen in the 100-session churn test, tests/e2e/test_load.py,
when a warm-up ran beside the pages). No page draws before the whole import is done.
"""

from __future__ import annotations

import importlib
import threading

_lock = threading.Lock()
_thread: threading.Thread | None = None
_done = False  # set once the import has returned, in whichever thread ran it


def _import_heavy() -> None:
    global _done
    importlib.import_module("pages._preload")
    _done = True


def start() -> None:
    """Begin the heavy imports in a background thread, once per process."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_import_heavy, name="gptviz-warm-up", daemon=True)
            _thread.start()


def done() -> bool:
    """Whether the heavy imports are complete (never waits)."""
    return _done


def wait() -> None:
    """Return once the heavy imports are complete (at once when they are)."""
    _import_heavy()
