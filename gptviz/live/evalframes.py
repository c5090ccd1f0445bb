"""A timeline recorder for views that change at evaluations (a sample, a table of answers).

`EvalFrames(trainer, compute)` is a LiveRun recorder (timeline.py): `compute(model, event)`
runs in the training thread right after each evaluation, on the weights of that step (event is
the EvalEvent), and once for the first frame (event None); every recorded step of the timeline
gets the newest result, with "step" (the step it was computed at) added. So a replay at step k
shows what the page showed after the last evaluation at or before k, and the page can show the
newest one live without computing it again.

`compute` may be replaced between steps (new settings from the page): the next evaluation uses
the new one. It must not call Streamlit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from gptviz.live.timeline import Frame
from gptviz.train import EvalEvent, Event, Trainer

Compute = Callable[[Any, EvalEvent | None], Frame]  # (model, the evaluation) -> frame


class EvalFrames:
    def __init__(self, trainer: Trainer, compute: Compute) -> None:
        self.trainer = trainer
        self.compute = compute
        self._latest: Frame | None = None
        self._count = 0  # frames computed so far
        self._lock = threading.Lock()
        trainer.add_callback(self._on_event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, EvalEvent):
            self._write(self.trainer.model, event.step, event)

    def _write(self, model: Any, step: int, event: EvalEvent | None) -> Frame:
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                frame = dict(self.compute(model, event))
        finally:
            model.train(was_training)
        frame["step"] = np.array([step], dtype=np.int64)
        with self._lock:
            self._latest = frame
            self._count += 1
        return frame

    def __call__(self, model: Any) -> Frame:
        """The recorder: the newest frame (computed now for the first one)."""
        with self._lock:
            latest = self._latest
        return latest if latest is not None else self._write(model, self.trainer.step_count,
                                                              None)

    def latest(self) -> tuple[int, Frame | None]:
        """(how many frames were computed so far, the newest), for the page's live view."""
        with self._lock:
            return self._count, self._latest


def frame_step(frame: Frame) -> int:
    """The step a frame of EvalFrames was computed at."""
    return int(frame["step"][0])
