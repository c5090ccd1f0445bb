"""Sorting and addition: the data, the held-out split, and accuracy against oracle models."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from gptviz.config import ConfigError, GPTConfig, TrainConfig
from gptviz.tasks import AdditionTask, ProblemError, SortingTask
from gptviz.tasks.presets import PRESETS
from gptviz.tasks.problems import MAX_ENUMERATED
from gptviz.train import Trainer, build_model


class Oracle(torch.nn.Module):
    """Puts all its weight on the right next token, except where `wrong(prompt)` says to err:
    there it writes the last answer digit one too high (mod the vocabulary)."""

    def __init__(self, task, wrong=lambda prompt: False) -> None:
        super().__init__()
        self.task, self.wrong = task, wrong

    def forward(self, idx, targets=None, return_attention=False):
        t = self.task
        N, T = idx.shape
        P, V = t.prompt_len, t.vocab_size
        answers = t.expected_answers(idx[:, :P]).clone()  # (N, A)
        for i in range(N):
            if self.wrong(idx[i, :P].tolist()):
                answers[i, -1] = (answers[i, -1] + 1) % V
        logits = torch.zeros(N, T, V)
        for pos in range(P - 1, T):  # position pos writes answer digit pos - P + 1
            logits[torch.arange(N), pos, answers[:, pos - P + 1]] = 5.0
        return SimpleNamespace(logits=logits, loss=None, attention=None)


def test_addition_sequences_are_minGPTs_and_the_reversed_sum_is_the_sum():
    task = AdditionTask(ndigit=2)
    ids = torch.tensor([85 * 100 + 50, 6 * 100 + 39, 99 * 100 + 99])
    x, y = task.sequences(ids)
    # minGPT's docstring: 85 + 50 = 135 is "8550531". Its 6 + 39 example says "0639054", but
    # its code, ('%03d' % 45)[::-1], writes "540": we follow the code
    assert "".join(map(str, x[0].tolist())) + str(y[0, -1].item()) == "8550531"
    assert "".join(map(str, x[1].tolist())) + str(y[1, -1].item()) == "0639540"
    assert task.block_size == 6 and x.shape == (3, 6)
    # every held-out problem: the answer digits, read backwards, are a + b
    x, y = task.examples["val"]
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        digits = "".join(map(str, xi[:4]))
        a, b = int(digits[:2]), int(digits[2:])
        answer = yi[3:]  # the three positions that write the sum
        assert int("".join(map(str, answer[::-1]))) == a + b


@pytest.mark.parametrize("task", [AdditionTask(ndigit=2), AdditionTask(ndigit=3),
                                  SortingTask(length=6, num_digits=3),
                                  SortingTask(length=5, num_digits=4)])
def test_targets_are_masked_exactly_outside_the_answer(task):
    x, y = task.get_batch("train", 64, torch.Generator().manual_seed(0))
    prompts, answers = task.problems(task.problem_ids(x[:, : task.prompt_len]))
    seq = torch.cat([prompts, answers], dim=1)
    assert torch.equal(x, seq[:, :-1])
    P = task.prompt_len
    assert (y[:, : P - 1] == -1).all()  # no loss on the (random) prompt
    assert torch.equal(y[:, P - 1:], answers)  # loss on every answer digit, in order
    assert x.shape[1] == task.block_size


def test_sorting_answers_are_the_sorted_inputs():
    task = SortingTask(length=6, num_digits=3)
    prompts, answers = task.problems(torch.arange(task.num_problems))
    assert len({tuple(p) for p in prompts.tolist()}) == 3**6  # every input exactly once
    for p, a in zip(prompts.tolist(), answers.tolist(), strict=True):
        assert a == sorted(p)
    assert torch.equal(task.problem_ids(prompts), torch.arange(task.num_problems))


@pytest.mark.parametrize("task", [AdditionTask(ndigit=2), SortingTask(length=6, num_digits=3)])
def test_held_out_problems_never_reach_training(task):
    val = set(task.val_ids.tolist())
    train = set(task.train_ids().tolist())
    assert val and not (val & train)
    assert len(val) + len(train) == task.num_problems
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        x, _ = task.get_batch("train", 256, g)
        assert not set(task.problem_ids(x[:, : task.prompt_len]).tolist()) & val
    # the held-out split itself holds exactly the held-out problems
    xv, _ = task.examples["val"]
    assert set(task.problem_ids(xv[:, : task.prompt_len]).tolist()) == val


def mirror_prompts(task, prompts: torch.Tensor) -> torch.Tensor:
    """The same problem written the other way round: b + a for a + b (digits swapped by hand,
    not by the task's code). Sorting has no second way to write an input: itself."""
    if isinstance(task, AdditionTask):
        n = task.ndigit
        return torch.cat([prompts[:, n:], prompts[:, :n]], dim=1)
    return prompts


PROBLEM_PRESETS = [(t, name) for t in ("addition", "sorting") for name in PRESETS[t]]


@pytest.mark.parametrize("task_name, preset", PROBLEM_PRESETS)
def test_no_held_out_problem_or_its_mirror_is_trained_on(task_name, preset):
    task = PRESETS[task_name][preset].build()[0]
    prompts, _ = task.problems(task.val_ids)
    held_out = {tuple(p) for p in prompts.tolist()}
    mirrors = {tuple(p) for p in mirror_prompts(task, prompts).tolist()}
    assert mirrors == held_out  # b + a is held out whenever a + b is
    if isinstance(task, AdditionTask):  # and some problems have a distinct mirror to check
        assert any(m != tuple(p) for m, p in zip(mirror_prompts(task, prompts).tolist(),
                                                  prompts.tolist(), strict=True))
    trained = task.problems(task.train_ids())[0] if task.num_problems <= 10**6 else None
    if trained is not None:  # the whole training set, listed
        assert not {tuple(p) for p in trained.tolist()} & (held_out | mirrors)
        assert len(trained) + len(held_out) == task.num_problems
    g = torch.Generator().manual_seed(0)
    for _ in range(10):  # and what training actually draws
        x, _ = task.get_batch("train", 512, g)
        assert not {tuple(p) for p in x[:, : task.prompt_len].tolist()} & (held_out | mirrors)


@pytest.mark.parametrize("ndigit", [1, 2, 3, 4])
def test_addition_holds_out_about_the_asked_number_of_problems(ndigit):
    task = AdditionTask(ndigit=ndigit)
    asked = min(round(task.num_problems * 0.1), 1000)
    # mirror pairs come two at a time; a doubled sum (a + a) fills an odd gap
    assert len(task.val_ids) == asked
    assert len(task.val_ids.unique()) == len(task.val_ids)
    assert torch.equal(task.val_ids, task.val_ids.sort().values)


def test_split_sizes_and_determinism():
    assert len(AdditionTask(ndigit=2).val_ids) == 1000  # 10% of 10,000
    assert len(SortingTask().val_ids) == round(729 * 0.25)  # minGPT holds out a quarter
    assert torch.equal(AdditionTask().val_ids, AdditionTask().val_ids)
    assert not torch.equal(AdditionTask(split_seed=1).val_ids, AdditionTask().val_ids)


def test_huge_problem_spaces_hold_out_distinct_problems_without_listing_them():
    task = SortingTask(length=12, num_digits=10)  # 10**12 problems
    assert task.num_problems > MAX_ENUMERATED
    assert len(task.val_ids) == len(task.val_ids.unique()) == 1000
    x, _ = task.get_batch("train", 128, torch.Generator().manual_seed(0))
    assert not torch.isin(task.problem_ids(x[:, :12]), task.val_ids).any()
    with pytest.raises(ValueError):
        task.train_ids()


def test_oracle_scores_100_percent_and_a_partial_oracle_its_share():
    task = AdditionTask(ndigit=2)
    assert task.metrics(Oracle(task)) == {"accuracy": 1.0}
    # wrong whenever a's tens digit is odd: accuracy is the share of even tens digits
    prompts, _ = task.problems(task.val_ids)
    even = sum(p[0] % 2 == 0 for p in prompts.tolist()) / len(prompts)
    odd_tens = Oracle(task, wrong=lambda p: p[0] % 2 == 1)
    assert task.metrics(odd_tens)["accuracy"] == pytest.approx(even)
    sort = SortingTask()
    assert sort.metrics(Oracle(sort))["accuracy"] == 1.0


def test_a_constant_model_gets_only_the_all_zero_answers():
    class Zero(torch.nn.Module):
        def forward(self, idx, targets=None, return_attention=False):
            logits = torch.zeros(*idx.shape, 10)
            logits[..., 0] = 1.0
            return SimpleNamespace(logits=logits)

    task = SortingTask(length=3, num_digits=3, val_fraction=0.5)
    _, answers = task.problems(task.val_ids)
    expected = sum(a == [0, 0, 0] for a in answers.tolist()) / len(answers)
    assert task.metrics(Zero())["accuracy"] == pytest.approx(expected)
    assert expected == pytest.approx(1 / len(answers) if 0 in task.val_ids else 0.0)


def test_teacher_forced_accuracy_equals_greedy_decoding():
    task = AdditionTask(ndigit=2)
    cfg = GPTConfig(vocab_size=10, block_size=task.block_size, n_layer=2, n_head=4, n_embd=32)
    trainer = Trainer(build_model(cfg, 0), task, TrainConfig(learning_rate=3e-3, batch_size=128,
                                                            eval_interval=1000))
    trainer.run(120)  # part-trained: some answers right, some wrong
    prompts, answers = task.problems(task.val_ids)
    greedy = (task.answer(trainer.model, prompts) == answers).all(dim=1).float().mean().item()
    forced = task.metrics(trainer.model)["accuracy"]
    assert 0.0 < greedy < 1.0
    # equal by construction; one problem of slack for a near-tie argmax that flips between the
    # two kernels (teacher forcing runs all positions at once)
    assert abs(forced - greedy) <= 1 / len(prompts) + 1e-9


def test_solve_reports_the_wrong_digits_in_reading_order():
    task = AdditionTask(ndigit=2)
    model = Oracle(task, wrong=lambda p: p == [3, 7, 8, 5])  # errs on the last digit it writes
    s = task.solve(model, "37 + 85")
    assert (s.problem, s.expected) == ("37 + 85", "122")
    assert s.answer == "222"  # the hundreds digit is written last: 1 became 2
    assert s.digit_correct == (False, True, True) and s.wrong_digits == [0] and not s.correct
    assert task.describe_errors(s) == "hundreds: wrote 2, not 1"
    assert task.solve(model, "12+30").correct
    sort = SortingTask()
    s = sort.solve(Oracle(sort, wrong=lambda p: True), "2 0 1, 1 0 2")
    assert (s.expected, s.answer) == ("0 0 1 1 2 2", "0 0 1 1 2 0")
    assert sort.describe_errors(s) == "6th: wrote 0, not 2"


def test_solutions_are_held_out_and_stable():
    task = AdditionTask()
    model = Oracle(task)
    a, b = task.solutions(model, 8, seed=3), task.solutions(model, 8, seed=3)
    assert a == b and len(a) == 8 and all(s.correct for s in a)
    ids = task.problem_ids(torch.tensor([s.prompt_ids for s in a]))
    assert torch.isin(ids, task.val_ids).all()


@pytest.mark.parametrize("text, expected", [("37+85", [3, 7, 8, 5]), (" 7 + 5 ", [0, 7, 0, 5]),
                                            ("007+05", [0, 7, 0, 5]), ("99 + 0", [9, 9, 0, 0])])
def test_addition_parses_typed_problems(text, expected):
    assert AdditionTask(ndigit=2).parse(text).tolist() == expected


@pytest.mark.parametrize("text, message", [
    ("", "joined by +"), ("37-85", "joined by +"), ("37+", "joined by +"),
    ("3a+1", "not a whole number"), ("-3+1", "not a whole number"), ("1.5+2", "whole number"),
    ("123+1", "at most 2 digits"), ("٣+1", "digits 0-9"),
])
def test_addition_rejects_bad_problems_with_a_reason(text, message):
    with pytest.raises(ProblemError, match=message):
        AdditionTask(ndigit=2).parse(text)


def test_sorting_parses_and_rejects():
    task = SortingTask(length=6, num_digits=3)
    assert task.parse("2 0 1 1 0 2").tolist() == [2, 0, 1, 1, 0, 2]
    assert task.parse("201102").tolist() == task.parse("2,0,1,1,0,2").tolist()
    for text, message in [("2 0 1", "exactly 6 digits"), ("2 0 1 1 0 5", "5 is not among"),
                          ("a b c d e f", "Not allowed: 'a'"), ("", "exactly 6")]:
        with pytest.raises(ProblemError, match=message):
            task.parse(text)


@pytest.mark.parametrize("make", [lambda: AdditionTask(ndigit=0), lambda: AdditionTask(ndigit=9),
                                  lambda: SortingTask(length=1), lambda: SortingTask(num_digits=11),
                                  lambda: AdditionTask(val_fraction=0.9),
                                  lambda: SortingTask(val_fraction=0.0)])
def test_bad_settings_raise_config_errors(make):
    with pytest.raises(ConfigError):
        make()


def test_attention_example_covers_the_answer_rows():
    task = AdditionTask(ndigit=2)
    cfg = GPTConfig(vocab_size=10, block_size=task.block_size, n_layer=2, n_head=2, n_embd=16)
    ex = task.attention(build_model(cfg, 0), "37+85")
    assert ex.attention.shape == (2, 2, 6, 6)
    assert ex.tokens[:4] == ["3", "7", "8", "5"]
    assert ex.answer_rows == [3, 4, 5] and ex.answer_names == ["ones", "tens", "hundreds"]
    assert torch.allclose(ex.attention.sum(-1), torch.ones(2, 2, 6))  # each row is a distribution
    assert [s[0] for s in ex.segments] == ["a", "b", "sum so far (ones first)"]
