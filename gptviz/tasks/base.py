"""What every task gives the Trainer: a tokenizer, batches of (input, target), and a name.

Targets are next-token ids aligned with the inputs, (B, T), with -1 where no loss is taken
(document 000 scores only the last position; minGPT's adder scores only the answer digits).
Adding a task is one small file: subclass `ExampleTask` (all examples fit in memory) or `Task`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from gptviz.tokenizers import Tokenizer

Split = str  # "train" or "val"


class Task(ABC):
    name: str
    description: str
    tokenizer: Tokenizer
    block_size: int

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @abstractmethod
    def get_batch(
        self, split: Split, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y), each (B, T) int64: inputs and next-token targets (-1 = no loss)."""

    def has_split(self, split: Split) -> bool:
        return split == "train"

    def eval_batches(self, split: Split, batch_size: int, n_batches: int,
                     generator: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The batches the Trainer's evaluation averages: n_batches random ones."""
        return [self.get_batch(split, batch_size, generator) for _ in range(n_batches)]

    def full_batch(self, batch_size: int) -> bool:
        """Whether every training batch of this size is all the training examples, in order."""
        return False

    def entropy_floor(self) -> float | None:
        """The lowest mean loss any model with this context can reach on the training data."""
        return None

    def metrics(self, model: torch.nn.Module) -> dict[str, float]:
        """Task-specific measurements taken at evaluation time (e.g. held-out accuracy)."""
        return {}


class ExampleTask(Task):
    """A task whose examples are all known: tensors X, Y of shape (N, T) per split."""

    def __init__(self, examples: dict[Split, tuple[torch.Tensor, torch.Tensor]]) -> None:
        for split, (x, y) in examples.items():
            if x.ndim != 2 or x.shape != y.shape or len(x) == 0:
                raise ValueError(f"{split}: x and y must be non-empty (N, T), got "
                                 f"{tuple(x.shape)} and {tuple(y.shape)}")
        self.examples = examples

    def has_split(self, split: Split) -> bool:
        return split in self.examples

    def full_batch(self, batch_size: int) -> bool:
        # only get_batch's own behaviour counts: a subclass that samples its training batches
        # some other way (ProblemTask) says False
        return (type(self).get_batch is ExampleTask.get_batch and "train" in self.examples
                and batch_size >= len(self.examples["train"][0]))

    def eval_batches(self, split: Split, batch_size: int, n_batches: int,
                     generator: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
        if split in self.examples and batch_size >= len(self.examples[split][0]):
            # all of them: get_batch gives every example (n copies give the same mean)
            return [self.examples[split]]
        return super().eval_batches(split, batch_size, n_batches, generator)

    def get_batch(
        self, split: Split, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.examples[split]
        if batch_size >= len(x):
            return x, y  # all of them, in order (document 000 trains on its 12 windows at once)
        ix = torch.randint(len(x), (batch_size,), generator=generator)
        return x[ix], y[ix]

    def entropy_floor(self) -> float | None:
        from gptviz.analysis import conditional_entropy

        x, y = self.examples["train"]
        return conditional_entropy(x, y)
