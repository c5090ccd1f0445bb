"""Induction heads' task: random tokens, then the same tokens again.

Sequences of `seq_len` tokens in one of two layouts (drawn and explained in gptviz/induction.py):
"fixed", TransformerLens's demo (n = seq_len / 2 random tokens, then the same n again), or
"varied" (a separator run, n random tokens, `|`, the same n again, padding; n and the start
drawn per sequence, so no positional shortcut copies the repeat). The model reads seq[:-1] and
predicts seq[1:]. Tokens are drawn uniformly and independently, so one may occur twice.

Training batches are fresh every step, drawn from the Trainer's generator. The validation
sequences are a fixed set drawn once from `split_seed`; the task's metrics (the losses of the
two halves, every head's induction and previous-token scores) are measured on them.
"""

from __future__ import annotations

import torch

from gptviz.ablate import Ablation, ablate
from gptviz.config import ConfigError
from gptviz.i18n import _
from gptviz.induction import Layout, Scores, floor_fixed, floor_varied, measure
from gptviz.tasks.base import Split, Task
from gptviz.tokenizers import CharTokenizer

# one readable symbol per token, for the heatmaps' labels; the separator comes after them
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#%"
SEPARATOR = "|"
MAX_VOCAB = len(ALPHABET)
MAX_SEQ_LEN = 256
LAYOUTS = ("fixed", "varied")
VAL_SEQUENCES = 256  # the fixed validation set: the validation loss and the metrics


def check_settings(seq_len: int, vocab_size: int, layout: str, min_half: int) -> int:
    """The longest half n for these settings; ConfigError (a ValueError) with a sentence if
    they cannot make a sequence that repeats."""
    if layout not in LAYOUTS:
        raise ConfigError(_("The layout must be one of {layouts}, not {layout!r}.").format(
            layouts=", ".join(LAYOUTS), layout=layout))
    if not 2 <= vocab_size <= MAX_VOCAB:
        raise ConfigError(_("The induction task takes 2 to {most} random tokens, not "
                            "{asked}.").format(most=MAX_VOCAB, asked=vocab_size))
    if seq_len > MAX_SEQ_LEN:
        raise ConfigError(_("Sequences of up to {most} tokens are allowed here, not "
                            "{asked}.").format(most=MAX_SEQ_LEN, asked=seq_len))
    if layout == "fixed":
        if seq_len % 2:
            raise ConfigError(_("A sequence of {n} tokens cannot be cut into two equal "
                                "halves: choose an even length.").format(n=seq_len))
        if seq_len < 4:
            raise ConfigError(_("A sequence of {n} tokens is too short to repeat: it needs at "
                                "least 4 (2 random tokens, then the same 2 again).").format(
                n=seq_len))
        return seq_len // 2
    if seq_len < 6:
        raise ConfigError(_("A sequence of {n} tokens is too short to repeat with separators: "
                            "it needs at least 6 (|, 2 random tokens, |, the same 2 "
                            "again).").format(n=seq_len))
    longest = (seq_len - 2) // 2
    if not 2 <= min_half <= longest:
        raise ConfigError(_("The shortest half must be 2 to {longest} tokens (the longest that "
                            "fits {n}), not {asked}.").format(longest=longest, n=seq_len,
                                                              asked=min_half))
    return longest


class InductionTask(Task):
    name = "induction"
    description = ("Random tokens, then the same tokens again: the second half can be "
                   "predicted only by finding the earlier copy of the current token.")

    def __init__(self, seq_len: int = 32, vocab_size: int = 64, layout: str = "fixed",
                 min_half: int = 2, split_seed: int = 2024) -> None:
        """seq_len: tokens per sequence (the model reads seq_len - 1); vocab_size: the random
        tokens V (the varied layout adds the separator); min_half: varied only, the shortest
        half (the longest is (seq_len - 2) // 2)."""
        self.max_half = check_settings(seq_len, vocab_size, layout, min_half)
        self.seq_len = seq_len
        self.layout_name = layout
        self.min_half = self.max_half if layout == "fixed" else min_half
        self.block_size = seq_len - 1
        self.n_tokens = vocab_size  # V: the random tokens
        self.separator = vocab_size if layout == "varied" else None
        alphabet = ALPHABET[:vocab_size] + (SEPARATOR if layout == "varied" else "")
        self.tokenizer = CharTokenizer(alphabet, name="tokens")
        self.val = self.batch(VAL_SEQUENCES, torch.Generator().manual_seed(split_seed))

    # --- the data -------------------------------------------------------------------------
    def sequences(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """(count, seq_len) sequences in this task's layout."""
        if self.layout_name == "fixed":
            half = torch.randint(self.n_tokens, (count, self.max_half), generator=generator)
            return torch.cat([half, half], dim=1)
        T, sep = self.seq_len, self.separator
        n = torch.randint(self.min_half, self.max_half + 1, (count, 1), generator=generator)
        # the first token's position: 1 .. T - 2n - 1 (a separator before it, one between)
        start = 1 + (torch.rand((count, 1), generator=generator) * (T - 2 * n - 1)).long()
        tokens = torch.randint(self.n_tokens, (count, self.max_half), generator=generator)
        i = torch.arange(T).view(1, -1) - start  # positions counted from the first token
        src = torch.where(i < n, i, i - n - 1).clamp(0, self.max_half - 1)
        seq = tokens.gather(1, src)  # the first copy, then the repeat
        return seq.masked_fill((i < 0) | (i == n) | (i > 2 * n), sep)

    def batch(self, count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y), each (count, seq_len - 1): inputs and targets, -1 where nothing is scored."""
        seq = self.sequences(count, generator)
        x, y = seq[:, :-1], seq[:, 1:].clone()
        if self.separator is not None:
            y[y == self.separator] = -1  # only the random tokens are scored
        return x, y

    def get_batch(self, split: Split, batch_size: int,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if split == "val":
            ix = torch.randint(VAL_SEQUENCES, (batch_size,), generator=generator)
            return self.val[0][ix], self.val[1][ix]
        return self.batch(batch_size, generator)

    def has_split(self, split: Split) -> bool:
        return split in ("train", "val")

    def eval_batches(self, split: Split, batch_size: int, n_batches: int,
                     generator: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
        if split == "val":
            return [self.val]  # all of them, every time
        return super().eval_batches(split, batch_size, n_batches, generator)

    def entropy_floor(self) -> float:
        if self.layout_name == "fixed":
            return floor_fixed(self.seq_len, self.n_tokens)
        return floor_varied(self.n_tokens)

    def layout(self, x: torch.Tensor) -> Layout:
        """Where the copies sit in each sequence of x (B, seq_len - 1)."""
        if self.separator is None:
            return Layout.fixed(len(x), self.max_half)
        sep = x == self.separator
        first = (~sep).int().argmax(dim=1)
        i = torch.arange(x.shape[1], device=x.device)
        middle = (sep & (i >= first.view(-1, 1))).int().argmax(dim=1)  # the separator between
        return Layout(first, middle + 1, middle - first)

    # --- what is measured -----------------------------------------------------------------
    def metric_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The sequences the metrics are measured on: the whole validation set."""
        return self.val

    def scores(self, model: torch.nn.Module, ablation: Ablation | None = None) -> Scores:
        """The losses of both halves and every head's scores, on the metric sequences; with
        `ablation`, measured with those parts switched off (gptviz.ablate: hooks, removed
        afterwards; the weights are never touched)."""
        if not ablation:
            return measure(model, *self.metric_batch(), self.layout)
        with ablate(model, ablation):
            return measure(model, *self.metric_batch(), self.layout)

    def metrics(self, model: torch.nn.Module) -> dict[str, float]:
        return self.scores(model).metrics()

    def sample(self, index: int = 0) -> tuple[torch.Tensor, Layout]:
        """One validation sequence's input (1, L), cut after its last scored input, and its
        layout: the page's example (the longest from `index` on, to show the most)."""
        x = self.val[0]
        lay = self.layout(x)
        i = index % VAL_SEQUENCES
        i = i + int(lay.n[i:].argmax())
        end = int(lay.copy[i] + lay.n[i] - 1)  # the repeat's t_{n-2}, the last scored input
        one = Layout(lay.first[i:i + 1], lay.copy[i:i + 1], lay.n[i:i + 1])
        return x[i: i + 1, :end], one
