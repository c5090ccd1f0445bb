"""The GPT against oracles: document 000's printed numbers, PyTorch's own attention, the config."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.nn import functional as F

from gptviz.config import DOC000_MODEL, ConfigError, GPTConfig
from gptviz.model import GPT

# document 000, "input [x] ---> [P(0), P(1)]" for the untrained model built after manual_seed(1337)
DOC000_UNTRAINED = {
    (0, 0, 0): (0.4963349997997284, 0.5036649107933044),
    (0, 0, 1): (0.4515703618526459, 0.5484296679496765),
    (0, 1, 0): (0.49648362398147583, 0.5035163760185242),
    (0, 1, 1): (0.45181113481521606, 0.5481888651847839),
    (1, 0, 0): (0.4961162209510803, 0.5038837194442749),
    (1, 0, 1): (0.4517717957496643, 0.5482282042503357),
    (1, 1, 0): (0.4962802827358246, 0.5037197470664978),
    (1, 1, 1): (0.4520467519760132, 0.5479532480239868),
}


def doc000_model() -> GPT:
    torch.manual_seed(1337)
    return GPT(DOC000_MODEL)


def test_reproduces_document_000_untrained_probabilities():
    model = doc000_model()
    states = list(DOC000_UNTRAINED)
    probs = model.next_token_probs(torch.tensor(states))
    expected = torch.tensor([DOC000_UNTRAINED[s] for s in states])
    assert torch.allclose(probs, expected, atol=1e-6)
    assert probs[0, 1].item() == pytest.approx(0.50366, abs=5e-6)


def small_model(dropout: float = 0.0, bias: bool = True) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=4, n_embd=32,
                         dropout=dropout, bias=bias))


def test_shapes_and_parameter_count():
    model = small_model()
    x = torch.randint(11, (3, 8))
    out = model(x, return_attention=True)
    assert out.logits.shape == (3, 8, 11)
    assert out.loss is None
    assert len(out.attention) == 2 and out.attention[0].shape == (3, 4, 8, 8)
    assert model.num_params() == model.config.num_params()
    assert doc000_model().num_params() == DOC000_MODEL.num_params() == 12_512
    # the output head and the token embedding are one tensor (weight tying)
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()


def test_attention_rows_sum_to_one_and_respect_the_mask():
    model = small_model()
    att = model(torch.randint(11, (2, 8)), return_attention=True).attention
    for a in att:
        assert torch.allclose(a.sum(-1), torch.ones(2, 4, 8), atol=1e-6)
        future = torch.triu(torch.ones(8, 8, dtype=torch.bool), diagonal=1)
        assert (a[..., future] == 0).all()


def test_future_tokens_do_not_change_past_logits():
    model = small_model()
    x = torch.randint(11, (1, 8))
    y = x.clone()
    y[0, 5:] = (y[0, 5:] + 1) % 11
    assert torch.allclose(model(x).logits[0, :5], model(y).logits[0, :5], atol=1e-6)


def test_fused_and_captured_attention_paths_agree():
    model = small_model()
    x = torch.randint(11, (4, 8))
    fused = model(x).logits
    captured = model(x, return_attention=True).logits
    assert torch.allclose(fused, captured, atol=1e-5)


def test_captured_weights_equal_a_hand_computed_softmax():
    model = small_model()
    x = torch.randint(11, (1, 6))
    att = model(x, return_attention=True).attention[0]
    block = model.transformer.h[0]
    h = block.ln_1(model.embed(x))
    q, k, _ = block.attn.qkv(h)
    scores = q @ k.transpose(-2, -1) / (k.size(-1) ** 0.5)
    scores = scores.masked_fill(torch.triu(torch.ones(6, 6, dtype=torch.bool), 1), float("-inf"))
    assert torch.allclose(att, torch.softmax(scores, -1), atol=1e-6)


def test_loss_ignores_targets_marked_minus_one():
    model = small_model()
    x = torch.randint(11, (2, 8))
    y = torch.full((2, 8), -1)
    y[:, -1] = torch.tensor([3, 7])
    out = model(x, y)
    expected = F.cross_entropy(out.logits[:, -1, :], torch.tensor([3, 7]))
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_initialisation_follows_gpt2():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=300, block_size=64, n_layer=4, n_head=4, n_embd=128))
    stds = {n: p.std().item() for n, p in model.named_parameters() if p.dim() == 2}
    assert stds["transformer.wte.weight"] == pytest.approx(0.02, rel=0.05)
    assert stds["transformer.h.0.attn.c_proj.weight"] == pytest.approx(0.02 / (8 ** 0.5), rel=0.1)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(n_embd=10, n_head=4), "not divisible"),
        (dict(vocab_size=0), "Vocabulary"),
        (dict(n_layer=0), "Layers"),
        (dict(n_embd=1024, n_layer=16, vocab_size=50_000), "parameters"),
        (dict(dropout=1.0), "Dropout"),
    ],
)
def test_bad_configs_are_refused_before_allocation(kwargs, words):
    with pytest.raises(ConfigError, match=words):
        GPTConfig(**kwargs).validate()


def test_all_sequences_of_every_length_run():
    model = doc000_model()
    for n in (1, 2, 3):
        states = torch.tensor(list(itertools.product([0, 1], repeat=n)))
        p = model.next_token_probs(states)
        assert torch.allclose(p.sum(-1), torch.ones(len(states)))
    with pytest.raises(ValueError, match="longer than the context"):
        model(torch.zeros(1, 4, dtype=torch.long))
