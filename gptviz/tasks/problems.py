"""Prompt -> answer tasks (minGPT's sorting and addition demos), with a held-out set.

Every problem has a number 0..num_problems-1 and a fixed-length prompt and answer. One training
sequence is the prompt followed by the answer, shifted by one as usual (x = seq[:-1],
y = seq[1:]), and the loss is taken only where y is an answer token: the model is never asked to
predict the prompt, which is random. A fixed random set of problems is held out ("val") and the
training batches are drawn from the others only, so accuracy on the held-out set measures whether
the model learnt the rule or memorised its examples. A held-out problem's mirror (addition's b + a
for a + b) is held out with it, so no held-out answer is one swap away from a trained one.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch

from gptviz.config import ConfigError
from gptviz.i18n import _
from gptviz.tasks._decode import greedy_complete, model_device
from gptviz.tasks.base import ExampleTask, Split

MAX_HELD_OUT = 1_000  # held-out problems: all are decoded at every evaluation, in one batch
MAX_ENUMERATED = 10_000_000  # problem spaces up to this size are shuffled whole


class ProblemError(ConfigError):
    """A typed problem the task cannot read, with a message meant for the page."""


@dataclass(frozen=True)
class Solution:
    """The model's answer to one problem, in reading order (the sum's digits un-reversed)."""

    problem: str  # e.g. "37 + 85"
    expected: str  # e.g. "122"
    answer: str  # the model's answer, e.g. "132"
    digit_correct: tuple[bool, ...]  # one per answer digit, in reading order
    prompt_ids: tuple[int, ...]  # the prompt's tokens as the model reads them
    answer_ids: tuple[int, ...]  # the model's answer tokens in the order it wrote them

    @property
    def correct(self) -> bool:
        return all(self.digit_correct)

    @property
    def wrong_digits(self) -> list[int]:
        """Positions (0 = leftmost, reading order) of the digits the model got wrong."""
        return [i for i, ok in enumerate(self.digit_correct) if not ok]


@dataclass(frozen=True)
class AttentionExample:
    """Attention of the model over one solved problem (prompt + its answer, minus the last)."""

    tokens: list[str]  # the T tokens fed in, as text
    attention: torch.Tensor  # [layer, head, query_pos, key_pos], (n_layer, n_head, T, T)
    answer_rows: list[int]  # query positions whose output is an answer token, in writing order
    answer_tokens: list[str]  # the answer token each of those positions wrote
    answer_names: list[str]  # the place of each of those tokens ("ones", "1st"), writing order
    segments: list[tuple[str, int, int]]  # named spans of the input positions


class ProblemTask(ExampleTask):
    """Base of sorting and addition: problems by number, a held-out split, greedy scoring."""

    separator: str = ""  # between answer digits when shown ("122"; sorting: "0 1 2")
    prompt_len: int  # P tokens given
    answer_len: int  # A tokens the model writes
    num_problems: int

    def __init__(self, val_fraction: float, max_val: int = MAX_HELD_OUT,
                 split_seed: int = 1337) -> None:
        if not 0.0 < val_fraction <= 0.5:
            raise ConfigError(_("The held-out fraction must be above 0 and at most one half."))
        self.block_size = self.prompt_len + self.answer_len - 1  # the last answer token is
        # never fed back in (minGPT: "there is no explicit <EOS> token to predict")
        n_val = max(1, min(round(self.num_problems * val_fraction), max_val))
        if n_val >= self.num_problems:
            raise ConfigError(_("There are only {n} problems: too few to hold some out. Make "
                                "the problems longer.").format(n=self.num_problems))
        self.val_ids = self._choose_held_out(n_val, split_seed)  # sorted, (n_val,)
        super().__init__({"val": self.sequences(self.val_ids)})

    # --- what a task defines ---------------------------------------------------------------
    @abstractmethod
    def problems(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompts (N, P) and answers (N, A), token ids in the model's order, for problem ids."""

    @abstractmethod
    def parse(self, text: str) -> torch.Tensor:
        """A typed problem as prompt tokens, (P,); raises ProblemError with a helpful message."""

    @abstractmethod
    def format_problem(self, prompt: list[int]) -> str:
        """The prompt as a person writes it."""

    @abstractmethod
    def reading_order(self, answer: list[int]) -> list[int]:
        """The answer tokens as a person reads them (addition reverses the sum's digits)."""

    @abstractmethod
    def place_names(self) -> list[str]:
        """A name for each answer digit in reading order ("tens", "3rd"), for messages."""

    @abstractmethod
    def segments(self) -> list[tuple[str, int, int]]:
        """Named spans [start, end) of the model's input positions, e.g. ("a", 0, 2)."""

    def writing_place_names(self) -> list[str]:
        """place_names() in the order the model writes the digits."""
        order = self.reading_order(list(range(self.answer_len)))  # writing index per reading pos
        names = [""] * self.answer_len
        for reading_pos, writing_pos in enumerate(order):
            names[writing_pos] = self.place_names()[reading_pos]
        return names

    def mirror_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """The same problem written another way, (N,) -> (N,): addition's b + a for a + b.

        The held-out set is closed under it: a model that sees 37 + 85 in training and is
        tested on 85 + 37 needs only to know that addition commutes, not how to add. Problems
        without a second way of writing (sorting's inputs) are their own mirror.
        """
        return ids

    # --- data ------------------------------------------------------------------------------
    def _choose_held_out(self, n_val: int, seed: int) -> torch.Tensor:
        """n_val problems, whole mirror pairs only, drawn at random by seed; sorted, (n_val,).

        A pair counts two, a problem that is its own mirror (sorting's, or 7 + 7) one. Pairs are
        taken in random order while they fit; when one slot is left, the next self-mirror fills
        it (if none is left the set is one short).
        """
        g = torch.Generator().manual_seed(seed)
        if self.num_problems <= MAX_ENUMERATED:  # minGPT's adder: a seeded permutation
            order = torch.randperm(self.num_problems, generator=g)
        else:  # huge spaces: draw until there are surely enough distinct pairs
            order = torch.empty(0, dtype=torch.long)
            while len(order) < n_val:
                more = torch.randint(self.num_problems, (n_val,), generator=g)
                order = torch.cat([order, torch.minimum(more, self.mirror_ids(more))]).unique()
            order = order[torch.randperm(len(order), generator=g)]
        mirror = self.mirror_ids(order)
        order = order[order <= mirror]  # one id per pair: the smaller
        mirror = self.mirror_ids(order)
        size = 1 + (mirror != order).long()  # problems each pair holds
        fits = int((size.cumsum(0) <= n_val).sum())
        chosen, rest = order[:fits], order[fits:]
        if int(size[:fits].sum()) < n_val:  # one slot left, taken by a self-mirror
            chosen = torch.cat([chosen, rest[rest == self.mirror_ids(rest)][:1]])
        return torch.cat([chosen, self.mirror_ids(chosen)]).unique()  # sorted

    def sequences(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pairs (x, y), each (N, T): y is -1 except where the next token is an answer."""
        prompts, answers = self.problems(ids)
        seq = torch.cat([prompts, answers], dim=1)  # (N, P + A)
        x = seq[:, :-1].clone()
        y = seq[:, 1:].clone()
        y[:, : self.prompt_len - 1] = -1  # the prompt is random: nothing to learn there
        return x, y

    def is_held_out(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.isin(ids, self.val_ids)

    def train_ids(self) -> torch.Tensor:
        """All training problems (small problem spaces only; training samples them anyway)."""
        if self.num_problems > MAX_ENUMERATED:
            raise ValueError("Too many problems to list; sample them with get_batch.")
        every = torch.arange(self.num_problems)
        return every[~self.is_held_out(every)]

    def sample_train_ids(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n problems drawn uniformly from those not held out (rejection of held-out draws)."""
        ids = torch.randint(self.num_problems, (n,), generator=generator)
        bad = self.is_held_out(ids)
        while bad.any():
            ids[bad] = torch.randint(self.num_problems, (int(bad.sum()),), generator=generator)
            bad = self.is_held_out(ids)
        return ids

    def has_split(self, split: Split) -> bool:
        return split in ("train", "val")

    def get_batch(
        self, split: Split, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if split == "train":
            return self.sequences(self.sample_train_ids(batch_size, generator))
        return super().get_batch(split, batch_size, generator)

    def entropy_floor(self) -> float | None:
        return 0.0  # every answer token is a function of the tokens before it

    # --- the model's answers ---------------------------------------------------------------
    def answer(self, model: torch.nn.Module, prompts: torch.Tensor) -> torch.Tensor:
        """The model's greedy answers (N, A) to prompts (N, P), all in one batch."""
        return greedy_complete(model, prompts, self.answer_len, self.vocab_size)

    @torch.no_grad()
    def answer_correct(self, model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
        """For problems ids, whether each answer token is the model's top choice, (N, A).

        One forward pass over the right answers (teacher forcing). A whole answer is all True
        exactly when greedy decoding writes it: every step then sees the right digits so far and
        picks the right next one, and at the first wrong pick decoding goes astray. So the
        exact-match rate equals greedy decoding's, at the cost of one pass instead of A.
        """
        x, y = self.sequences(ids)
        was_training = model.training
        model.eval()
        try:
            logits = model(x.to(model_device(model))).logits[..., : self.vocab_size].cpu()
        finally:
            model.train(was_training)
        rows = slice(self.prompt_len - 1, None)  # the positions that write the answer
        return logits[:, rows].argmax(dim=-1) == y[:, rows]

    def metrics(self, model: torch.nn.Module) -> dict[str, float]:
        """Exact-match accuracy of the whole answer on the held-out problems."""
        return {"accuracy": self.answer_correct(model, self.val_ids).all(dim=1)
                .float().mean().item()}

    def solve_many(self, model: torch.nn.Module, prompts: torch.Tensor) -> list[Solution]:
        """Solutions for prompts (N, P), with the expected answer worked out by the rule."""
        expected = self.expected_answers(prompts)
        got = self.answer(model, prompts)
        out = []
        for p, e, g in zip(prompts.tolist(), expected.tolist(), got.tolist(), strict=True):
            e_read, g_read = self.reading_order(e), self.reading_order(g)
            out.append(Solution(
                problem=self.format_problem(p),
                expected=self.format_answer(e),
                answer=self.format_answer(g),
                digit_correct=tuple(a == b for a, b in zip(e_read, g_read, strict=True)),
                prompt_ids=tuple(p), answer_ids=tuple(g),
            ))
        return out

    def solve(self, model: torch.nn.Module, problem: str | torch.Tensor) -> Solution:
        """The model's answer to one problem, typed ("37+85") or as prompt tokens."""
        prompt = self.parse(problem) if isinstance(problem, str) else problem
        return self.solve_many(model, prompt.view(1, -1))[0]

    def solutions(self, model: torch.nn.Module, n: int = 8, seed: int = 0) -> list[Solution]:
        """The model's answers to n held-out problems picked by seed (the same ones each time)."""
        g = torch.Generator().manual_seed(seed)
        pick = torch.randperm(len(self.val_ids), generator=g)[:n]
        return self.solve_many(model, self.problems(self.val_ids[pick])[0])

    def expected_answers(self, prompts: torch.Tensor) -> torch.Tensor:
        """The right answers (N, A) to prompts (N, P)."""
        return self.problems(self.problem_ids(prompts))[1]

    @abstractmethod
    def problem_ids(self, prompts: torch.Tensor) -> torch.Tensor:
        """The problem numbers (N,) of prompts (N, P): the inverse of problems()."""

    def describe_errors(self, solution: Solution) -> str:
        """Which digits are wrong, in words: "tens: wrote 3, not 2"; empty when all are right."""
        got = self.reading_order(list(solution.answer_ids))
        want = self.reading_order(self.expected_answers(
            torch.tensor([solution.prompt_ids]))[0].tolist())
        names = self.place_names()
        tok = self.tokenizer.token_str
        wrong = _("{place}: wrote {got}, not {want}")
        return _("; ").join(wrong.format(place=names[i], got=tok(got[i]), want=tok(want[i]))
                            for i in solution.wrong_digits)

    def format_answer(self, answer: list[int]) -> str:
        """Answer tokens (model order) as a person reads them."""
        return self.separator.join(self.tokenizer.decode(self.reading_order(answer)))

    @torch.no_grad()
    def attention(self, model: torch.nn.Module, problem: str | torch.Tensor) -> AttentionExample:
        """Where each answer token looks: attention over the prompt and the model's own answer."""
        prompt = self.parse(problem) if isinstance(problem, str) else problem
        prompt = prompt.view(1, -1)
        got = self.answer(model, prompt)  # (1, A)
        seq = torch.cat([prompt, got], dim=1)[:, :-1]  # (1, T): what the model read
        was_training = model.training
        model.eval()
        try:
            att = model(seq.to(model_device(model)), return_attention=True).attention
        finally:
            model.train(was_training)
        stacked = torch.stack([a[0] for a in att]).cpu()  # (n_layer, n_head, T, T)
        ids = seq[0].tolist()
        return AttentionExample(
            tokens=[self.tokenizer.token_str(i) for i in ids],
            attention=stacked,
            answer_rows=list(range(self.prompt_len - 1, self.prompt_len - 1 + self.answer_len)),
            answer_tokens=[self.tokenizer.token_str(i) for i in got[0].tolist()],
            answer_names=self.writing_place_names(),
            segments=self.segments(),
        )


def digits_of(values: torch.Tensor, width: int, base: int = 10) -> torch.Tensor:
    """The `width` digits of each value, most significant first, (N, width)."""
    powers = base ** torch.arange(width - 1, -1, -1, dtype=torch.long)  # (width,)
    return (values.view(-1, 1) // powers) % base


def value_of(digits: torch.Tensor, base: int = 10) -> torch.Tensor:
    """The inverse of digits_of: (N, width) digits, most significant first -> (N,)."""
    width = digits.size(1)
    powers = base ** torch.arange(width - 1, -1, -1, dtype=torch.long)
    return (digits.long() * powers).sum(dim=1)

