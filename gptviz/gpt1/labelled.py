"""Labelled tasks for fine-tuning (GPT-1's stage 2), labelled by the project itself, offline.

GPT-1 fine-tunes on small labelled sets (sentence classification, entailment, similarity, ...).
We have no labelled data offline, so we make tasks out of the built-in corpus whose labels are
known by construction, and which a model that has read English should find easier than one that
has never seen text:

- `BackwardsTask` (one input, like GPT-1's CoLA, "is this acceptable English?"): is this line of
  the docs written normally, or is every word spelled backwards ("eht yek")? Both have the same
  letters, spaces and word lengths: only knowing how English words go tells them apart.
- `WhichEnglishTask` (two inputs, so it needs the delimiter): of two pieces of text A and B, one
  is written normally and the other backwards: which one is English? Only the delimiter says
  where A ends and B begins.
- `ContinuationTask` (two inputs, like GPT-1's entailment): does fragment B continue fragment A
  in the original text, or was it taken from elsewhere? The pre-trained model can tell (its own
  next-character loss at the junction separates the classes), but at this scale neither starting
  point learns to say so through the classifier in a few minutes: the hard case, kept to show it.
- `BothEnglishTask` (two inputs without an order, GPT-1's similarity): are A and B both written
  normally, or is at least one spelled backwards? The label is a property of the pair, not of
  which text comes first, as a similarity must be.
- `RealEndingTask` (GPT-1's multiple choice): a line's start, and four endings: the real one and
  three copies of it with the characters inside each word shuffled. Which ending is real?

Harder versions of the last two that ask about the texts' relation (are A and B from the same
line? near-copies of one line? which ending, the others taken from other lines, continues the
start?) stayed at chance from both starting points in 150 steps, like `ContinuationTask`.

Examples come from single lines of prose (mostly letters, leading indentation removed).
`corpus_regions` splits the text as `TextTask(text, tok, block, val_fraction)` does: labelled
training examples come from the part pre-training trains on, validation examples from the held-out
end that pre-training never trains on, so accuracy is measured on text no model has seen.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass

from gptviz.config import ConfigError
from gptviz.i18n import N_

HELD_OUT_FRACTION = 0.1  # the end of the corpus: pre-training's validation text, never trained on
MIN_LETTERS = 0.7  # share of letters that makes a line count as prose (English has about 0.8)


@dataclass(frozen=True)
class LabelledExample:
    a: str  # the text (first input); multiple choice: the context
    b: str | None  # the second input, for two-input tasks; None for one-input tasks
    label: int  # index into the task's class_names; multiple choice: the right choice's index
    choices: tuple[str, ...] | None = None  # multiple choice: the candidates; None otherwise


def corpus_regions(text: str, held_out_fraction: float = HELD_OUT_FRACTION) -> dict[str, str]:
    """{"train": start of the text, "val": the held-out end}, cut where TextTask cuts."""
    n_val = int(len(text) * held_out_fraction)
    return {"train": text[: len(text) - n_val], "val": text[len(text) - n_val:]}


def prose_lines(text: str, min_chars: int) -> list[str]:
    """Lines (indentation removed) of at least min_chars that read as prose.

    Prose: mostly letters, and no runs of spaces (those are tables and aligned code comments).
    """
    lines = []
    for line in text.split("\n"):
        line = line.strip()
        if len(line) < min_chars or "   " in line:
            continue
        if sum(c.isalpha() for c in line) >= MIN_LETTERS * len(line):
            lines.append(line)
    return lines


def spell_backwards(text: str) -> str:
    """Every word (characters between spaces) reversed in place: "the key." -> "eht .yek"."""
    return " ".join(word[::-1] for word in text.split(" "))


def shuffle_words(text: str, rng: random.Random) -> str:
    """Every word's characters in a random order, spaces where they were: "the key." ->
    "teh e.yk" (sometimes unchanged: a text of one-letter words has no other order)."""
    return " ".join("".join(rng.sample(word, len(word))) for word in text.split(" "))


class LabelledTask(ABC):
    """A classification task: examples (a, b, label) drawn reproducibly from a corpus."""

    name: str
    title: str
    description: str
    class_names: tuple[str, ...]
    two_inputs: bool
    # how an example becomes token sequences (gptviz.gpt1.finetune.TRANSFORMATIONS)
    transformation: str = "classification"

    def __init__(self, text: str, held_out_fraction: float = HELD_OUT_FRACTION) -> None:
        self.regions = {split: prose_lines(region, self.min_line_chars)
                        for split, region in corpus_regions(text, held_out_fraction).items()}
        for split, lines in self.regions.items():
            if len(lines) < 20:
                raise ConfigError(
                    f"The {split} part of the text has {len(lines)} lines of prose at least "
                    f"{self.min_line_chars} characters long; the {self.title} task needs 20 or "
                    f"more. Use a longer text."
                )

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    @abstractmethod
    def min_line_chars(self) -> int:
        """Lines shorter than this give no example."""

    @property
    @abstractmethod
    def max_chars(self) -> int:
        """Characters of text in one example (both inputs together)."""

    @abstractmethod
    def make_example(self, lines: list[str], label: int, rng: random.Random) -> LabelledExample:
        """One example with the given label, from these lines."""

    def examples(self, split: str, n: int, seed: int = 0) -> list[LabelledExample]:
        """n examples from split, labels in turn (balanced), the same for the same seed.

        The first n of a larger draw are the n of a smaller one's superset: examples(s, 32) is
        examples(s, 128)[:32], so curves over the number of examples add data, not new data.
        """
        if split not in self.regions:
            raise ValueError(f"Unknown split {split!r}; use 'train' or 'val'.")
        rng = random.Random(f"{self.name}/{split}/{seed}")
        return [self.make_example(self.regions[split], i % self.n_classes, rng)
                for i in range(n)]


class BackwardsTask(LabelledTask):
    name = "backwards"
    title = N_("Forwards or backwards? (one input)")
    description = N_("One input. Is this piece of a line of the Python docs written normally "
                   "(forwards), or is every word spelled backwards? Both have the same letters, "
                   "spaces and word lengths: only knowing how English words go tells them apart.")
    class_names = ("forwards", "backwards")
    two_inputs = False

    def __init__(self, text: str, n_chars: int = 48,
                 held_out_fraction: float = HELD_OUT_FRACTION) -> None:
        self.n_chars = n_chars
        super().__init__(text, held_out_fraction)

    @property
    def min_line_chars(self) -> int:
        return self.n_chars

    @property
    def max_chars(self) -> int:
        return self.n_chars

    def _piece(self, lines: list[str], rng: random.Random) -> str:
        line = rng.choice(lines)
        start = rng.randrange(len(line) - self.n_chars + 1)
        return line[start: start + self.n_chars]

    def make_example(self, lines: list[str], label: int, rng: random.Random) -> LabelledExample:
        piece = self._piece(lines, rng)
        if label == 1:
            while spell_backwards(piece) == piece:  # all palindromes: never in prose, but be sure
                piece = self._piece(lines, rng)
            piece = spell_backwards(piece)
        return LabelledExample(piece, None, label)


class WhichEnglishTask(BackwardsTask):
    name = "which"
    title = N_("Which one is English, A or B? (two inputs)")
    description = N_("Two inputs. A and B are pieces of two different lines; one is written "
                   "normally, the other with every word spelled backwards. Which one is English? "
                   "The delimiter token is the only thing that tells the model where A ends and "
                   "B begins.")
    class_names = ("A", "B")
    two_inputs = True
    transformation = "entailment"  # <start> A <delim> B <extract>

    def __init__(self, text: str, n_chars: int = 24,
                 held_out_fraction: float = HELD_OUT_FRACTION) -> None:
        super().__init__(text, n_chars, held_out_fraction)

    @property
    def max_chars(self) -> int:
        return 2 * self.n_chars

    def make_example(self, lines: list[str], label: int, rng: random.Random) -> LabelledExample:
        english = super().make_example(lines, 0, rng).a
        backwards = super().make_example(lines, 1, rng).a
        if label == 0:
            return LabelledExample(english, backwards, 0)
        return LabelledExample(backwards, english, 1)


class ContinuationTask(LabelledTask):
    name = "continues"
    title = N_("Does B continue A? (two inputs, hard)")
    description = N_("Two inputs. A is a piece of a line; B is either the text that follows it "
                   "(continues) or a piece of another line (random). The cut is anywhere, often "
                   "inside a word, so knowing how words go on tells them apart. The hard one: "
                   "the pre-trained model's own next-character loss separates the two classes, "
                   "but at this size neither starting point learns to answer through the new "
                   "layer in a few minutes.")
    class_names = ("random", "continues")
    two_inputs = True
    transformation = "entailment"

    def __init__(self, text: str, n_chars: int = 24,
                 held_out_fraction: float = HELD_OUT_FRACTION) -> None:
        self.n_chars = n_chars  # characters in A and in B
        super().__init__(text, held_out_fraction)

    @property
    def min_line_chars(self) -> int:
        return 2 * self.n_chars

    @property
    def max_chars(self) -> int:
        return 2 * self.n_chars

    def _piece(self, lines: list[str], rng: random.Random) -> tuple[str, str]:
        line = rng.choice(lines)
        start = rng.randrange(len(line) - 2 * self.n_chars + 1)
        cut = start + self.n_chars
        return line[start:cut], line[cut: cut + self.n_chars]

    def make_example(self, lines: list[str], label: int, rng: random.Random) -> LabelledExample:
        a, b = self._piece(lines, rng)
        if label == 0:
            # B from another piece of text; its own start is as random as a true B's, so only
            # the junction between A and B can tell the two classes apart
            other = b
            while other == b:
                _, other = self._piece(lines, rng)
            b = other
        return LabelledExample(a, b, label)


LABELLED_TASKS: dict[str, type[LabelledTask]] = {
    BackwardsTask.name: BackwardsTask,
    WhichEnglishTask.name: WhichEnglishTask,
    ContinuationTask.name: ContinuationTask,
}


class BothEnglishTask(BackwardsTask):
    name = "both"
    title = N_("Are both English? (similarity: both orders)")
    description = N_("Two inputs with no order, like GPT-1's similarity tasks. A and B are pieces "
                   "of two lines; each is written normally or with every word spelled "
                   "backwards. Are both English? The answer is about the pair, not about which "
                   "comes first, so both orders go through the model.")
    class_names = ("not both", "both English")
    two_inputs = True
    transformation = "similarity"

    def __init__(self, text: str, n_chars: int = 24,
                 held_out_fraction: float = HELD_OUT_FRACTION) -> None:
        super().__init__(text, n_chars, held_out_fraction)

    @property
    def max_chars(self) -> int:
        return 2 * self.n_chars

    def make_example(self, lines: list[str], label: int, rng: random.Random) -> LabelledExample:
        # not both: A backwards, B backwards, or both, a third of the time each
        backwards = (False, False) if label == 1 else rng.choice(
            [(True, False), (False, True), (True, True)])
        a, b = (super(BothEnglishTask, self).make_example(lines, int(bw), rng).a
                for bw in backwards)
        return LabelledExample(a, b, label)


class RealEndingTask(LabelledTask):
    name = "ending"
    title = N_("Which ending is real? (multiple choice)")
    description = N_("Multiple choice, like GPT-1's story endings. The context is the start of a "
                   "line; one choice is how the line really goes on, the others are that same "
                   "ending with the characters inside each word shuffled: the same "
                   "characters and word lengths, so only knowing how English words are spelled "
                   "tells them apart.")
    two_inputs = False
    transformation = "multiple choice"

    def __init__(self, text: str, n_context: int = 24, n_ending: int = 16, n_choices: int = 4,
                 held_out_fraction: float = HELD_OUT_FRACTION) -> None:
        if not 2 <= n_choices <= 8:
            raise ConfigError("A multiple-choice task needs 2 to 8 choices.")
        self.n_context, self.n_ending = n_context, n_ending
        self.class_names = tuple(f"choice {k + 1}" for k in range(n_choices))
        super().__init__(text, held_out_fraction)

    @property
    def min_line_chars(self) -> int:
        return self.n_context + self.n_ending

    @property
    def max_chars(self) -> int:
        return self.n_context + self.n_ending  # with each choice

    def make_example(self, lines: list[str], label: int, rng: random.Random) -> LabelledExample:
        while True:
            line = rng.choice(lines)
            start = rng.randrange(len(line) - self.n_context - self.n_ending + 1)
            cut = start + self.n_context
            context, real = line[start:cut], line[cut: cut + self.n_ending]
            wrong: list[str] = []
            for _ in range(20 * self.n_classes):  # distinct shuffles, none the real one
                other = shuffle_words(real, rng)
                if other != real and other not in wrong:
                    wrong.append(other)
                if len(wrong) == self.n_classes - 1:
                    choices = (*wrong[:label], real, *wrong[label:])
                    return LabelledExample(context, None, label, choices)
            # an ending too short to shuffle three ways ("a of "): take another


LABELLED_TASKS[BothEnglishTask.name] = BothEnglishTask
LABELLED_TASKS[RealEndingTask.name] = RealEndingTask
