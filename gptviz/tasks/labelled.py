"""Labelled tasks for fine-tuning (GPT-1's stage 2), labelled by the project itself, offline.

GPT-1 fine-tunes on small labelled sets (sentence classification, entailment, similarity, ...).
We have no labelled data offline, so we make two tasks out of the built-in corpus whose labels are
known by construction, and which an English-reading model should find easier than one that has
never seen text:

- `TypoTask` (one input, like GPT-1's classification): is this line of documentation as written,
  or were a few pairs of neighbouring letters swapped ("teh" for "the")? The swapped line has the
  same letters, so only knowledge of spelling gives it away.
- `ContinuationTask` (two inputs, like GPT-1's entailment, so it needs the delimiter): does
  fragment B continue fragment A in the original text, or was B taken from somewhere else? The
  cut falls anywhere, often inside a word, so knowing how words and phrases go on gives it away.

Examples come from single lines of prose (mostly letters and spaces, leading indentation removed).
`corpus_regions` splits the text as `TextTask(text, tok, block, val_fraction)` does: labelled
training examples come from the part pre-training trains on, validation examples from the held-out
end that pre-training never trains on, so accuracy is measured on text no model has seen.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass

from gptviz.config import ConfigError

HELD_OUT_FRACTION = 0.1  # the end of the corpus: pre-training's validation text, never trained on
MIN_LETTERS = 0.7  # share of letters that makes a line count as prose (English has about 0.8)


@dataclass(frozen=True)
class LabelledExample:
    a: str  # the text (first input)
    b: str | None  # the second input, for two-input tasks; None for one-input tasks
    label: int  # index into the task's class_names


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


def swap_letters(text: str, n_swaps: int, rng: random.Random) -> str:
    """text with n_swaps pairs of neighbouring, different letters swapped ("the" -> "teh").

    Pairs never overlap, so each swap is visible in the result.
    """
    chars = list(text)
    candidates = [i for i in range(len(chars) - 1)
                  if chars[i].isalpha() and chars[i + 1].isalpha() and chars[i] != chars[i + 1]]
    rng.shuffle(candidates)
    used: set[int] = set()
    done = 0
    for i in candidates:
        if done == n_swaps:
            break
        if {i, i + 1} & used:
            continue
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
        used |= {i, i + 1}
        done += 1
    if done < n_swaps:
        raise ValueError(f"Only {done} letter pairs can be swapped in {text!r}.")
    return "".join(chars)


class LabelledTask(ABC):
    """A classification task: examples (a, b, label) drawn reproducibly from a corpus."""

    name: str
    title: str
    description: str
    class_names: tuple[str, ...]
    two_inputs: bool

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
        """n examples from split, labels alternating (balanced), the same for the same seed.

        The first n of a larger draw are the n of a smaller one's superset: examples(s, 32) is
        examples(s, 128)[:32], so curves over the number of examples add data, not new data.
        """
        if split not in self.regions:
            raise ValueError(f"Unknown split {split!r}; use 'train' or 'val'.")
        rng = random.Random(f"{self.name}/{split}/{seed}")
        return [self.make_example(self.regions[split], i % 2, rng) for i in range(n)]


class TypoTask(LabelledTask):
    name = "typos"
    title = "Typo or not"
    description = ("One input. Is this line of the Python docs as written (ok), or were a few "
                   "pairs of neighbouring letters swapped (typos)? Both have the same letters: "
                   "only knowing how English words are spelled tells them apart.")
    class_names = ("ok", "typos")
    two_inputs = False

    def __init__(self, text: str, n_chars: int = 48, n_swaps: int = 2,
                 held_out_fraction: float = HELD_OUT_FRACTION) -> None:
        self.n_chars = n_chars
        self.n_swaps = n_swaps
        super().__init__(text, held_out_fraction)

    @property
    def min_line_chars(self) -> int:
        return self.n_chars

    @property
    def max_chars(self) -> int:
        return self.n_chars

    def make_example(self, lines: list[str], label: int, rng: random.Random) -> LabelledExample:
        while True:
            line = rng.choice(lines)
            start = rng.randrange(len(line) - self.n_chars + 1)
            fragment = line[start: start + self.n_chars]
            if label == 0:
                return LabelledExample(fragment, None, label)
            try:
                return LabelledExample(swap_letters(fragment, self.n_swaps, rng), None, label)
            except ValueError:
                continue  # too few letters to swap here (rare in prose): draw another line


class ContinuationTask(LabelledTask):
    name = "continues"
    title = "Does B continue A?"
    description = ("Two inputs. A is a piece of a line; B is either the text that follows it "
                   "(continues) or a piece of another line (random). The cut is anywhere, often "
                   "inside a word, so knowing how words and phrases go on tells them apart.")
    class_names = ("random", "continues")
    two_inputs = True

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
    TypoTask.name: TypoTask,
    ContinuationTask.name: ContinuationTask,
}
