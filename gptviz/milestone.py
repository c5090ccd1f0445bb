"""When did training reach a goal? A Trainer callback that notes the first step and the time."""

from __future__ import annotations

import time

from gptviz.train import EvalEvent, Event, StepEvent


class TargetWatch:
    """A Trainer callback: the first evaluation at which held-out accuracy reached `target`.

    seconds counts training steps and evaluations only (not pauses): each step's own time, plus
    the time from a step's event to the evaluation event right after it.
    """

    def __init__(self, target: float = 0.99) -> None:
        self.target = target
        self.seconds = 0.0
        self.reached_step: int | None = None
        self.reached_seconds: float | None = None
        self._last_step_end: float | None = None

    def __call__(self, event: Event) -> None:
        now = time.perf_counter()
        if isinstance(event, StepEvent):
            self.seconds += event.seconds
            self._last_step_end = now
        elif isinstance(event, EvalEvent):
            if self._last_step_end is not None:
                self.seconds += now - self._last_step_end  # the evaluation's own time
                self._last_step_end = None
            if self.reached_step is None and event.metrics.get("accuracy", 0.0) >= self.target:
                self.reached_step, self.reached_seconds = event.step, self.seconds
