"""A timeline of a training run: what the views need at recorded steps, to replay the run.

The weights are not kept (document 000's model is 6,304 numbers, a text model millions): a
page gives a `recorder(model) -> frame` that computes just what it draws (the state
probabilities, the attention for the chosen inputs), and the training thread calls it between
steps. Memory stays bounded: at most `max_frames` frames and `max_bytes` in all; when full,
every other frame is dropped and the spacing doubles (History's rule for loss points), so
10,000 steps keep frames spread evenly over the whole run (the newest at most one spacing
behind the model; the page draws the model itself for the present).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_FRAMES = 256
MAX_BYTES = 16 * 1024 * 1024  # per run: a class of 30 on a hosted app stays under 0.5 GB

Frame = dict[str, np.ndarray]
Recorder = Callable[[Any], Frame]  # model -> frame, run between steps in the training thread


def frame_bytes(frame: Frame) -> int:
    return sum(a.nbytes for a in frame.values())


@dataclass
class Timeline:
    """Frames at recorded steps, thinned to stay within max_frames and max_bytes."""

    max_frames: int = MAX_FRAMES
    max_bytes: int = MAX_BYTES
    steps: list[int] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    stride: int = 1  # record every `stride`-th step
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def due(self, step: int) -> bool:
        return step % self.stride == 0 and (not self.steps or step != self.steps[-1])

    def truncate(self, step: int) -> None:
        """Forget frames after `step` (training went back to it: a diverged run restored)."""
        with self._lock:
            cut = bisect.bisect_right(self.steps, step)
            del self.steps[cut:], self.frames[cut:]

    def add(self, step: int, frame: Frame) -> None:
        with self._lock:
            if self.steps and step <= self.steps[-1]:  # a step replayed after a restore
                cut = bisect.bisect_left(self.steps, step)
                del self.steps[cut:], self.frames[cut:]
            self.steps.append(step)
            self.frames.append(frame)
            per_frame = max(1, frame_bytes(frame))
            limit = max(2, min(self.max_frames, self.max_bytes // per_frame))
            while len(self.steps) > limit:
                self.stride *= 2
                keep = [i for i, s in enumerate(self.steps)
                        if s % self.stride == 0 or i == len(self.steps) - 1]
                self.steps = [self.steps[i] for i in keep]
                self.frames = [self.frames[i] for i in keep]

    def recorded(self) -> list[int]:
        with self._lock:
            return list(self.steps)

    def at(self, step: int) -> tuple[int, Frame] | None:
        """The frame recorded at `step`, or at the last recorded step before it."""
        with self._lock:
            if not self.steps:
                return None
            i = max(0, bisect.bisect_right(self.steps, step) - 1)
            return self.steps[i], self.frames[i]

    def nbytes(self) -> int:
        with self._lock:
            return sum(frame_bytes(f) for f in self.frames)
