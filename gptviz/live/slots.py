"""Training slots: at most N models train at once, and waiting trainers are served in order.

One server process serves a whole class, and each training step keeps a core busy, so only a
few trainers may run at a time (GPTVIZ_MAX_TRAINERS, default 2 for a 2-core host). A plain
semaphore is not enough: a trainer that releases its slot and asks again at once usually gets
it straight back, so the others would wait forever. FairSlots keeps a first-come, first-served
queue, and LiveRun gives its slot up every few seconds while anyone waits (a time slice), so
a class of 30 all make progress, each at about N/30 of the machine.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque

DEFAULT_MAX_TRAINERS = 2
ENV_MAX_TRAINERS = "GPTVIZ_MAX_TRAINERS"


def max_trainers_from_env(default: int = DEFAULT_MAX_TRAINERS) -> int:
    """GPTVIZ_MAX_TRAINERS as a number from 1 to 64; anything else gives the default."""
    try:
        n = int(os.environ.get(ENV_MAX_TRAINERS, str(default)))
    except ValueError:
        return default
    return min(64, max(1, n))


class FairSlots:
    """A counting semaphore whose waiters are served first come, first served."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._cond = threading.Condition()
        self._holders = 0
        self._queue: deque[object] = deque()

    def acquire(self, stop: threading.Event | None = None, timeout: float | None = None,
                ticket: object | None = None) -> bool:
        """Wait in line for a slot; False if `stop` is set or `timeout` passes first."""
        ticket = object() if ticket is None else ticket
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._queue.append(ticket)
            try:
                while not (self._queue[0] is ticket and self._holders < self.capacity):
                    if stop is not None and stop.is_set():
                        return False
                    wait = 0.1  # wake now and then to notice `stop`
                    if deadline is not None:
                        wait = min(wait, deadline - time.monotonic())
                        if wait <= 0:
                            return False
                    self._cond.wait(wait)
                self._queue.popleft()
                self._holders += 1
                return True
            finally:
                if ticket in self._queue:  # gave up: leave the line
                    self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may go now

    def release(self) -> None:
        with self._cond:
            if self._holders <= 0:
                raise ValueError("FairSlots released more often than acquired")
            self._holders -= 1
            self._cond.notify_all()

    def waiting(self) -> int:
        """How many are in line for a slot."""
        with self._cond:
            return len(self._queue)

    def position(self, ticket: object) -> int:
        """1 for the first in line, 2 for the next, ...; 0 if `ticket` is not waiting."""
        with self._cond:
            for i, t in enumerate(self._queue):
                if t is ticket:
                    return i + 1
            return 0

    def in_use(self) -> int:
        with self._cond:
            return self._holders
