"""Live training for a UI: background jobs that take turns for a few training slots.

- `slots.py`: FairSlots, at most N trainers at once, served first come, first served;
- `job.py`: BackgroundJob, a daemon thread that nothing ever waits for, and its Turns;
- `run.py`: LiveRun, a Trainer trained by such a job, with a history and a model view to read.
"""

from gptviz.live.job import SLICE_SECONDS, TRAINING_SLOTS, BackgroundJob, Turns
from gptviz.live.run import MAX_POINTS, History, LiveRun, Snapshot
from gptviz.live.slots import FairSlots, max_trainers_from_env
from gptviz.live.timeline import Timeline

__all__ = ["MAX_POINTS", "SLICE_SECONDS", "TRAINING_SLOTS", "BackgroundJob", "FairSlots",
           "History", "LiveRun", "Snapshot", "Timeline", "Turns", "max_trainers_from_env"]
