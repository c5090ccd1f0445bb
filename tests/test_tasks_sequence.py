"""Document 000's task: windows, targets, and the messages for bad sequences."""

from __future__ import annotations

import pytest
import torch

from gptviz.config import ConfigError
from gptviz.tasks import SequenceTask


def test_windows_and_last_position_targets():
    task = SequenceTask("111101111011110", 2, 3)
    x, y = task.examples["train"]
    assert x.shape == y.shape == (12, 3)
    assert x[0].tolist() == [1, 1, 1] and y[0].tolist() == [-1, -1, 1]
    assert x[3].tolist() == [1, 0, 1] and y[3, -1].item() == 1
    batch_x, _ = task.get_batch("train", 64, torch.Generator().manual_seed(0))
    assert torch.equal(batch_x, x)  # a batch larger than the data is the whole data, in order


def test_every_position_scored_when_asked():
    x, y = SequenceTask("0120", 3, 2, last_only=False).examples["train"]
    assert x.tolist() == [[0, 1], [1, 2]]
    assert y.tolist() == [[1, 2], [2, 0]]


def test_spaces_are_ignored_and_larger_alphabets_work():
    task = SequenceTask("ab ba\nab", 12, 2)
    assert task.tokenizer.decode(task.ids) == "abbaab"
    assert task.vocab_size == 12


@pytest.mark.parametrize(
    "seq, vocab, ctx, words",
    [
        ("", 2, 3, "empty"),
        ("   ", 2, 3, "empty"),
        ("0120", 2, 3, "outside the vocabulary"),
        ("011", 2, 3, "at least 4"),
        ("0" * 30_000, 2, 3, "limit"),
        ("01", 99, 1, "vocabulary of 1 to 36"),
    ],
)
def test_bad_sequences_get_clear_messages(seq, vocab, ctx, words):
    with pytest.raises(ConfigError, match=words):
        SequenceTask(seq, vocab, ctx)
