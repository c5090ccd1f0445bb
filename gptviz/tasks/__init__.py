"""Tasks: one small file each."""

from gptviz.tasks.base import ExampleTask, Task
from gptviz.tasks.sequence import SequenceTask

__all__ = ["ExampleTask", "SequenceTask", "Task"]
