"""The self-labelled tasks: labels are right by construction, splits don't leak."""

from __future__ import annotations

import random

import pytest

from gptviz.config import ConfigError
from gptviz.corpus import builtin_corpus
from gptviz.gpt1.labelled import (
    LABELLED_TASKS,
    BackwardsTask,
    BothEnglishTask,
    ContinuationTask,
    RealEndingTask,
    WhichEnglishTask,
    corpus_regions,
    prose_lines,
    shuffle_words,
    spell_backwards,
)
from gptviz.tasks.text import TextTask
from gptviz.tokenizers import CharTokenizer


@pytest.fixture(scope="module")
def corpus() -> str:
    return builtin_corpus()


def test_spell_backwards_by_hand() -> None:
    assert spell_backwards("the key.") == "eht .yek"
    assert spell_backwards(" ab  cd") == " ba  dc"  # spaces stay where they were
    assert spell_backwards(spell_backwards("any text at all")) == "any text at all"


def test_shuffle_words_keeps_each_words_letters() -> None:
    rng = random.Random(0)
    text = "the dictionary keys."
    out = shuffle_words(text, rng)
    assert out != text and [len(w) for w in out.split(" ")] == [3, 10, 5]  # spaces stay
    assert [sorted(w) for w in out.split(" ")] == [sorted(w) for w in text.split(" ")]
    assert shuffle_words("a b c", rng) == "a b c"  # one-letter words have no other order


def test_regions_cut_where_text_task_cuts(corpus: str) -> None:
    regions = corpus_regions(corpus, 0.1)
    assert regions["train"] + regions["val"] == corpus
    tok = CharTokenizer.from_text(corpus)
    task = TextTask(corpus, tok, 64, val_fraction=0.1)
    assert tok.decode(task.data["val"].tolist()) == regions["val"]


def test_prose_lines_are_mostly_letters() -> None:
    text = "short\nThis is a line of plain English words.\n    x = f(a[0], b[1]) + {c: d} - 1\n"
    assert prose_lines(text, 10) == ["This is a line of plain English words."]


def test_backwards_labels(corpus: str) -> None:
    task = BackwardsTask(corpus, n_chars=48)
    region = corpus_regions(corpus)["train"]
    examples = task.examples("train", 200, seed=3)
    assert [ex.label for ex in examples] == [i % 2 for i in range(200)]  # balanced
    for ex in examples:
        assert ex.b is None and len(ex.a) == 48
        # forwards: a piece of the text as it is; backwards: a piece of it spelled backwards
        assert (ex.a in region) == (ex.label == 0)
        assert (spell_backwards(ex.a) in region) == (ex.label == 1)
        assert sorted(ex.a) == sorted(spell_backwards(ex.a))  # same letters either way
    small, rng = BackwardsTask(corpus, n_chars=12), random.Random(0)
    assert small.make_example(["the lazy dog"], 1, rng).a == "eht yzal god"
    assert small.make_example(["the lazy dog"], 0, rng).a == "the lazy dog"


def test_which_english_labels(corpus: str) -> None:
    task = WhichEnglishTask(corpus, n_chars=24)
    region = corpus_regions(corpus)["train"]
    for ex in task.examples("train", 100, seed=2):
        english, backwards = (ex.a, ex.b) if ex.label == 0 else (ex.b, ex.a)
        assert task.class_names[ex.label] == ("A" if english == ex.a else "B")
        assert english in region and spell_backwards(backwards) in region
        assert len(ex.a) == len(ex.b) == 24


def test_continuation_labels(corpus: str) -> None:
    task = ContinuationTask(corpus, n_chars=24)
    lines = task.regions["train"]
    for ex in task.examples("train", 100, seed=1):
        assert len(ex.a) == 24 and len(ex.b) == 24
        joined = ex.a + ex.b
        found = any(joined in line for line in lines)
        assert found == (ex.label == 1)


def is_english(piece: str, region: str) -> bool:
    """Independent of the task's code: a piece of the text as it is, or spelled backwards."""
    forwards, backwards = piece in region, spell_backwards(piece) in region
    assert forwards != backwards, piece  # exactly one of them is text from the region
    return forwards


def test_both_english_labels_are_about_the_pair(corpus: str) -> None:
    task = BothEnglishTask(corpus, n_chars=24)
    region = corpus_regions(corpus)["train"]
    examples = task.examples("train", 300, seed=4)
    assert [ex.label for ex in examples] == [i % 2 for i in range(300)]
    kinds = set()
    for ex in examples:
        assert len(ex.a) == len(ex.b) == 24 and ex.choices is None
        english = (is_english(ex.a, region), is_english(ex.b, region))
        assert ex.label == int(all(english))  # recomputed from the pair, whatever its order
        kinds.add(english)
    # every way of "not both" occurs: A backwards, B backwards, both backwards
    assert kinds == {(True, True), (True, False), (False, True), (False, False)}
    assert task.transformation == "similarity" and task.n_classes == 2


def test_real_ending_labels(corpus: str) -> None:
    task = RealEndingTask(corpus, n_context=24, n_ending=16, n_choices=4)
    lines = task.regions["train"]
    examples = task.examples("train", 120, seed=7)
    assert [ex.label for ex in examples] == [i % 4 for i in range(120)]  # each place as often
    for ex in examples:
        assert ex.b is None and len(ex.a) == 24 and len(ex.choices) == 4
        assert len(set(ex.choices)) == 4  # four different choices
        # the labelled one continues the context in a line of the text
        assert any(ex.a + ex.choices[ex.label] in line for line in lines)
        # the others are it with the letters inside each word shuffled
        real = ex.choices[ex.label].split(" ")
        for c in ex.choices:
            assert [sorted(w) for w in c.split(" ")] == [sorted(w) for w in real]
    assert task.class_names == ("choice 1", "choice 2", "choice 3", "choice 4")
    assert RealEndingTask(corpus, n_choices=3).n_classes == 3
    with pytest.raises(ConfigError, match="2 to 8 choices"):
        RealEndingTask(corpus, n_choices=1)


@pytest.mark.parametrize("name", list(LABELLED_TASKS))
def test_train_and_validation_do_not_overlap(corpus: str, name: str) -> None:
    task = LABELLED_TASKS[name](corpus)
    regions = corpus_regions(corpus)
    train, val = task.examples("train", 512, seed=0), task.examples("val", 256, seed=0)
    assert not set(train) & set(val)  # no example in both
    for split, examples in (("train", train), ("val", val)):
        # every text is from its own part of the corpus (as it is, or spelled backwards); a
        # multiple-choice context with its real ending (the others are shuffles of it)
        for ex in examples:
            if ex.choices is not None:
                assert ex.a + ex.choices[ex.label] in regions[split]
                continue
            for t in (ex.a, ex.b) if ex.b is not None else (ex.a,):
                assert t in regions[split] or spell_backwards(t) in regions[split], (split, t)


def test_validation_examples_come_from_held_out_text(corpus: str) -> None:
    regions = corpus_regions(corpus)
    for task in (BackwardsTask(corpus), ContinuationTask(corpus)):
        for ex in task.examples("val", 100):
            if task.name == "continues" or ex.label == 0:
                assert ex.a in regions["val"]  # A of every pair; the forwards pieces
        assert task.examples("val", 100) == task.examples("val", 100)  # fixed set


def test_more_examples_extend_fewer(corpus: str) -> None:
    task = BackwardsTask(corpus)
    assert task.examples("train", 128, seed=5)[:32] == task.examples("train", 32, seed=5)
    assert task.examples("train", 32, seed=5) != task.examples("train", 32, seed=6)


def test_too_little_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="lines of prose"):
        BackwardsTask("just a few words here\n" * 5)
