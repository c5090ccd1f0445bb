"""Language modelling on a corpus: windows slid over the text (document 003's picture).

Every window of block_size + 1 tokens gives one example: the first block_size tokens are the
input, the same window shifted by one is the target, so every position is scored.
"""

from __future__ import annotations

import torch

from gptviz.config import ConfigError
from gptviz.i18n import _
from gptviz.tasks.base import Split, Task
from gptviz.tokenizers import Tokenizer


class TextTask(Task):
    name = "text"
    description = "Predict the next token of a text corpus, at every position of a window."

    def __init__(self, text: str, tokenizer: Tokenizer, block_size: int,
                 val_fraction: float = 0.1) -> None:
        self.tokenizer = tokenizer
        self.block_size = block_size
        ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
        n_val = int(len(ids) * val_fraction)
        self.data: dict[Split, torch.Tensor] = {"train": ids[: len(ids) - n_val]}
        if n_val > 0:
            self.data["val"] = ids[len(ids) - n_val:]
        for split, d in self.data.items():
            if len(d) < block_size + 1:
                said = (_("The train text has {n} tokens; context length {context} needs at "
                          "least {needed}. Use more text or a shorter context.") if split == "train"
                        else _("The val text has {n} tokens; context length {context} needs at "
                               "least {needed}. Use more text or a shorter context."))
                raise ConfigError(said.format(n=len(d), context=block_size,
                                              needed=block_size + 1))

    def has_split(self, split: Split) -> bool:
        return split in self.data

    def windows(self, split: Split, ix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The (input, target) pairs of the windows starting at token offsets ix."""
        d = self.data[split]
        x = torch.stack([d[i: i + self.block_size] for i in ix.tolist()])
        y = torch.stack([d[i + 1: i + 1 + self.block_size] for i in ix.tolist()])
        return x, y

    def get_batch(
        self, split: Split, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.data[split]
        ix = torch.randint(len(d) - self.block_size, (batch_size,), generator=generator)
        return self.windows(split, ix)
