"""minGPT's sorting demo: a sequence of small integers in, the same integers sorted out.

With length 6 and digits 0-2, "2 0 1 1 0 2" becomes the sequence 2 0 1 1 0 2 0 0 1 1 2 2; the
model reads the first 6 and writes the last 6. minGPT's x = input + sorted[:-1], with the loss
only on the sorted half (the input itself is random, so there is nothing to learn there).
"""

from __future__ import annotations

import re

import torch

from gptviz.config import ConfigError
from gptviz.i18n import _, ngettext
from gptviz.tasks.problems import MAX_HELD_OUT, ProblemError, ProblemTask, digits_of, value_of
from gptviz.tokenizers import CharTokenizer

MAX_LENGTH = 16  # 10**16 problems still number within int64
MAX_NUM_DIGITS = 10  # each symbol is one typed digit, 0-9


class SortingTask(ProblemTask):
    name = "sorting"
    separator = " "
    description = "Sort a sequence of small integers: read the sequence, write it in order."

    def __init__(self, length: int = 6, num_digits: int = 3, val_fraction: float = 0.25,
                 max_val: int = MAX_HELD_OUT, split_seed: int = 1337) -> None:
        if not 2 <= length <= MAX_LENGTH:
            raise ConfigError(_("Sorting takes sequences of 2 to {most} numbers.").format(
                most=MAX_LENGTH))
        if not 2 <= num_digits <= MAX_NUM_DIGITS:
            raise ConfigError(_("Sorting takes numbers from 2 to {most} different values "
                                "(digits 0-1 up to 0-9).").format(most=MAX_NUM_DIGITS))
        self.length = length
        self.num_digits = num_digits
        self.tokenizer = CharTokenizer("0123456789"[:num_digits], name="digits")
        self.prompt_len = length
        self.answer_len = length
        self.num_problems = num_digits**length  # problem id = the input read in base num_digits
        super().__init__(val_fraction, max_val, split_seed)

    def problems(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        prompts = digits_of(ids, self.length, base=self.num_digits)  # (N, length)
        return prompts, prompts.sort(dim=1).values

    def problem_ids(self, prompts: torch.Tensor) -> torch.Tensor:
        return value_of(prompts, base=self.num_digits)

    def reading_order(self, answer: list[int]) -> list[int]:
        return answer

    def place_names(self) -> list[str]:
        def ordinal(i: int) -> str:
            suffix = {1: "st", 2: "nd", 3: "rd"}.get(i % 10, "th") if not 10 <= i <= 20 else "th"
            # one whole word per English ending, so that a language without them has its own
            word = {"st": _("{i}st"), "nd": _("{i}nd"), "rd": _("{i}rd")}.get(suffix, _("{i}th"))
            return word.format(i=i)

        return [ordinal(i + 1) for i in range(self.answer_len)]

    def segments(self) -> list[tuple[str, int, int]]:
        return [(_("input"), 0, self.length), (_("sorted so far"), self.length, self.block_size)]

    def format_problem(self, prompt: list[int]) -> str:
        return " ".join(self.tokenizer.decode(prompt))

    def parse(self, text: str) -> torch.Tensor:
        top = self.num_digits - 1
        example = " ".join(str(i % self.num_digits) for i in range(self.length, 0, -1))
        symbols = re.sub(r"[\s,]+", "", text)  # spaces and commas only separate
        bad = sorted({c for c in symbols if not (c.isascii() and c.isdigit())})
        if bad:
            raise ProblemError(_("Use only the digits 0-{top} (spaces or commas between them "
                                 "are fine), for example {example}. Not allowed: {bad}.").format(
                top=top, example=example, bad=", ".join(repr(c) for c in bad[:5])))
        too_big = sorted({c for c in symbols if int(c) > top})
        if too_big:
            raise ProblemError(ngettext(
                "This task sorts the digits 0-{top}; {digits} is not among them.",
                "This task sorts the digits 0-{top}; {digits} are not among them.",
                len(too_big)).format(top=top, digits=", ".join(too_big)))
        if len(symbols) != self.length:
            raise ProblemError(_("Type exactly {length} digits (you typed {typed}), for example "
                                 "{example}.").format(length=self.length, typed=len(symbols),
                                                      example=example))
        return torch.tensor([int(c) for c in symbols], dtype=torch.long)
