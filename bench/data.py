"""Workloads shared by the CPU and GPU parts: document 000 and a 65-symbol character corpus."""

from __future__ import annotations

from collections import Counter

from gptviz.config import DOC000_SEQUENCE
from gptviz.corpus import builtin_corpus
from gptviz.tasks import SequenceTask
from gptviz.tasks.text import TextTask
from gptviz.tokenizers import CharTokenizer

CHAR_VOCAB = 65  # nanoGPT's shakespeare_char alphabet size
OTHER = "~"  # every rarer character of the corpus becomes this one


def doc000_task() -> SequenceTask:
    return SequenceTask(DOC000_SEQUENCE, vocab_size=2, block_size=3)


def char65_task(block_size: int) -> TextTask:
    """The built-in corpus (offline) over 65 symbols: its 64 most frequent characters and one
    for all the others, so the model has shakespeare_char's vocabulary size on real text."""
    text = builtin_corpus()
    common = [c for c, _ in Counter(text).most_common(CHAR_VOCAB - 1) if c != OTHER]
    keep = set(common[:CHAR_VOCAB - 1])
    text = "".join(c if c in keep else OTHER for c in text)
    alphabet = sorted(keep) + [OTHER]
    return TextTask(text, CharTokenizer(alphabet), block_size, val_fraction=0.1)
