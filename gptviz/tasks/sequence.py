"""Document 000's task: one typed sequence over a small alphabet, cut into windows.

"111101111011110" with context 3 gives 12 examples: each 3-symbol window -> the next symbol.
"""

from __future__ import annotations

import torch

from gptviz.config import ConfigError
from gptviz.i18n import _
from gptviz.tasks.base import ExampleTask
from gptviz.tokenizers import CharTokenizer, TokenizerError

MAX_SEQUENCE_CHARS = 20_000
EVAL_CHUNK = 2_048  # windows per forward when the loss is taken over all of them


def default_alphabet(vocab_size: int) -> str:
    """Symbols 0-9 then a-z: vocab 2 is "01", as in document 000."""
    symbols = "0123456789abcdefghijklmnopqrstuvwxyz"
    if not 1 <= vocab_size <= len(symbols):
        raise ConfigError(_("The sequence task takes a vocabulary of 1 to {most} "
                            "symbols.").format(most=len(symbols)))
    return symbols[:vocab_size]


class SequenceTask(ExampleTask):
    """Every window of `block_size` symbols predicts the symbol after it.

    last_only=True scores only the last position, exactly as document 000 does; False scores
    every position of each window (the model then also learns the shorter prefixes).
    """

    name = "sequence"
    description = "Predict the next symbol of a typed sequence from the previous ones."

    def __init__(self, sequence: str, vocab_size: int, block_size: int,
                 last_only: bool = True) -> None:
        sequence = "".join(sequence.split())  # spaces and newlines are only for readability
        self.tokenizer = CharTokenizer(default_alphabet(vocab_size))
        self.block_size = block_size
        self.sequence = sequence
        self.last_only = last_only
        if not sequence:
            raise ConfigError(_("The training sequence is empty: type some symbols, e.g. "
                                "0110."))
        if len(sequence) > MAX_SEQUENCE_CHARS:
            raise ConfigError(_("The sequence has {n:,} symbols; the limit is {most:,}.").format(
                n=len(sequence), most=MAX_SEQUENCE_CHARS))
        try:
            ids = self.tokenizer.encode(sequence)
        except TokenizerError as e:
            raise ConfigError(_("The sequence uses symbols outside the vocabulary of size "
                                "{vocab}: {error}").format(vocab=vocab_size, error=e)) from None
        if len(ids) < block_size + 1:
            raise ConfigError(_(
                "The sequence has {n} symbols; with context length {context} it needs at least "
                "{needed} (a window of {context} plus the symbol after it).").format(
                n=len(ids), context=block_size, needed=block_size + 1))
        self.ids = ids
        data = torch.tensor(ids, dtype=torch.long)
        n = len(ids) - block_size
        x = torch.stack([data[i:i + block_size] for i in range(n)])  # (N, T)
        y = torch.stack([data[i + 1:i + 1 + block_size] for i in range(n)])  # (N, T)
        if last_only:
            y[:, :-1] = -1
        super().__init__({"train": (x, y)})

    def eval_batches(self, split: str, batch_size: int, n_batches: int,
                     generator: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Every window, whatever the batch size (in chunks of EVAL_CHUNK windows): the
        training loss is then the full-data loss, which the entropy floor bounds from below.
        A sequence has at most MAX_SEQUENCE_CHARS windows, so this stays cheap."""
        x, y = self.examples[split]
        if batch_size >= len(x):
            return [(x, y)]
        return [(x[i:i + EVAL_CHUNK], y[i:i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
