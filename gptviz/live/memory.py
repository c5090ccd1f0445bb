"""Give a closed session's memory back: collect its reference cycles, return free heap pages.

Two things kept what closed tabs had held (measured with GPT-1's page: 50 tabs opened, trained
and closed, 10 at a time, on 2 cores; python -m bench.load_test churn-gpt1):

- Reference cycles. A LiveRun and its Trainer point at each other (the trainer calls the
  run back after every event), as do Streamlit's own session objects, so a dropped session's
  models are freed only by a full garbage collection. .streamlit/config.toml turns Streamlit's
  collection after every script run off (0.3-1 s holding the GIL, twice a second while
  training), and Python's own full collections are rare in a heap as large as torch's. The
  server ended 300 MB above a Baby GPT churn. `Janitor.soon()` collects in a thread of its
  own, a second after a session opens or closes, at most every 5 s: a full collection with
  torch and plotly loaded takes about 0.15 s. (`gc.freeze()` after the imports would make it
  cheaper, but it also froze the sessions open at that moment, and with them every model those
  sessions made later: the first ten tabs of a class were never freed.)
- The C library's arenas. glibc gives each thread that allocates an arena of its own (up to
  8 per core) and keeps what a thread frees there for reuse, so every training thread left its
  last steps' activations behind. `give_back_memory()` (`malloc_trim(0)`) returns the free pages
  of every arena, once when a training thread's work is over and after each collection, never
  between steps; it does nothing on a C library without it (musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time

log = logging.getLogger(__name__)


def _load_trim():
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_TRIM = _load_trim()


def give_back_memory() -> bool:
    """Return free heap pages to the OS (glibc); False where the C library cannot."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


class Janitor:
    """Full garbage collections in a daemon thread of its own: `delay` s after `soon()` is
    called, at most one every `min_gap` s; calls in between are folded into the next one."""

    def __init__(self, delay: float = 1.0, min_gap: float = 5.0) -> None:
        self.delay, self.min_gap = delay, min_gap
        self._asked = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.collections = 0
        self.last_seconds = 0.0  # how long the last collection held the interpreter

    def soon(self) -> None:
        """Ask for a collection; returns at once (safe on Streamlit's event loop)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, daemon=True,
                                                name="gptviz-janitor")
                self._thread.start()
        self._asked.set()

    def _main(self) -> None:
        last = 0.0
        while True:
            self._asked.wait()
            time.sleep(max(self.delay, last + self.min_gap - time.monotonic()))
            self._asked.clear()
            t0 = time.perf_counter()
            found = gc.collect()
            give_back_memory()
            last = time.monotonic()
            self.last_seconds = time.perf_counter() - t0
            self.collections += 1
            log.debug("gptviz: collected %d objects in %.3f s", found, self.last_seconds)


JANITOR = Janitor()
