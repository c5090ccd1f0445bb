"""minGPT's adder: n-digit a + b, the sum written backwards.

85 + 50 = 135 with n = 2 is the sequence "8550531": the digits of a and b (zero-padded to n), then
the n + 1 digits of the sum, least significant first. Backwards because that is the order in
which column addition produces them: each digit needs only the two digits above it and the
carry from the digit just written. The model reads 2n digits and writes n + 1.
"""

from __future__ import annotations

import re

import torch

from gptviz.config import ConfigError
from gptviz.i18n import _, ngettext
from gptviz.tasks.problems import MAX_HELD_OUT, ProblemError, ProblemTask, digits_of, value_of
from gptviz.tokenizers import CharTokenizer

MAX_DIGITS = 6  # 10**12 problems still number within int64; the model is the limit long before


class AdditionTask(ProblemTask):
    name = "addition"
    description = ("Add two n-digit numbers: read the digits of a and b, write the digits of "
                   "a + b, least significant first.")

    def __init__(self, ndigit: int = 2, val_fraction: float = 0.1, max_val: int = MAX_HELD_OUT,
                 split_seed: int = 1337) -> None:
        if not 1 <= ndigit <= MAX_DIGITS:
            raise ConfigError(_("Addition takes numbers of 1 to {most} digits.").format(
                most=MAX_DIGITS))
        self.ndigit = ndigit
        self.tokenizer = CharTokenizer("0123456789", name="digits")
        self.prompt_len = 2 * ndigit
        self.answer_len = ndigit + 1  # room for the carry out of the top digit
        self.num_problems = (10**ndigit) ** 2  # every (a, b): problem id = a * 10**n + b
        super().__init__(val_fraction, max_val, split_seed)

    def problems(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        nd = 10**self.ndigit
        a, b = ids // nd, ids % nd
        prompts = torch.cat([digits_of(a, self.ndigit), digits_of(b, self.ndigit)], dim=1)
        answers = digits_of(a + b, self.ndigit + 1).flip(1)  # reversed: ones digit first
        return prompts, answers

    def mirror_ids(self, ids: torch.Tensor) -> torch.Tensor:
        nd = 10**self.ndigit
        return (ids % nd) * nd + ids // nd  # a * nd + b -> b * nd + a

    def problem_ids(self, prompts: torch.Tensor) -> torch.Tensor:
        a = value_of(prompts[:, : self.ndigit])
        b = value_of(prompts[:, self.ndigit:])
        return a * 10**self.ndigit + b

    def reading_order(self, answer: list[int]) -> list[int]:
        return answer[::-1]

    def place_names(self) -> list[str]:
        names = [_("ones"), _("tens"), _("hundreds"), _("thousands"), _("ten-thousands"),
                 _("hundred-thousands"), _("millions")]
        return names[: self.answer_len][::-1]

    def segments(self) -> list[tuple[str, int, int]]:
        n = self.ndigit
        return [("a", 0, n), ("b", n, 2 * n),
                (_("sum so far (ones first)"), 2 * n, self.block_size)]

    def format_problem(self, prompt: list[int]) -> str:
        digits = "".join(str(d) for d in prompt)
        return f"{digits[: self.ndigit]} + {digits[self.ndigit:]}"

    def parse(self, text: str) -> torch.Tensor:
        n = self.ndigit
        example = "37 + 85" if n == 2 else f"{'1' * n} + {'2' * n}"
        match = re.fullmatch(r"\s*(\S+?)\s*\+\s*(\S+?)\s*", text)
        if not match:
            raise ProblemError(_("Type two numbers joined by +, for example {example}.").format(
                example=example))
        for s in match.groups():
            if not s.isascii() or not s.isdigit():
                raise ProblemError(_("{text!r} is not a whole number: use only the digits 0-9, "
                                     "for example {example}.").format(text=s, example=example))
            if len(s.lstrip("0")) > n:
                raise ProblemError(ngettext(
                    "{text} has {count} digits; this model adds numbers of at most {n} digit "
                    "(0 to {top}).",
                    "{text} has {count} digits; this model adds numbers of at most {n} digits "
                    "(0 to {top}).", n).format(text=s, count=len(s.lstrip("0")), n=n,
                                               top=10**n - 1))
        a, b = (int(s) for s in match.groups())
        return torch.tensor([int(c) for c in f"{a:0{n}d}{b:0{n}d}"], dtype=torch.long)
