"""A background job that trains in a daemon thread, takes turns for a slot, and that nothing
waits for.

Streamlit facts this relies on (checked with Streamlit 1.67): a loop in the page script is cut
by any click, so training runs in a thread that never touches the UI, and a page polls it.
Streamlit calls the session-release hook (tab closed, connection dropped) on the server's event
loop, which serves every user: so `cancel()` only sets a flag that the thread reads between
its steps, and no method here ever waits for a step to finish. (Waiting for the lock that a
step held froze the whole server for 17.8 s when a tab closed during a large model's step.)
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable

from gptviz.live.memory import give_back_memory
from gptviz.live.slots import FairSlots, max_trainers_from_env

SLICE_SECONDS = 2.0  # a job gives its slot up after this long when others are waiting

# One process serves every browser session: this caps how many models train at once
# (GPTVIZ_MAX_TRAINERS, default 2), serving waiting jobs in turn (gptviz/live/slots.py).
TRAINING_SLOTS = FairSlots(max_trainers_from_env())


class Turns:
    """One piece of work's place in the training slots.

    `wait()` queues for a slot; `between_steps()` is called by the work after every step: it
    says whether to go on, and when the work has trained for SLICE_SECONDS while others wait, it
    gives the slot up and queues again at the back, so a whole class makes progress.
    """

    def __init__(self, slots: FairSlots, stop: threading.Event,
                 on_queue: Callable[[bool], None] = lambda queued: None) -> None:
        self._slots = slots
        self.stop = stop
        self._on_queue = on_queue  # told True when waiting in line, False when training
        self.ticket = object()
        self._held = False
        self._since = 0.0

    def wait(self) -> bool:
        """Wait in line for a slot: True once held, False if stopped first."""
        if self._held:
            return True
        self._on_queue(True)
        self._held = self._slots.acquire(stop=self.stop, ticket=self.ticket)
        if self._held:
            self._since = time.perf_counter()
            self._on_queue(False)
        return self._held

    def between_steps(self) -> bool:
        """True to go on training, False to stop (cancelled while training or in line)."""
        if self.stop.is_set():
            return False
        if time.perf_counter() - self._since > SLICE_SECONDS and self._slots.waiting() > 0:
            self.release()
            return self.wait()
        return True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots.release()

    def position(self) -> int:
        """1 when next in line, 2 after that, ...; 0 when not waiting."""
        return self._slots.position(self.ticket)


Work = Callable[[Turns], None]


class BackgroundJob:
    """Runs one piece of work at a time in a daemon thread.

    `_submit(work)` (with `self._lock` held) cancels what runs now and queues `work`; the
    thread runs it next, calling `work(turns)`. `cancel()` stops the current work after its
    current step. Neither waits for the thread. Subclasses keep their own state under
    `self._lock`, which is only ever held for short bookkeeping, never across a step.
    """

    def __init__(self, slots: FairSlots | None = None, name: str = "gptviz-train") -> None:
        self._slots = TRAINING_SLOTS if slots is None else slots
        self._name = name
        self._lock = threading.Lock()
        self._thread_alive = False
        self._next: Work | None = None
        self._turns: Turns | None = None  # the current work's, while it runs
        self._retired = False  # thrown away (retire()): nothing more ever runs

    # --- for subclasses, with self._lock held ----------------------------------------------
    def _submit(self, work: Work) -> None:
        if self._retired:  # a click that reached a job its page has already thrown away
            return
        if self._turns is not None:
            self._turns.stop.set()
        self._next = work
        if not self._thread_alive:
            self._thread_alive = True
            # in a copy of the caller's context: its messages in the language of the click
            # that started it (gptviz/i18n.py's language is a context variable)
            ctx = contextvars.copy_context()
            threading.Thread(target=ctx.run, args=(self._main,), daemon=True,
                             name=self._name).start()

    def _active(self) -> bool:
        """Work is queued or running and has not been cancelled."""
        return self._next is not None or (self._turns is not None
                                          and not self._turns.stop.is_set())

    def _on_queue(self, queued: bool) -> None:
        """Told (without the lock) when the current work starts or stops waiting in line."""

    def _on_cancel(self) -> None:
        """Told (with the lock held) that cancel() was called: set the status to show."""

    # --- public --------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the current work after its current step, and drop queued work. Never waits."""
        with self._lock:
            self._next = None
            if self._turns is not None:
                self._turns.stop.set()
            self._on_cancel()

    def retire(self) -> None:
        """Stop for good: cancel(), and every later start is ignored. For a job its page has
        replaced (Reset, a new model): fast clicks can still reach the old job's buttons in
        the same rerun, and must not train a model nobody sees. Never waits."""
        with self._lock:
            self._retired = True
        self.cancel()

    @property
    def retired(self) -> bool:
        with self._lock:
            return self._retired

    @property
    def running(self) -> bool:
        """Whether work is queued or running (and not cancelled)."""
        with self._lock:
            return self._active()

    def queue_position(self) -> int:
        with self._lock:
            return self._turns.position() if self._turns is not None else 0

    # --- the thread ------------------------------------------------------------------------
    def _main(self) -> None:
        while True:
            with self._lock:
                work, self._next = self._next, None
                if work is None:
                    self._thread_alive = False
                    self._turns = None
                    break
                turns = self._turns = Turns(self._slots, threading.Event(), self._on_queue)
            try:
                work(turns)
            finally:
                turns.release()
                with self._lock:
                    turns.stop.set()  # this work is over: `running` no longer counts it
                    if self._turns is turns:
                        self._turns = None
        give_back_memory()  # what this thread's steps allocated (gptviz/live/memory.py)
