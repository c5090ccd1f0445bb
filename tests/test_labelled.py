"""The self-labelled tasks: labels are right by construction, splits don't leak."""

from __future__ import annotations

import random

import pytest

from gptviz.config import ConfigError
from gptviz.corpus import builtin_corpus
from gptviz.tasks.labelled import (
    ContinuationTask,
    TypoTask,
    corpus_regions,
    prose_lines,
    swap_letters,
)
from gptviz.tasks.text import TextTask
from gptviz.tokenizers import CharTokenizer


@pytest.fixture(scope="module")
def corpus() -> str:
    return builtin_corpus()


def test_swap_letters_by_hand() -> None:
    # "ab cd": the only letter pairs are (0,1) and (3,4); two swaps must use both
    assert swap_letters("ab cd", 2, random.Random(0)) == "ba dc"
    # a pair of equal letters is never "swapped" (that would change nothing)
    assert swap_letters("aab", 1, random.Random(0)) == "aba"
    with pytest.raises(ValueError):
        swap_letters("a b", 1, random.Random(0))


def test_regions_cut_where_text_task_cuts(corpus: str) -> None:
    regions = corpus_regions(corpus, 0.1)
    assert regions["train"] + regions["val"] == corpus
    tok = CharTokenizer.from_text(corpus)
    task = TextTask(corpus, tok, 64, val_fraction=0.1)
    assert tok.decode(task.data["val"].tolist()) == regions["val"]


def test_prose_lines_are_mostly_letters() -> None:
    text = "short\nThis is a line of plain English words.\n    x = f(a[0], b[1]) + {c: d} - 1\n"
    assert prose_lines(text, 10) == ["This is a line of plain English words."]


def test_typo_labels_by_hand(corpus: str) -> None:
    task = TypoTask(corpus, n_chars=20, n_swaps=2)
    line = "the lazy brown foxes"  # 20 characters: the fragment is the whole line
    rng = random.Random(0)
    ok = task.make_example([line], 0, rng)
    assert (ok.a, ok.b, ok.label) == (line, None, 0)
    for _ in range(20):
        typo = task.make_example([line], 1, rng)
        assert typo.label == 1 and typo.b is None
        diff = [j for j in range(20) if typo.a[j] != line[j]]
        # exactly two pairs of neighbouring letters, each swapped
        assert len(diff) == 4 and diff[1] == diff[0] + 1 and diff[3] == diff[2] + 1
        for j in diff[::2]:
            assert (typo.a[j], typo.a[j + 1]) == (line[j + 1], line[j])
            assert line[j].isalpha() and line[j + 1].isalpha()


def test_typo_examples_from_the_corpus(corpus: str) -> None:
    task = TypoTask(corpus, n_chars=48, n_swaps=2)
    region = corpus_regions(corpus)["train"]
    examples = task.examples("train", 200, seed=3)
    assert [ex.label for ex in examples] == [i % 2 for i in range(200)]  # balanced
    for ex in examples:
        assert ex.b is None and len(ex.a) == 48
        # as written -> found in the text; with swapped letters -> not
        assert (ex.a in region) == (ex.label == 0)


def test_continuation_labels(corpus: str) -> None:
    task = ContinuationTask(corpus, n_chars=24)
    lines = task.regions["train"]
    for ex in task.examples("train", 100, seed=1):
        assert len(ex.a) == 24 and len(ex.b) == 24
        joined = ex.a + ex.b
        found = any(joined in line for line in lines)
        assert found == (ex.label == 1)


def test_validation_examples_come_from_held_out_text(corpus: str) -> None:
    regions = corpus_regions(corpus)
    for task in (TypoTask(corpus), ContinuationTask(corpus)):
        for ex in task.examples("val", 100):
            if task.name == "continues" or ex.label == 0:
                assert ex.a in regions["val"]  # A of every pair; the untouched typo lines
        assert task.examples("val", 100) == task.examples("val", 100)  # fixed set


def test_more_examples_extend_fewer(corpus: str) -> None:
    task = TypoTask(corpus)
    assert task.examples("train", 128, seed=5)[:32] == task.examples("train", 32, seed=5)
    assert task.examples("train", 32, seed=5) != task.examples("train", 32, seed=6)


def test_too_little_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="lines of prose"):
        TypoTask("just a few words here\n" * 5)
