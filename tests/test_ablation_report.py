"""gptviz.ablation_report against hand-edited models, the Trainer's own evaluation, and LiveRun."""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest
import torch

from gptviz.ablate import Ablation, Hooks, ablate, mean_loss, mean_outputs
from gptviz.ablation_report import (
    ablation_report,
    arrow_changes,
    evaluation_batches,
    held_text,
    parts_off,
    whole_copy,
)
from gptviz.analysis import model_transition_probs
from gptviz.config import GPTConfig, TrainConfig
from gptviz.live.run import LiveRun
from gptviz.model import GPT
from gptviz.tasks import TASKS, SequenceTask
from gptviz.train import Trainer, build_model

SEQ_CFG = GPTConfig(vocab_size=2, block_size=3, n_layer=2, n_head=2, n_embd=8, dropout=0.0,
                    bias=False)


def weights(m: GPT) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in m.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def head_cut_out(model: GPT, layer: int, head: int) -> GPT:
    """A copy whose head's output never reaches the stream: its columns of c_proj zeroed."""
    hs = model.config.n_embd // model.config.n_head
    m = copy.deepcopy(model)
    with torch.no_grad():
        m.transformer.h[layer].attn.c_proj.weight[:, head * hs:(head + 1) * hs] = 0
    return m


@pytest.fixture
def seq_trainer() -> Trainer:
    task = SequenceTask("111101111011110", 2, 3)
    trainer = Trainer(build_model(SEQ_CFG, 3), task,
                      TrainConfig(learning_rate=1e-2, batch_size=12, eval_interval=1,
                                  eval_batches=1, max_steps=40))
    trainer.run(30)
    return trainer


@pytest.fixture
def adder() -> Trainer:
    task = TASKS["addition"](ndigit=1)
    cfg = GPTConfig(vocab_size=task.vocab_size, block_size=task.block_size, n_layer=2,
                    n_head=2, n_embd=16, dropout=0.0)
    trainer = Trainer(build_model(cfg, 0), task,
                      TrainConfig(learning_rate=3e-3, batch_size=32, eval_interval=10,
                                  eval_batches=2, seed=5))
    trainer.run(40)
    return trainer


def test_whole_copy_drops_a_held_ablation_keeps_the_weights_and_the_global_generator(
        seq_trainer):
    model = seq_trainer.model.eval()
    x = seq_trainer.task.examples["train"][0]
    whole = model(x).logits.clone()
    hooks = Hooks(model, Ablation(heads=frozenset({(0, 1)})))
    try:
        assert not torch.allclose(model(x).logits, whole)  # the original is ablated
        torch.manual_seed(7)
        copied = whole_copy(model)
        drawn = torch.rand(3)
        torch.manual_seed(7)
        assert torch.equal(torch.rand(3), drawn)  # making the copy drew nothing
        torch.testing.assert_close(copied(x).logits, whole)
        assert same_weights(weights(copied), weights(model))
        assert copied is not model and not copied.training
    finally:
        hooks.remove()


def test_evaluation_batches_are_the_trainers_own(seq_trainer, adder):
    for trainer in (seq_trainer, adder):
        batches = evaluation_batches(trainer.task, trainer.config)
        event = trainer.evaluate()
        assert mean_loss(trainer.model, batches["train"]) == pytest.approx(event.train_loss,
                                                                          rel=1e-5)
        if event.val_loss is not None:
            assert mean_loss(trainer.model, batches["val"]) == pytest.approx(event.val_loss,
                                                                            rel=1e-5)
    assert set(evaluation_batches(seq_trainer.task, seq_trainer.config)) == {"train"}
    assert set(evaluation_batches(adder.task, adder.config)) == {"train", "val"}
    assert len(evaluation_batches(adder.task, adder.config)["train"]) == 2  # eval_batches


def test_report_of_a_head_equals_a_model_with_the_head_cut_out(adder):
    model = whole_copy(adder.model)
    batches = evaluation_batches(adder.task, adder.config)
    before = weights(model)
    report = ablation_report(model, Ablation(heads=frozenset({(1, 0)})), batches,
                             task=adder.task)
    cut = head_cut_out(model, 1, 0)
    for split in ("train", "val"):
        assert report.loss_before[split] == pytest.approx(mean_loss(model, batches[split]))
        assert report.loss_after[split] == pytest.approx(mean_loss(cut, batches[split]),
                                                         rel=1e-5)
    assert report.metrics_before == adder.task.metrics(model)
    assert report.metrics_after == pytest.approx(adder.task.metrics(cut))
    assert report.loss_change("train") == pytest.approx(
        report.loss_after["train"] - report.loss_before["train"])
    assert not report.everything_off
    assert same_weights(weights(model), before)  # nothing was written into the weights


def test_mean_report_uses_the_training_means_and_equals_ablate(adder):
    model = whole_copy(adder.model)
    batches = evaluation_batches(adder.task, adder.config)
    choice = Ablation(mlps=frozenset({0}), heads=frozenset({(1, 1)}), mode="mean")
    report = ablation_report(model, choice, batches, task=adder.task)
    means = mean_outputs(model, batches["train"])
    with ablate(model, choice, means):
        assert report.loss_after["val"] == pytest.approx(mean_loss(model, batches["val"]))
        assert report.metrics_after == adder.task.metrics(model)
    zero = ablation_report(model, Ablation(mlps=frozenset({0}), heads=frozenset({(1, 1)})),
                           batches)
    assert zero.loss_after["val"] != pytest.approx(report.loss_after["val"])


def test_everything_off_is_a_model_of_the_current_token_and_position_only(seq_trainer):
    model = whole_copy(seq_trainer.model)
    batches = evaluation_batches(seq_trainer.task, seq_trainer.config)
    all_off = Ablation(blocks=frozenset({0, 1}))
    report = ablation_report(model, all_off, batches)
    assert report.everything_off
    assert ablation_report(model, Ablation(blocks=frozenset({0})), batches).everything_off \
        is False
    # the oracle: embeddings -> final LayerNorm -> output layer, nothing in between
    x, y = batches["train"][0]
    t = model.transformer
    h = t.wte(x) + t.wpe(torch.arange(x.shape[1]))
    logits = model.lm_head(t.ln_f(h))
    scored = y != -1
    expected = torch.nn.functional.cross_entropy(logits[scored], y[scored]).item()
    assert report.loss_after["train"] == pytest.approx(expected, rel=1e-5)


def test_a_part_the_model_lacks_is_refused_with_a_sentence(seq_trainer):
    batches = evaluation_batches(seq_trainer.task, seq_trainer.config)
    with pytest.raises(ValueError, match="no head 3 in layer 1"):
        ablation_report(whole_copy(seq_trainer.model), Ablation(heads=frozenset({(0, 2)})),
                        batches)


def test_arrow_changes_sorts_by_how_far_each_arrow_moved():
    states = [(0, 0), (0, 1), (1, 0), (1, 1)]
    before = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    after = np.array([[0.5, 0.5], [0.6, 0.4], [0.25, 0.75], [0.0, 1.0]])
    got = arrow_changes(states, before, after, context=2)
    assert len(got) == 8
    assert [(c.state, c.token) for c in got[:4]] == [((1, 1), 0), ((1, 1), 1), ((0, 1), 0),
                                                    ((0, 1), 1)]
    first = got[0]
    assert first.next == (1, 0) and first.before == 0.6 and first.after == 0.0
    assert first.change == pytest.approx(-0.6)
    assert got[2].next == (1, 0) and got[3].next == (1, 1)  # (0, 1) + token -> last two
    assert [abs(c.change) for c in got] == sorted((abs(c.change) for c in got), reverse=True)
    with pytest.raises(ValueError):
        arrow_changes(states, before, after[:3], context=2)


def test_arrow_changes_of_a_real_ablation_match_the_ablated_models_probabilities(seq_trainer):
    model = whole_copy(seq_trainer.model)
    states = [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    choice = Ablation(heads=frozenset({(0, 0), (1, 1)}))
    before = model_transition_probs(model, states).numpy()
    with ablate(model, choice):
        after = model_transition_probs(model, states).numpy()
    cut = head_cut_out(head_cut_out(model, 0, 0), 1, 1)
    oracle = model_transition_probs(cut, states).numpy()
    for c in arrow_changes(states, before, after, 3):
        i = states.index(c.state)
        assert c.after == pytest.approx(float(oracle[i, c.token]), abs=1e-6)
        assert c.next == c.state[1:] + (c.token,)


def test_held_text_names_the_parts_and_says_when_it_trains():
    assert held_text(Ablation(), training=True) == ""
    one = Ablation(heads=frozenset({(0, 1)}))
    assert held_text(one, training=True) == "training with head 2 of layer 1 off (zero ablation)"
    assert held_text(one, training=False, since=1200) == (
        "model with head 2 of layer 1 off since step 1,200 (zero ablation)")
    many = Ablation(heads=frozenset({(0, 1), (1, 0)}), mlps=frozenset({1}),
                    blocks=frozenset({1}), mode="mean")
    assert parts_off(many) == "head 2 of layer 1 and all of layer 2"


def test_live_run_trains_its_next_step_with_a_new_ablation_not_with_a_kept_forward():
    # document 000's set-up: every step trains on all windows and is evaluated after it, so
    # the Trainer keeps that evaluation's forward for the next step; a new ablation must not
    # train on it
    task = SequenceTask("111101111011110", 2, 3)
    trainer = Trainer(build_model(SEQ_CFG, 1), task,
                      TrainConfig(learning_rate=1e-2, batch_size=12, eval_interval=1,
                                  eval_batches=1))
    run = LiveRun(trainer)
    for _ in range(5):
        run.step_once()
    x, y = task.examples["train"]
    choice = Ablation(heads=frozenset({(1, 0)}), mlps=frozenset({0}))
    with ablate(trainer.model, choice):
        expected = mean_loss(trainer.model, [(x, y)])
    assert expected != pytest.approx(mean_loss(trainer.model, [(x, y)]))
    run.set_ablation(choice)
    run.step_once()
    assert run.history.losses[-1] == pytest.approx(expected, rel=1e-5)
    run.set_ablation(Ablation())
    whole = mean_loss(trainer.model, [(x, y)])
    run.step_once()
    assert run.history.losses[-1] == pytest.approx(whole, rel=1e-5)
    assert run.snapshot().ablation == Ablation()
    assert run.snapshot().ablation_step == 6  # lifted after the sixth step
    mean = Ablation(mlps=frozenset({1}), mode="mean")
    run.set_ablation(mean, mean_outputs(trainer.model, [(x, y)]))
    run.step_once()
    run.set_ablation(mean, mean_outputs(trainer.model, [(x, y)]))  # new means, same parts
    assert run.snapshot().ablation_step == 7


def test_settle_waits_for_the_last_step_and_publishes_it():
    task = SequenceTask("111101111011110", 2, 3)
    trainer = Trainer(build_model(SEQ_CFG, 2), task,
                      TrainConfig(learning_rate=1e-2, batch_size=12, eval_interval=1,
                                  eval_batches=1))
    run = LiveRun(trainer)
    run.start(100_000)
    deadline = time.monotonic() + 30
    while trainer.step_count < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert run.settle() is False  # training: nothing done
    run.pause()
    assert run.settle() is True
    snap = run.snapshot()
    assert snap.view_step == trainer.step_count == snap.step
    view = run.read_model(lambda m: weights(m))
    assert same_weights(view, weights(trainer.model))
