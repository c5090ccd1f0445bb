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
from collections.abc import Iterator
from contextlib import contextmanager

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


ENV_REDRAW_BUDGET = "GPTVIZ_REDRAW_BUDGET"


def redraw_budget_from_env(default: float = 20.0) -> float:
    """Live redraws a second one server process keeps up with: 20 measured on a 2-core host
    (README, "A classroom at once"); scripts/serve.sh divides it among the replicas it starts
    on one machine. GPTVIZ_REDRAW_BUDGET as a number from 1 to 1000, else the default."""
    try:
        v = float(os.environ.get(ENV_REDRAW_BUDGET, str(default)))
    except ValueError:
        return default
    return min(1000.0, max(1.0, v)) if v == v else default


REDRAW_BUDGET = redraw_budget_from_env()

# The share of the interpreter (one core's worth: Python's lock) that the live views' redraws
# may take together; the rest is the trainers', the websockets' and newcomers' pages'. Past
# all of it nothing is left: measured with ten sessions on Baby GPT's page, whose redraw costs
# about 41 ms of CPU, 20 redraws a second took the whole interpreter, the ten made 32-48 steps
# in 20 s instead of 661 at 10 redraws a second, and a newcomer's page took 14-22 s.
DRAW_SHARE = 0.35
# a redraw's cost before any has been measured: 20 redraws a second, the budget measured for
# the first live views (README, "A classroom at once")
FIRST_COST = DRAW_SHARE / 20


class DrawMeter:
    """What a live view's redraw costs this process: the CPU time of the redrawing thread (the
    time it held the interpreter), averaged over about the last 20 redraws of any page."""

    def __init__(self, first: float = FIRST_COST, weight: float = 0.05) -> None:
        self._lock = threading.Lock()
        self._cost = first
        self._weight = weight

    def add(self, seconds: float) -> None:
        with self._lock:
            self._cost += self._weight * (max(0.0, seconds) - self._cost)

    @property
    def cost(self) -> float:
        with self._lock:
            return self._cost

    @contextmanager
    def measure(self) -> Iterator[None]:
        """Time the redraw in the `with` block (its thread's CPU time, not the wall clock)."""
        t0 = time.thread_time()
        try:
            yield
        finally:
            self.add(time.thread_time() - t0)

    def budget(self, cap: float = REDRAW_BUDGET, share: float = DRAW_SHARE) -> float:
        """Redraws a second that this process affords: `share` of the interpreter at the
        measured cost, at most `cap` (GPTVIZ_REDRAW_BUDGET)."""
        return min(cap, share / max(self.cost, 1e-4))


DRAWS = DrawMeter()

# a live view's interval is `base` times one of these: fine enough that a class a little over a
# step's limit is not slowed down by half
LADDER = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


def redraw_interval(active: int, base: float = 0.5, budget: float | None = None,
                    current: float | None = None) -> float:
    """Seconds between a live view's redraws for a class of `active` sessions in this
    process (those with a training page open, or training): `base` for a small class, longer
    (up to 8x) as the class grows, so the redraws of all sessions together stay within
    `budget` a second (default: what DRAWS measures this process affords). Past that, the
    server cannot keep up: redraws pile up, the trainers starve and every view stalls.

    current: the interval the view ticks at now. It only speeds up again once the class is
    clearly smaller (a quarter under the faster step's limit), so that a class whose size
    hovers at a boundary does not make every view switch back and forth.
    """
    budget = DRAWS.budget() if budget is None else budget
    need = max(0, active) / budget
    steps = [base * k for k in LADDER]
    want = next((s for s in steps if s >= need), steps[-1])
    if current in steps and want < current:
        faster = steps[steps.index(current) - 1]
        if need > 0.75 * faster:
            return current
    return want


class SessionCount:
    """How many browser sessions have a training page open in this process (thread-safe):
    the size of the class, known before anyone presses Train."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._n = 0

    def opened(self) -> None:
        with self._lock:
            self._n += 1

    def closed(self) -> None:
        with self._lock:
            self._n = max(0, self._n - 1)

    @property
    def value(self) -> int:
        with self._lock:
            return self._n


OPEN_SESSIONS = SessionCount()
