"""The heavy imports (torch, pandas, plotly, graphviz) in the background, so the first page
draws without waiting for them, in two stages.

`start()` is called by app.py on every run and starts one thread per process, the first time
a browser opens the app; the home page needs none of those modules and draws while they load
(`streamlit run app.py` to the first page drawn: see README, Benchmarks). `wait()` is called
by app.py before any other page runs: it imports pages._preload, and Python's per-module
import lock makes it wait until the background thread has imported all of it.

`start_training()` is called by app.py after a page other than the home page has run: a second
background import, of pages._preload_training (the first optimizer's torch._dynamo, which no
page needs to draw). Nothing waits for it: it runs while the browser draws that page.

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
import time
from collections.abc import Callable

TRAINING_DELAY_S = 1.0
_lock = threading.Lock()
_threads: dict[str, threading.Thread] = {}
_done = False  # set once the pages' import has returned, in whichever thread ran it


def _import_heavy() -> None:
    global _done
    importlib.import_module("pages._preload")
    _done = True


def _import_training() -> None:
    time.sleep(TRAINING_DELAY_S)
    importlib.import_module("pages._preload_training")


def _start(name: str, target: Callable[[], None]) -> None:
    with _lock:
        if name not in _threads:
            _threads[name] = threading.Thread(target=target, name=f"gptviz-warm-up-{name}",
                                              daemon=True)
            _threads[name].start()


def start() -> None:
    """Begin the heavy imports in a background thread, once per process."""
    _start("pages", _import_heavy)


def start_training() -> None:
    """Begin the first optimizer's imports in a background thread, once per process (after
    the pages' imports: call it only once wait() has returned)."""
    _start("training", _import_training)


def done() -> bool:
    """Whether the heavy imports are complete (never waits)."""
    return _done


def wait() -> None:
    """Return once the heavy imports are complete (at once when they are)."""
    _import_heavy()
