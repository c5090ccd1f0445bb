"""Live training: a Trainer run in a background thread that a UI polls.

Streamlit facts this relies on (see shared/STREAMLIT.md): a loop in the page script is cut by any
click, so the loop runs here, in a thread that never touches the UI; it writes into a
lock-protected history, and the page copies a `Snapshot` a few times a second to redraw. Only one
step holds the lock at a time, so the page can read the model between steps (`read_model`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import torch

from gptviz.model import GPT
from gptviz.slots import FairSlots, max_trainers_from_env
from gptviz.train import EvalEvent, Event, StepEvent, Trainer, TrainingDiverged

T = TypeVar("T")

MAX_POINTS = 2_000  # loss points kept per run; older ones are thinned, never unbounded
SLICE_SECONDS = 2.0  # a trainer gives its slot up after this long when others are waiting

log = logging.getLogger(__name__)

# One process serves every browser session: this caps how many models train at once
# (GPTVIZ_MAX_TRAINERS, default 2), serving waiting trainers in turn (gptviz/slots.py).
TRAINING_SLOTS = FairSlots(max_trainers_from_env())


@dataclass
class History:
    """Step losses (thinned to at most MAX_POINTS) and every evaluation."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    evals: list[EvalEvent] = field(default_factory=list)
    stride: int = 1  # keep one step loss in every `stride`

    def add(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            if event.step % self.stride == 0:
                self.steps.append(event.step)
                self.losses.append(event.loss)
            if len(self.steps) > MAX_POINTS:
                self.stride *= 2
                keep = [i for i, s in enumerate(self.steps) if s % self.stride == 0]
                self.steps = [self.steps[i] for i in keep]
                self.losses = [self.losses[i] for i in keep]
        elif isinstance(event, EvalEvent):
            self.evals.append(event)
            if len(self.evals) > MAX_POINTS:
                self.evals = self.evals[::2]


@dataclass(frozen=True)
class Snapshot:
    step: int
    target: int
    status: str  # "idle", "queued", "training", "paused", "done", "error"
    steps: list[int]
    losses: list[float]
    evals: list[EvalEvent]
    message: str | None  # why training stopped, when it was not the user's doing
    steps_per_second: float
    queue_position: int = 0  # while queued: 1 = next to train
    tokens_per_second: float = 0.0  # training tokens (batch x context) per second
    device: str = "cpu"  # where the model trains: "cpu" or "cuda"


def _explain(e: Exception) -> str:
    """A sentence for the page about an exception inside a training step (logged in full)."""
    if isinstance(e, torch.cuda.OutOfMemoryError):
        torch.cuda.empty_cache()
        return ("The GPU ran out of memory. Make the model or the batch smaller, or choose the "
                "CPU; the model is kept as it was before this step.")
    log.exception("training step failed")
    return (f"Training stopped: {type(e).__name__}: {e}. The model is kept as it was after its "
            "last completed step.")


class LiveRun:
    """Owns a Trainer; trains it in a daemon thread until `target` steps or pause()."""

    def __init__(self, trainer: Trainer,
                 slots: FairSlots | threading.Semaphore = TRAINING_SLOTS) -> None:
        self.trainer = trainer
        self.history = History()
        trainer.add_callback(self._record)
        self._lock = threading.RLock()  # held during one step; readers wait at most that long
        self._slots = slots
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = "idle"
        self._message: str | None = None
        self._target = trainer.step_count
        self._rate = 0.0
        self._ticket = object()  # this run's place in the slots' queue
        self._token_rate = 0.0
        self._tokens = 0  # trained since this LiveRun was made

    # --- control -------------------------------------------------------------------------
    def start(self, steps: int) -> None:
        """Train `steps` more steps in the background (no-op if already running)."""
        with self._lock:
            if self.running:
                return
            self._target = self.trainer.step_count + steps
            self._message = None
            self._stop.clear()
            self._status = "queued"
            self._thread = threading.Thread(target=self._loop, daemon=True, name="gptviz-train")
            self._thread.start()

    def pause(self, wait: float = 1.0) -> None:
        self._stop.set()
        t = self._thread
        if t is not None:
            t.join(timeout=wait)
        with self._lock:
            if self._status in ("queued", "training"):
                self._status = "paused"

    def step_once(self) -> None:
        """One step in the caller's thread (the page's Step button)."""
        self.pause()
        try:
            with self._lock:
                self._train_one()
                self._target = self.trainer.step_count
                self._status = "paused"
        except TrainingDiverged as e:
            self._fail(str(e), status="paused")
        except Exception as e:  # shown on the page instead of a traceback
            self._fail(_explain(e), status="error")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- reading ---------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        with self._lock:
            h = self.history
            queued = self._status == "queued" and isinstance(self._slots, FairSlots)
            return Snapshot(self.trainer.step_count, self._target, self._status, list(h.steps),
                            list(h.losses), list(h.evals), self._message, self._rate,
                            self._slots.position(self._ticket) if queued else 0,
                            self._token_rate, self.trainer.device.type)

    def read_model(self, fn: Callable[[GPT], T]) -> T:
        """Run fn(model) between training steps, so it never sees half-updated weights."""
        with self._lock:
            return fn(self.trainer.model)

    # --- the thread ------------------------------------------------------------------------
    def _record(self, event: Event) -> None:
        self.history.add(event)  # called inside a step, under the lock
        if isinstance(event, StepEvent):
            self._tokens += event.tokens

    def _train_one(self) -> None:
        self.trainer.run(1)  # a step, and the evaluation when one is due

    def _fail(self, message: str, status: str) -> None:
        with self._lock:
            self._message = message
            self._status = status

    def _acquire(self) -> bool:
        """Wait for a training slot until granted (True) or stopped (False)."""
        if isinstance(self._slots, FairSlots):
            return self._slots.acquire(stop=self._stop, ticket=self._ticket)
        while not self._stop.is_set():
            if self._slots.acquire(timeout=0.2):
                return True
        return False

    def _others_waiting(self) -> bool:
        return isinstance(self._slots, FairSlots) and self._slots.waiting() > 0

    def _loop(self) -> None:
        held = self._acquire()
        if not held:
            return
        try:
            with self._lock:
                self._status = "training"
            t0, s0, k0 = time.perf_counter(), self.trainer.step_count, self._tokens
            slice_start = t0
            while not self._stop.is_set() and self.trainer.step_count < self._target:
                with self._lock:
                    self._train_one()
                    dt = time.perf_counter() - t0
                    if dt > 0.5:
                        self._rate = (self.trainer.step_count - s0) / dt
                        self._token_rate = (self._tokens - k0) / dt
                        t0, s0, k0 = time.perf_counter(), self.trainer.step_count, self._tokens
                time.sleep(0)  # let the page's reader take the lock between steps
                if time.perf_counter() - slice_start > SLICE_SECONDS and self._others_waiting():
                    # time slice: go to the back of the line so that every session progresses
                    self._slots.release()
                    held = False
                    with self._lock:
                        self._status = "queued"
                    held = self._acquire()
                    if not held:
                        return
                    with self._lock:
                        self._status = "training"
                    t0, s0, k0 = time.perf_counter(), self.trainer.step_count, self._tokens
                    slice_start = t0
            with self._lock:
                if self.trainer.step_count >= self._target:
                    self._status = "done"
        except TrainingDiverged as e:
            self._fail(str(e), status="paused")
        except Exception as e:  # shown on the page; the model keeps its last good step
            self._fail(_explain(e), status="error")
        finally:
            if held:
                self._slots.release()
