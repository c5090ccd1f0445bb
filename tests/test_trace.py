"""The hand-written forward pass against the model itself (PyTorch as the oracle)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from gptviz.ablate import Ablation, ablate, mean_outputs
from gptviz.config import GPTConfig
from gptviz.model import GPT
from gptviz.tokenizers import CharTokenizer, TiktokenTokenizer
from gptviz.trace import logit_lens, trace_forward

TOK = CharTokenizer("abcdefgh ")


def tiny_model(seed: int = 0, **kw) -> GPT:
    cfg = dict(vocab_size=TOK.vocab_size, block_size=8, n_layer=2, n_head=2, n_embd=16,
               bias=True)
    cfg.update(kw)
    torch.manual_seed(seed)
    return GPT(GPTConfig(**cfg)).eval()


@pytest.fixture(scope="module")
def model() -> GPT:
    m = tiny_model()
    with torch.no_grad():  # random biases and LayerNorm gains, so no stage is trivially zero
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m


IDS = TOK.encode("bad cafe")  # 8 tokens = the whole context


def test_traced_logits_and_attention_equal_the_models(model):
    tr = trace_forward(model, IDS, TOK)
    out = model(torch.tensor([IDS]), return_attention=True)
    assert torch.allclose(tr.logits, out.logits[0], atol=1e-5)
    for layer in range(2):
        assert torch.allclose(tr.get("attn_weights", layer).tensor, out.attention[layer][0],
                              atol=1e-6)
    assert torch.allclose(tr.probs, F.softmax(out.logits[0], dim=-1), atol=1e-6)


def test_model_in_training_mode_is_traced_without_dropout():
    m = tiny_model(dropout=0.5).train()
    tr = trace_forward(m, IDS)
    logit_lens(m, IDS)
    assert m.training and all(mod.training for mod in m.modules())  # put back as it was
    m.eval()
    assert torch.allclose(tr.logits, m(torch.tensor([IDS])).logits[0], atol=1e-5)


@pytest.mark.parametrize("ablation", [
    Ablation(heads=frozenset({(0, 1)})),
    Ablation(mlps=frozenset({1})),
    Ablation(blocks=frozenset({0})),
    Ablation(heads=frozenset({(1, 0)}), mlps=frozenset({0}), mode="mean"),
    Ablation(blocks=frozenset({1}), mode="mean"),
], ids=lambda a: a.describe())
def test_an_ablated_model_is_traced_as_it_computes(model, ablation):
    x = torch.tensor([IDS])
    means = mean_outputs(model, [(x, x)]) if ablation.mode == "mean" else None
    whole = trace_forward(model, IDS)
    with ablate(model, ablation, means):
        tr = trace_forward(model, IDS)
        out = model(x).logits[0]
        lens = logit_lens(model, IDS)
    assert torch.allclose(tr.logits, out, atol=1e-5)  # the oracle: the ablated model itself
    assert not torch.allclose(tr.logits, whole.logits, atol=1e-3)  # and it did change
    assert torch.allclose(lens[-1], F.softmax(out, dim=-1), atol=1e-6)
    hs, T = 8, len(IDS)
    blk = model.transformer.h
    for layer, head in ablation.heads:  # the head's slice of c_proj's input is 0 or its mean
        y = tr.get("context", layer).tensor.transpose(0, 1).reshape(T, 16).clone()
        y[:, head * hs:(head + 1) * hs] = 0.0 if means is None else means.heads[layer][head]
        with torch.no_grad():
            assert torch.allclose(tr.get("attn_out", layer).tensor, blk[layer].attn.c_proj(y),
                                  atol=1e-6)
    for layer in ablation.mlps:
        wrote = torch.zeros(16) if means is None else means.mlps[layer]
        assert torch.allclose(tr.get("mlp_out", layer).tensor, wrote.expand(T, 16))
    for layer in ablation.blocks:  # the block returns its input (plus its mean change)
        x_in = tr.get("embed").tensor if layer == 0 else tr.get("resid_mlp", layer - 1).tensor
        delta = 0.0 if means is None else means.blocks[layer]
        assert torch.allclose(tr.get("resid_mlp", layer).tensor, x_in + delta, atol=1e-6)


def test_attention_rows_sum_to_one_and_the_future_is_masked(model):
    tr = trace_forward(model, IDS)
    T = len(IDS)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    for layer in range(2):
        w = tr.get("attn_weights", layer).tensor  # (nh, T, T)
        assert torch.allclose(w.sum(-1), torch.ones(2, T), atol=1e-6)
        assert (w[:, future] == 0).all()
        assert (w[:, ~future] > 0).all()
        masked = tr.get("masked_scores", layer).tensor
        assert torch.isneginf(masked[:, future]).all()
        assert torch.equal(masked[:, ~future], tr.get("scores", layer).tensor[:, ~future])


def test_each_stage_is_the_step_its_name_says(model):
    tr = trace_forward(model, IDS, TOK)
    blk = model.transformer.h[0]
    tok = tr.get("tok_emb").tensor
    assert torch.equal(tok, model.transformer.wte.weight[IDS].detach())
    assert torch.allclose(tr.get("embed").tensor, tok + tr.get("pos_emb").tensor)
    q, k, v = (tr.get(n, 0).tensor for n in "qkv")
    hs = 16 // 2
    assert torch.allclose(tr.get("scores", 0).tensor, q @ k.transpose(-2, -1) / math.sqrt(hs),
                          atol=1e-6)
    ctx = tr.get("context", 0).tensor
    assert torch.allclose(ctx, tr.get("attn_weights", 0).tensor @ v, atol=1e-6)
    y = ctx.transpose(0, 1).reshape(len(IDS), 16)
    with torch.no_grad():
        assert torch.allclose(tr.get("attn_out", 0).tensor, blk.attn.c_proj(y), atol=1e-6)
    assert torch.allclose(tr.get("resid_attn", 0).tensor,
                          tr.get("embed").tensor + tr.get("attn_out", 0).tensor)
    assert (tr.get("mlp_hidden", 0).tensor.shape == (len(IDS), 64))
    assert torch.allclose(tr.get("resid_mlp", 0).tensor,
                          tr.get("resid_attn", 0).tensor + tr.get("mlp_out", 0).tensor)
    ln1 = model.transformer.h[1].ln_1  # block 2 normalises block 1's output
    with torch.no_grad():
        expected = F.layer_norm(tr.get("resid_mlp", 0).tensor, (16,), ln1.weight, ln1.bias)
    assert torch.allclose(tr.get("ln_1", 1).tensor, expected, atol=1e-5)


def test_stage_order_shapes_and_prediction(model):
    tr = trace_forward(model, IDS, TOK)
    T, C, V, nh = len(IDS), 16, TOK.vocab_size, 2
    keys = [s.key for s in tr.stages]
    block = ["ln_1", "q", "k", "v", "scores", "masked_scores", "attn_weights", "context",
             "attn_out", "resid_attn", "ln_2", "mlp_hidden", "mlp_out", "resid_mlp"]
    assert keys == (["ids", "tok_emb", "pos_emb", "embed"] + block * 2
                    + ["ln_f", "logits", "probs", "next_token"])
    shapes = {s.key: s.shape for s in tr.stages}
    assert shapes["tok_emb"] == (T, C) and shapes["q"] == (nh, T, C // nh)
    assert shapes["attn_weights"] == (nh, T, T) and shapes["logits"] == (T, V)
    for s in tr.stages:
        assert len(s.axes) == len(s.shape) and s.explanation
        assert not s.tensor.requires_grad and s.tensor.device.type == "cpu"
    assert tr.next_id == int(model(torch.tensor([IDS])).logits[0, -1].argmax())
    assert tr.next_text == TOK.decode([tr.next_id])
    assert tr.tokens == list("bad cafe")


def test_too_long_and_empty_inputs_are_refused(model):
    with pytest.raises(ValueError, match="context length"):
        trace_forward(model, TOK.encode("abcdefgha"))
    with pytest.raises(ValueError):
        trace_forward(model, [])


def test_logit_lens_ends_at_the_models_output(model):
    lens = logit_lens(model, IDS)
    assert lens.shape == (3, len(IDS), TOK.vocab_size)
    assert torch.allclose(lens.sum(-1), torch.ones(3, len(IDS)), atol=1e-5)
    with torch.no_grad():
        out = F.softmax(model(torch.tensor([IDS])).logits[0], dim=-1)
        assert torch.allclose(lens[-1], out, atol=1e-6)
        # row 0: the embeddings read out directly, as if there were no blocks
        x0 = model.transformer.wte.weight[IDS] + model.transformer.wpe.weight[:len(IDS)]
        direct = F.softmax(model.lm_head(model.transformer.ln_f(x0)), dim=-1)
        assert torch.allclose(lens[0], direct, atol=1e-6)


def test_document_002_prompt_through_a_gpt2_sized_vocabulary(gpt2_tiktoken_dir):
    tok = TiktokenTokenizer("gpt2")
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=50257, block_size=16, n_layer=1, n_head=2, n_embd=8)).eval()
    tr = trace_forward(m, tok.encode("Hello, I am"), tok)
    assert tr.ids == [15496, 11, 314, 716]
    assert tr.tokens == ["Hello", ",", " I", " am"]
    assert tr.logits.shape == (4, 50257)
    assert tr.next_text == tok.decode([tr.next_id])
