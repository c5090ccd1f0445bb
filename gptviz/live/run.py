"""LiveRun: a Trainer trained in the background, which a page polls and reads without waiting.

The training thread (gptviz/live/job.py) writes every event into a History under a short lock;
`snapshot()` copies it. The page never reads the model that is being trained: after a step, at
most every PUBLISH_SECONDS, the thread copies the weights into a second model, the view, and
`read_model(fn)` runs fn on the view. A reader therefore waits at most for a copy of the
weights (microseconds for Baby GPT, about 10 ms for the largest text model), never for a step.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import torch

from gptviz.ablate import Ablation, Hooks, MeanOutputs
from gptviz.config import TrainConfig
from gptviz.i18n import _
from gptviz.live.job import BackgroundJob, Turns
from gptviz.live.slots import FairSlots
from gptviz.live.timeline import Recorder, Timeline
from gptviz.model import GPT
from gptviz.tasks.base import Task
from gptviz.train import EvalEvent, Event, StepEvent, Trainer, TrainingDiverged

T = TypeVar("T")

MAX_POINTS = 2_000  # loss points kept per run; older ones are thinned, never unbounded
PUBLISH_SECONDS = 0.1  # newest weights reach the view at least this often while training
MAX_PUBLISH_SHARE = 0.05  # ... but copying them takes at most this share of training time

log = logging.getLogger(__name__)


@dataclass
class History:
    """Step losses (thinned to at most MAX_POINTS) and every evaluation."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)  # the learning rate of each kept step
    evals: list[EvalEvent] = field(default_factory=list)
    stride: int = 1  # keep one step loss in every `stride`

    def add(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            if event.step % self.stride == 0:
                self.steps.append(event.step)
                self.losses.append(event.loss)
                self.lrs.append(event.lr)
            if len(self.steps) > MAX_POINTS:
                self.stride *= 2
                keep = [i for i, s in enumerate(self.steps) if s % self.stride == 0]
                self.steps = [self.steps[i] for i in keep]
                self.losses = [self.losses[i] for i in keep]
                self.lrs = [self.lrs[i] for i in keep]
        elif isinstance(event, EvalEvent):
            self.evals.append(event)
            if len(self.evals) > MAX_POINTS:
                self.evals = self.evals[::2]


@dataclass(frozen=True)
class Snapshot:
    step: int  # steps trained
    target: int  # the step training stops at
    status: str  # "idle", "queued", "training", "paused", "done", "error"
    steps: list[int]
    losses: list[float]
    evals: list[EvalEvent]
    message: str | None  # why training stopped, when it was not the user's doing
    steps_per_second: float
    queue_position: int = 0  # while queued: 1 = next to train
    tokens_per_second: float = 0.0  # training tokens (batch x context) per second
    device: str = "cpu"  # where the model trains: "cpu" or "cuda"
    view_step: int = 0  # the step of the weights that read_model() sees
    lrs: list[float] = field(default_factory=list)  # the learning rate at each of `steps`
    ablation: Ablation = field(default_factory=Ablation)  # the parts held off (set_ablation)
    ablation_step: int = 0  # the step at which they were switched off


def _explain(e: Exception) -> str:
    """A sentence for the page about an exception inside a training step (logged in full)."""
    if isinstance(e, torch.cuda.OutOfMemoryError):
        torch.cuda.empty_cache()
        return _("The GPU ran out of memory. Make the model or the batch smaller, or choose the "
                 "CPU; the model is kept as it was before this step.")
    log.exception("training step failed")
    return _("Training stopped: {kind}: {error}. The model is kept as it was after its last "
             "completed step.").format(kind=type(e).__name__, error=e)


class _View:
    """A copy of the model for readers, refreshed from the trained model between steps."""

    def __init__(self, model: GPT) -> None:
        self.model = copy.deepcopy(model)
        self.step = 0
        self.lock = threading.Lock()  # held while reading or while copying, never for a step
        self._pairs = [(v, m) for v, m in zip(self.model.state_dict().values(),
                                               model.state_dict().values(), strict=True)]
        self._last = 0.0
        self._cost = 0.0  # seconds the last copy took

    def due(self) -> bool:
        wait = max(PUBLISH_SECONDS, self._cost / MAX_PUBLISH_SHARE)
        return time.perf_counter() - self._last >= wait

    def publish(self, step: int, blocking: bool) -> None:
        """Copy the trained weights in; without blocking, skip while a reader holds the view."""
        if not self.lock.acquire(blocking=blocking):
            return
        try:
            t0 = time.perf_counter()
            with torch.no_grad():
                for v, m in self._pairs:
                    v.copy_(m)
            self.step = step
            self._last = time.perf_counter()
            self._cost = self._last - t0
        finally:
            self.lock.release()


class LiveRun(BackgroundJob):
    """Owns a Trainer; trains it in the background until `target` steps or pause()."""

    def __init__(self, trainer: Trainer, slots: FairSlots | None = None,
                 recorder: Recorder | None = None) -> None:
        super().__init__(slots, name="gptviz-train")
        self.trainer = trainer
        # what the page's views need at recorded steps, to replay the run (timeline.py)
        self.timeline = Timeline()
        self._recorder = recorder
        self.history = History()
        trainer.add_callback(self._record)
        self._step_lock = threading.Lock()  # held for a step: the thread's, or One step's
        self._view = _View(trainer.model)
        self._view.step = trainer.step_count
        self._status = "idle"
        self._message: str | None = None
        self._target = trainer.step_count
        self._rate = 0.0
        self._token_rate = 0.0
        self._tokens = 0  # trained since this LiveRun was made
        self._pending: tuple[TrainConfig | None, Task | None] | None = None
        # parts switched off (gptviz/ablate.py), held on the trained model and on the view
        self.ablation = Ablation()
        self.ablation_step = 0  # the step at which `ablation` was put on
        self._hooks: list[Hooks] = []
        self._pending_ablation: tuple[Ablation, MeanOutputs | None] | None = None
        self._record_frame()  # where the run starts

    # --- control -------------------------------------------------------------------------
    def start(self, steps: int) -> None:
        """Train `steps` more steps in the background (more, if already training)."""
        with self._lock:
            if self._retired:  # its page threw it away (Reset) in the same rerun as this click
                return
            self._target = self.trainer.step_count + steps
            self._message = None
            if not self._active():
                self._status = "queued"
                self._submit(self._train)

    def pause(self) -> None:
        """Stop after the current step. Returns at once (safe on Streamlit's event loop)."""
        self.cancel()

    def _on_cancel(self) -> None:
        if self._status in ("queued", "training"):
            self._status = "paused"

    def update(self, config: TrainConfig | None = None, task: Task | None = None) -> None:
        """New hyperparameters or data (Trainer.update), taken before the next step."""
        with self._lock:
            old_config, old_task = self._pending or (None, None)
            self._pending = (config or old_config, task or old_task)
        if self._step_lock.acquire(blocking=False):  # not training now: take them at once
            try:
                self._apply_pending()
            finally:
                self._step_lock.release()

    def set_ablation(self, ablation: Ablation, means: MeanOutputs | None = None) -> None:
        """Hold `ablation` on the model from the next step on (training goes on with those parts
        off) and on what read_model() sees; Ablation() lifts it. The weights never change.
        Raises ValueError (a sentence) for a part the model does not have."""
        ablation.check(self.trainer.model.config)
        if ablation and ablation.mode == "mean" and means is None:
            raise ValueError("Mean ablation needs the parts' mean outputs (mean_outputs()).")
        with self._lock:
            self._pending_ablation = (ablation, means)
        if self._step_lock.acquire(blocking=False):  # not training now: at once
            try:
                self._apply_pending()
            finally:
                self._step_lock.release()

    def settle(self, timeout: float = 10.0) -> bool:
        """When not training: wait (at most `timeout` s) for the step the thread may still be
        finishing after pause(), take pending settings and ablation, and publish the newest
        weights to the view, so that read_model() sees what the status line's step says.
        False if training (nothing done) or the wait timed out. It waits for a step: call it
        from a page's script or callback, never from the session-release hook."""
        if self.running or not self._step_lock.acquire(timeout=timeout):
            return False
        try:
            self._apply_pending()
            self._view.publish(self.trainer.step_count, blocking=True)
        finally:
            self._step_lock.release()
        return True

    def step_once(self) -> None:
        """One step in the caller's thread (the page's One step button); waits for at most
        the step the thread may still be finishing."""
        self.pause()
        if self.retired:  # thrown away by its page (Reset) in the same rerun as this click
            return
        try:
            with self._step_lock:
                self._train_one()
                self._view.publish(self.trainer.step_count, blocking=True)
            with self._lock:
                self._target = self.trainer.step_count
                self._status = "paused"
        except TrainingDiverged as e:
            self.timeline.truncate(self.trainer.step_count)
            self._fail(str(e), status="paused")
        except Exception as e:  # shown on the page instead of a traceback
            self._fail(_explain(e), status="error")

    # --- reading ---------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        with self._lock:
            h = self.history
            return Snapshot(self.trainer.step_count, self._target, self._status, list(h.steps),
                            list(h.losses), list(h.evals), self._message, self._rate,
                            self._turns.position() if self._turns is not None else 0,
                            self._token_rate, self.trainer.device.type, self._view.step,
                            list(h.lrs), self.ablation, self.ablation_step)

    def read_model(self, fn: Callable[[GPT], T]) -> T:
        """fn(model) on the newest published weights; never waits for a training step."""
        return self.read_view(fn)[1]

    def read_view(self, fn: Callable[[GPT], T]) -> tuple[int, T]:
        """(the step of the weights fn saw, fn(model))."""
        with self._view.lock:
            return self._view.step, fn(self._view.model)

    # --- the thread ------------------------------------------------------------------------
    def _record(self, event: Event) -> None:
        with self._lock:  # called inside a step
            self.history.add(event)
            if isinstance(event, StepEvent):
                self._tokens += event.tokens

    def _apply_pending(self) -> None:
        """With the step lock held."""
        with self._lock:
            pending, self._pending = self._pending, None
            ablation, self._pending_ablation = self._pending_ablation, None
        if pending is not None:
            self.trainer.update(*pending)
        if ablation is not None:
            for hooks in self._hooks:
                hooks.remove()
            self._hooks = [Hooks(self.trainer.model, *ablation)]
            with self._view.lock:  # a reader sees the whole model or the ablated one
                self._hooks.append(Hooks(self._view.model, *ablation))
            if ablation[0] != self.ablation:  # not for new means of the same parts
                self.ablation_step = self.trainer.step_count
            self.ablation = ablation[0]
            # the Trainer may keep its last evaluation's forward for the next step
            # (_ReadyForward: same weights, same batch); it was computed with the old hooks
            self.trainer.update()

    def _train_one(self) -> None:
        """With the step lock held: a step, the evaluation when one is due, and a frame of
        the timeline when one is due."""
        self._apply_pending()
        self.trainer.run(1)
        self._record_frame()

    def _record_frame(self) -> None:
        step = self.trainer.step_count
        if self._recorder is not None and self.timeline.due(step):
            with torch.no_grad():
                frame = self._recorder(self.trainer.model)
            self.timeline.add(step, frame)

    def _fail(self, message: str, status: str) -> None:
        with self._lock:
            self._message = message
            self._status = status

    def _on_queue(self, queued: bool) -> None:
        with self._lock:
            if self._status in ("queued", "training"):
                self._status = "queued" if queued else "training"

    def _train(self, turns: Turns) -> None:
        if not turns.wait():
            return
        t0, s0, k0 = time.perf_counter(), self.trainer.step_count, self._tokens
        try:
            while True:
                with self._lock:
                    if turns.stop.is_set() or self.trainer.step_count >= self._target:
                        if not turns.stop.is_set():
                            self._status = "done"
                        turns.stop.set()  # over: `running` is False from here on
                        break
                with self._step_lock:
                    self._train_one()
                    if self._view.due():
                        self._view.publish(self.trainer.step_count, blocking=False)
                dt = time.perf_counter() - t0
                if dt > 0.5:
                    with self._lock:
                        self._rate = (self.trainer.step_count - s0) / dt
                        self._token_rate = (self._tokens - k0) / dt
                    t0, s0, k0 = time.perf_counter(), self.trainer.step_count, self._tokens
                if not turns.between_steps():
                    break
                if turns.stop.is_set():
                    break
        except TrainingDiverged as e:
            self.timeline.truncate(self.trainer.step_count)
            self._fail(str(e), status="paused")
        except Exception as e:  # shown on the page; the model keeps its last good step
            self._fail(_explain(e), status="error")
        finally:
            with self._step_lock:
                self._view.publish(self.trainer.step_count, blocking=True)
