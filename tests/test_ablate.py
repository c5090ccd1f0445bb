"""Ablation against models edited by hand: a head, an MLP or a block removed from the weights."""

from __future__ import annotations

import copy

import pytest
import torch

from gptviz.ablate import Ablation, ablate, mean_loss, mean_outputs, part_effects
from gptviz.config import GPTConfig, TrainConfig
from gptviz.live.run import LiveRun
from gptviz.model import GPT
from gptviz.tasks.sequence import SequenceTask
from gptviz.train import Trainer, build_model

CFG = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.0,
                bias=True)
HS = CFG.n_embd // CFG.n_head


@pytest.fixture
def model() -> GPT:
    m = build_model(CFG, seed=3)
    with torch.no_grad():  # biases away from zero, so that a forgotten bias would show
        for name, p in m.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)
    return m.eval()


def batch(seed: int = 0, n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(CFG.vocab_size, (n, CFG.block_size), generator=g)
    y = torch.randint(CFG.vocab_size, (n, CFG.block_size), generator=g)
    return x, y


def weights(m: GPT) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in m.state_dict().items()}


def test_zero_ablating_a_head_equals_removing_its_columns_of_the_output_projection(model):
    x, _ = batch()
    layer, head = 1, 0
    by_hand = copy.deepcopy(model)
    with torch.no_grad():  # head h's output reaches the stream only through these columns
        by_hand.transformer.h[layer].attn.c_proj.weight[:, head * HS:(head + 1) * HS] = 0
    with ablate(model, Ablation(heads=frozenset({(layer, head)}))):
        got = model(x).logits
    torch.testing.assert_close(got, by_hand(x).logits)
    assert not torch.allclose(got, model(x).logits)  # and it did change something


def test_zero_ablating_a_head_equals_zeroing_its_values(model):
    # an independent hand edit: with its value weights at zero the head outputs nothing
    x, _ = batch(1)
    by_hand = copy.deepcopy(model)
    attn = by_hand.transformer.h[0].attn
    rows = slice(2 * CFG.n_embd + HS, 2 * CFG.n_embd + 2 * HS)  # head 1's value rows
    with torch.no_grad():
        attn.c_attn.weight[rows] = 0
        attn.c_attn.bias[rows] = 0
    with ablate(model, Ablation(heads=frozenset({(0, 1)}))):
        torch.testing.assert_close(model(x).logits, by_hand(x).logits)


def test_mean_ablating_a_head_equals_folding_its_mean_into_the_projection_bias(model):
    data = [batch(2), batch(3)]
    means = mean_outputs(model, data)
    # the oracle mean, by hand: the heads' concatenated outputs are c_proj's input
    seen = []
    handle = model.transformer.h[0].attn.c_proj.register_forward_pre_hook(
        lambda m, a: seen.append(a[0].detach()))
    for x, _ in data:
        model(x)
    handle.remove()
    mean_h1 = torch.cat(seen).reshape(-1, CFG.n_embd).mean(0)[HS:2 * HS]
    torch.testing.assert_close(means.heads[0][1], mean_h1, atol=1e-6, rtol=1e-5)
    by_hand = copy.deepcopy(model)
    proj = by_hand.transformer.h[0].attn.c_proj
    with torch.no_grad():  # c_proj is linear: a constant input slice is a constant bias
        proj.bias += proj.weight[:, HS:2 * HS] @ mean_h1
        proj.weight[:, HS:2 * HS] = 0
    x, _ = batch(4)
    with ablate(model, Ablation(heads=frozenset({(0, 1)}), mode="mean"), means):
        torch.testing.assert_close(model(x).logits, by_hand(x).logits, atol=1e-5, rtol=1e-5)


def test_mlp_ablation_zero_and_mean_equal_an_mlp_whose_output_layer_is_edited(model):
    data = [batch(5)]
    means = mean_outputs(model, data)
    x, _ = batch(6)
    for mode in ("zero", "mean"):
        by_hand = copy.deepcopy(model)
        out = by_hand.transformer.h[1].mlp.c_proj
        with torch.no_grad():
            out.weight.zero_()
            out.bias.copy_(means.mlps[1] if mode == "mean" else torch.zeros(CFG.n_embd))
        with ablate(model, Ablation(mlps=frozenset({1}), mode=mode), means):
            torch.testing.assert_close(model(x).logits, by_hand(x).logits, atol=1e-5,
                                       rtol=1e-5)


def test_zero_ablating_a_block_equals_a_model_without_that_block(model):
    x, _ = batch(7)
    by_hand = copy.deepcopy(model)
    del by_hand.transformer.h[0]
    with ablate(model, Ablation(blocks=frozenset({0}))):
        torch.testing.assert_close(model(x).logits, by_hand(x).logits)


def test_mean_ablating_a_block_adds_its_mean_change_to_the_stream(model):
    data = [batch(8)]
    means = mean_outputs(model, data)
    x, _ = batch(9)
    # by hand, layer by layer: block 1 replaced by "add the mean change"
    h = model.embed(x)
    h, _ = model.transformer.h[0](h)
    h = h + means.blocks[1]
    want = model.lm_head(model.transformer.ln_f(h))
    with ablate(model, Ablation(blocks=frozenset({1}), mode="mean"), means):
        torch.testing.assert_close(model(x).logits, want, atol=1e-5, rtol=1e-5)


def test_weights_never_change_and_hooks_go_even_after_an_error(model):
    before = weights(model)
    x, _ = batch()
    whole = model(x).logits
    with pytest.raises(RuntimeError), ablate(model, Ablation(heads=frozenset({(0, 0)}),
                                                             mlps=frozenset({1}))):
        raise RuntimeError("inside")
    after = weights(model)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    torch.testing.assert_close(model(x).logits, whole)  # whole again


def test_bad_ablations_get_a_sentence(model):
    with pytest.raises(ValueError, match="no head 3 in layer 1"):
        Ablation(heads=frozenset({(0, 2)})).check(CFG)
    with pytest.raises(ValueError, match="no layer 3"):
        Ablation(blocks=frozenset({2})).check(CFG)
    with pytest.raises(ValueError, match="mode"):
        Ablation(mode="half").check(CFG)
    with pytest.raises(ValueError, match="mean outputs"):
        ablate(model, Ablation(heads=frozenset({(0, 0)}), mode="mean")).__enter__()
    everything = Ablation(blocks=frozenset({0, 1}))
    assert everything.everything_off(CFG)
    assert not Ablation(blocks=frozenset({0})).everything_off(CFG)
    assert Ablation(heads=frozenset({(0, 0), (0, 1), (1, 0), (1, 1)}),
                    mlps=frozenset({0, 1})).everything_off(CFG)
    assert everything.describe() == "all of layer 1, all of layer 2 (zero ablation)"
    assert Ablation().describe() == "nothing" and not Ablation()


def test_part_effects_equal_each_part_ablated_alone(model):
    data = [batch(10)]
    effects = part_effects(model, data)
    assert [e.name for e in effects] == ["L1 H1", "L1 H2", "MLP 1", "L2 H1", "L2 H2", "MLP 2"]
    base = mean_loss(model, data)
    x, y = data[0]
    torch.testing.assert_close(torch.tensor(base), model(x, y).loss, atol=1e-5, rtol=1e-5)
    by_hand = copy.deepcopy(model)
    with torch.no_grad():
        by_hand.transformer.h[1].attn.c_proj.weight[:, HS:] = 0  # L2 H2
    e = effects[4]
    assert e.increase == pytest.approx(by_hand(x, y).loss.item() - base, abs=1e-5)


def test_mean_loss_counts_only_scored_targets(model):
    x, y = batch(11)
    y[:, :5] = -1
    torch.testing.assert_close(torch.tensor(mean_loss(model, [(x, y)])), model(x, y).loss,
                               atol=1e-5, rtol=1e-5)


def test_a_live_run_trains_with_the_ablation_held_and_lifts_it():
    task = SequenceTask("01101001" * 4, vocab_size=2, block_size=3)
    cfg = GPTConfig(vocab_size=2, block_size=3, n_layer=1, n_head=2, n_embd=8, dropout=0.0)
    trainer = Trainer(build_model(cfg, seed=0), task, TrainConfig(max_steps=10, batch_size=8))
    run = LiveRun(trainer)
    w_v_before = trainer.model.transformer.h[0].attn.c_proj.weight[:, :4].clone()
    run.set_ablation(Ablation(heads=frozenset({(0, 0)})))
    assert run.ablation.heads == {(0, 0)}
    for _ in range(3):
        run.step_once()
    # with head 1 off its output columns of c_proj get no gradient, only weight decay
    grad_free = trainer.model.transformer.h[0].attn.c_proj.weight[:, :4]
    lr, wd = trainer.config.learning_rate, trainer.config.weight_decay
    torch.testing.assert_close(grad_free, w_v_before * (1 - lr * wd) ** 3)
    x = torch.tensor([[0, 1, 1]])
    ablated_view = run.read_model(lambda m: m(x).logits.clone())
    run.set_ablation(Ablation())
    whole_view = run.read_model(lambda m: m(x).logits.clone())
    assert not torch.allclose(ablated_view, whole_view)
    by_hand = copy.deepcopy(trainer.model)
    with torch.no_grad():
        by_hand.transformer.h[0].attn.c_proj.weight[:, :4] = 0
    torch.testing.assert_close(ablated_view, by_hand(x).logits)
    with pytest.raises(ValueError, match="no head 3"):
        run.set_ablation(Ablation(heads=frozenset({(0, 2)})))
    assert not run.ablation
