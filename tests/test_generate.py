"""Sampling: greedy, temperature, top-k, top-p, the sliding context window, determinism."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from gptviz.config import GPTConfig
from gptviz.generate import (
    GenerationError,
    encode_prompt,
    filter_logits,
    generate_steps,
    generate_text,
    next_token_distribution,
    sample,
)
from gptviz.model import GPT
from gptviz.tokenizers import CharTokenizer, TokenizerError

CFG = GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=2, n_embd=16)


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    m = GPT(CFG)
    # sharpen the untrained model's near-uniform outputs so greedy choices are clear-cut
    with torch.no_grad():
        m.lm_head.weight.mul_(40)
    return m.eval()


def oracle_last_logits(model: GPT, context: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([context])).logits[0, -1]


def test_greedy_is_argmax_of_models_own_logits_each_step(model: GPT) -> None:
    prompt = [1, 2]
    seq = list(prompt)
    for step in generate_steps(model, prompt, 8, greedy=True):
        assert step.context == seq[-CFG.block_size:]
        assert step.token == int(oracle_last_logits(model, step.context).argmax())
        seq.append(step.token)


def test_top_k_1_equals_greedy(model: GPT) -> None:
    greedy = [s.token for s in generate_steps(model, [3], 10, greedy=True)]
    for seed in range(3):
        k1 = [s.token for s in generate_steps(model, [3], 10, top_k=1, seed=seed)]
        assert k1 == greedy


def test_top_k_leaves_exactly_k_nonzero_even_with_ties() -> None:
    logits = torch.tensor([2.0, 1.0, 1.0, 1.0, 0.5, -3.0])  # three-way tie at the 2nd place
    for k in range(1, 7):
        probs = filter_logits(logits, top_k=k)
        assert int((probs > 0).sum()) == k
        assert math.isclose(float(probs.sum()), 1.0, abs_tol=1e-6)
    # the kept tokens keep their relative odds: renormalised softmax over the top 3
    p = filter_logits(logits, top_k=4)
    kept = F.softmax(logits[:4], dim=-1)
    torch.testing.assert_close(p[:4], kept)


@pytest.mark.parametrize("logits", [
    [2.0, 1.0, 1.0, 1.0, 0.5, -3.0],  # a three-way tie at the 2nd place
    [1.0] + [0.0] * 15,  # one leader, then fifteen equal tokens
    [0.0, 3.0, 0.0, 3.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # tied leaders, tied rest
])
def test_top_k_ties_go_to_the_lowest_token_ids(logits: list[float]) -> None:
    V = len(logits)
    by_rank = sorted(range(V), key=lambda i: (-logits[i], i))  # the oracle: (-value, id)
    for k in range(1, V):
        kept = filter_logits(torch.tensor(logits), top_k=k) > 0
        assert set(kept.nonzero().flatten().tolist()) == set(by_rank[:k]), k
    batch = torch.tensor([logits, logits[::-1]])  # row by row in a batch, too
    kept = filter_logits(batch, top_k=3) > 0
    assert set(kept[0].nonzero().flatten().tolist()) == set(by_rank[:3])
    mirrored = sorted(range(V), key=lambda i: (-logits[::-1][i], i))[:3]
    assert set(kept[1].nonzero().flatten().tolist()) == set(mirrored)


def test_top_p_keeps_smallest_set_reaching_p() -> None:
    target = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = target.log()
    nonzero = lambda p: set((filter_logits(logits, top_p=p) > 0).nonzero().flatten().tolist())  # noqa: E731
    assert nonzero(0.4) == {0}
    assert nonzero(0.5 - 1e-4) == {0}
    assert nonzero(0.75) == {0, 1}
    assert nonzero(0.81) == {0, 1, 2}
    assert nonzero(0.99) == {0, 1, 2, 3}
    assert nonzero(1.0) == {0, 1, 2, 3}
    torch.testing.assert_close(filter_logits(logits, top_p=0.75)[:2], torch.tensor([0.625, 0.375]))


def test_top_p_property_on_random_distributions() -> None:
    g = torch.Generator().manual_seed(1)
    for _ in range(50):
        logits = torch.randn(20, generator=g) * 2
        p = float(torch.rand(1, generator=g)) * 0.98 + 0.01
        full = F.softmax(logits, dim=-1)
        kept = filter_logits(logits, top_p=p) > 0
        assert float(full[kept].sum()) >= p - 1e-6  # enough mass
        # smallest: dropping the least likely kept token falls below p
        assert float(full[kept].sum() - full[kept].min()) < p
        # and the kept set is the most likely tokens
        if not kept.all():
            assert float(full[kept].min()) >= float(full[~kept].max())


def test_probabilities_sum_to_one_for_every_setting(model: GPT) -> None:
    settings = [dict(greedy=True), dict(temperature=0.3), dict(temperature=2.0, top_k=3),
                dict(top_p=0.6), dict(temperature=0.7, top_k=5, top_p=0.9)]
    for kw in settings:
        for step in generate_steps(model, [0, 1, 2], 6, seed=4, **kw):
            assert math.isclose(float(step.probs.sum()), 1.0, abs_tol=1e-5)
            assert math.isclose(float(step.model_probs.sum()), 1.0, abs_tol=1e-5)
            assert float(step.probs[step.token]) > 0  # the drawn token was allowed
            assert step.top[0].prob == float(step.probs.max())


def test_temperature_towards_zero_approaches_greedy() -> None:
    logits = torch.tensor([0.3, 1.2, 1.0, -0.5])
    peaks = [float(filter_logits(logits, temperature=t)[1]) for t in (2.0, 1.0, 0.5, 0.1, 0.01)]
    assert peaks == sorted(peaks)  # mass on the argmax grows as the temperature falls
    torch.testing.assert_close(filter_logits(logits, temperature=1e-3),
                               next_token_distribution(logits, greedy=True), atol=1e-6, rtol=0)


def test_temperature_one_is_the_models_softmax(model: GPT) -> None:
    for step in generate_steps(model, [5, 6], 3, seed=0):
        expected = F.softmax(oracle_last_logits(model, step.context), dim=-1)
        torch.testing.assert_close(step.probs, expected)
        torch.testing.assert_close(step.model_probs, expected)


def test_context_is_cropped_to_block_size_and_slides(model: GPT) -> None:
    prompt = [1, 2, 3, 4, 5, 6]  # longer than block_size 4
    steps = list(generate_steps(model, prompt, 3, greedy=True))
    assert steps[0].context == [3, 4, 5, 6] and steps[0].context_start == 2 and steps[0].slid
    assert steps[1].context == [4, 5, 6, steps[0].token] and steps[1].context_start == 3
    short = list(generate_steps(model, [1, 2], 4, greedy=True))
    assert [s.slid for s in short] == [False, False, False, True]  # 2, 3, 4 tokens, then 5 > 4
    assert [len(s.context) for s in short] == [2, 3, 4, 4]


def test_mingpt_sample_shapes_cropping_and_agreement(model: GPT) -> None:
    x = torch.tensor([[1, 2, 3, 4, 5, 6], [0, 0, 1, 1, 2, 2]])  # (B, T) with T > block_size
    y = sample(model, x, steps=5)
    assert y.shape == (2, 11)
    assert torch.equal(y[:, :6], x)
    for b in range(2):  # greedy sample() matches greedy generate_steps, window by window
        steps = [s.token for s in generate_steps(model, x[b].tolist(), 5, greedy=True)]
        assert y[b, 6:].tolist() == steps
    k1 = sample(model, x, steps=5, sample=True, top_k=1, generator=torch.Generator().manual_seed(3))
    assert torch.equal(k1, y)
    g1, g2 = (torch.Generator().manual_seed(7) for _ in range(2))
    assert torch.equal(sample(model, x, 5, temperature=3.0, sample=True, generator=g1),
                       sample(model, x, 5, temperature=3.0, sample=True, generator=g2))


def test_same_seed_same_text_and_stepping_equals_generate_all(model: GPT) -> None:
    run = lambda seed: [s.token for s in generate_steps(model, [2], 30, temperature=3.0, seed=seed)]  # noqa: E731
    assert run(11) == run(11)
    assert run(11) != run(12)  # 30 draws from near-uniform distributions
    seq = [2]
    for _ in range(30):  # one "next token" click at a time
        seq.append(next(generate_steps(model, seq, 1, temperature=3.0, seed=11)).token)
    assert seq[1:] == run(11)


def test_model_mode_restored(model: GPT) -> None:
    model.train()
    list(generate_steps(model, [1], 2))
    sample(model, torch.tensor([[1]]), 2)
    assert model.training
    model.eval()


@pytest.mark.parametrize("kwargs, words", [
    (dict(temperature=0.0), "Temperature"),
    (dict(temperature=-1.0), "Temperature"),
    (dict(temperature=float("nan")), "Temperature"),
    (dict(top_k=0), "top-k"),
    (dict(top_k=-2), "top-k"),
    (dict(top_p=0.0), "top-p"),
    (dict(top_p=1.5), "top-p"),
    (dict(steps=-1), "0 or more"),
])
def test_bad_arguments_raise_clear_value_errors(model: GPT, kwargs: dict, words: str) -> None:
    args = dict(steps=3) | kwargs
    with pytest.raises(ValueError, match=words):
        generate_steps(model, [1], **args)  # raised at once, not on the first next()


def test_greedy_ignores_temperature_and_empty_or_out_of_range_prompts_fail(model: GPT) -> None:
    assert [s.token for s in generate_steps(model, [1], 3, temperature=0.0, greedy=True)] == \
        [s.token for s in generate_steps(model, [1], 3, greedy=True)]
    with pytest.raises(GenerationError, match="empty"):
        generate_steps(model, [], 3)
    with pytest.raises(GenerationError, match="vocabulary"):
        generate_steps(model, [1, 99], 3)
    with pytest.raises(ValueError, match="Temperature"):
        sample(model, torch.tensor([[1]]), 2, temperature=0, sample=True)
    with pytest.raises(ValueError, match="top-k"):
        sample(model, torch.tensor([[1]]), 2, sample=True, top_k=0)


def test_prompt_encoding_messages(model: GPT) -> None:
    tok = CharTokenizer("abcdefg")
    with pytest.raises(GenerationError, match="Type a prompt"):
        encode_prompt(tok, "")
    with pytest.raises(TokenizerError, match="'z'"):
        encode_prompt(tok, "abz")
    text = generate_text(model, tok, "abc", 5, greedy=True)
    assert text.startswith("abc") and len(text) == 8


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_generation_in_training_mode_draws_what_eval_mode_draws_and_keeps_the_mode(dropout):
    # a page generates from a model that is training (dropout on): the draws must be the eval
    # model's, and the model must be left training
    torch.manual_seed(3)
    m = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=2, n_embd=16,
                      dropout=dropout))
    m.eval()
    expect = [s.token for s in generate_steps(m, [1, 2], 12, seed=5)]
    m.train()
    got = [s.token for s in generate_steps(m, [1, 2], 12, seed=5)]
    assert got == expect
    assert m.training and all(mod.training for mod in m.modules())
