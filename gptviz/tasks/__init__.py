"""Tasks: one small file each. `TASKS` builds any of them by name (the command line uses it)."""

from __future__ import annotations

from collections.abc import Callable

from gptviz.config import DOC000_SEQUENCE
from gptviz.tasks.addition import AdditionTask
from gptviz.tasks.base import ExampleTask, Task
from gptviz.tasks.induction import InductionTask
from gptviz.tasks.problems import ProblemError, ProblemTask, Solution
from gptviz.tasks.sequence import SequenceTask
from gptviz.tasks.sorting import SortingTask
from gptviz.tasks.text import TextTask


def make_text_task(text: str | None = None, block_size: int = 64,
                   val_fraction: float = 0.1) -> TextTask:
    """Characters of `text` (default: the built-in corpus), windows of block_size."""
    from gptviz.corpus import builtin_corpus
    from gptviz.tokenizers import CharTokenizer

    text = builtin_corpus() if text is None else text
    return TextTask(text, CharTokenizer.from_text(text), block_size, val_fraction)


def make_sequence_task(sequence: str = DOC000_SEQUENCE, vocab_size: int = 2,
                       block_size: int = 3, last_only: bool = True) -> SequenceTask:
    return SequenceTask(sequence, vocab_size, block_size, last_only)


# name -> factory taking keyword options, each with a default
TASKS: dict[str, Callable[..., Task]] = {
    "addition": AdditionTask,
    "induction": InductionTask,
    "sorting": SortingTask,
    "sequence": make_sequence_task,
    "text": make_text_task,
}

__all__ = ["TASKS", "AdditionTask", "ExampleTask", "InductionTask", "ProblemError", "ProblemTask",
           "SequenceTask", "Solution", "SortingTask", "Task", "TextTask", "make_sequence_task",
           "make_text_task"]
