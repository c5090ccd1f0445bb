"""The Trainer's fast paths change nothing but the time: checked against the plain paths."""

from __future__ import annotations

import math
import time

import pytest
import torch

from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN, GPTConfig, TrainConfig
from gptviz.live import LiveRun
from gptviz.tasks import SequenceTask
from gptviz.train import Speedups, Trainer, TrainingDiverged, auto_device, build_model


def doc000_trainer(speedups: Speedups | None = None, **overrides) -> Trainer:
    cfg = TrainConfig(**{**DOC000_TRAIN.to_dict(), **overrides})
    return Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3), cfg,
                   speedups)


def test_fused_adamw_trains_like_the_per_tensor_loop():
    fused, plain = doc000_trainer(), doc000_trainer(Speedups(fused_optimizer=False))
    assert fused.speedups.fused_optimizer and not plain.speedups.fused_optimizer
    a = [fused.step().loss for _ in range(50)]
    b = [plain.step().loss for _ in range(50)]
    assert a[0] == b[0] == pytest.approx(0.663539, abs=1e-6)  # document 000's first loss
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-5  # float rounding only
    for p, q in zip(fused.model.parameters(), plain.model.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5)


def test_gpu_only_speedups_are_ignored_on_the_cpu():
    asked = doc000_trainer(Speedups(autocast=True, compile=True, fused_optimizer=True))
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert asked.config.device == "cpu" and auto_device() == "cpu"
    assert not asked.speedups.autocast and not asked.speedups.compile  # no bf16 CPU matmuls
    default = doc000_trainer()
    assert [asked.step().loss for _ in range(5)] == [default.step().loss for _ in range(5)]


def test_evaluating_every_step_changes_no_training_step_and_reports_the_true_loss():
    # the Baby GPT page evaluates after every step; that evaluation reuses its forward pass
    # for the next step, which must leave every number as it would be without it
    watched = doc000_trainer(eval_interval=1)
    alone = doc000_trainer(eval_interval=1_000)
    evals = []
    watched.add_callback(lambda e: evals.append(e) if hasattr(e, "train_loss") else None)
    a = []
    for _ in range(20):
        a.append(watched.step().loss)
        watched.evaluate()
    b = [alone.step().loss for _ in range(20)]
    assert a == b
    x, y = watched.task.examples["train"]
    with torch.no_grad():
        truth = watched.model(x, y).loss.item()  # the weights after 20 steps
    assert evals[-1].step == 20
    assert evals[-1].train_loss == pytest.approx(truth, abs=1e-6)
    # with all windows in every batch, the loss after step k is step k + 1's training loss
    assert evals[-1].train_loss == pytest.approx(watched.step().loss, abs=1e-6)


def test_a_prepared_forward_is_dropped_when_the_weights_change_in_between():
    trainer = doc000_trainer()
    trainer.step()
    trainer.evaluate()  # prepares step 2's forward from the current weights
    other = build_model(DOC000_MODEL, 7)
    trainer.model.load_state_dict(other.state_dict())  # e.g. a page loading weights
    x, y = trainer.task.examples["train"]
    with torch.no_grad():
        expected = other(x, y).loss.item()
    assert trainer.step().loss == pytest.approx(expected, abs=1e-6)


def test_nan_weights_are_never_left_behind():
    trainer = doc000_trainer()
    for _ in range(30):
        trainer.step()
    with torch.no_grad():
        trainer.model.transformer.h[0].mlp.c_fc.weight[0, 0] = float("nan")
    with pytest.raises(TrainingDiverged, match="at step 31"):
        trainer.step()
    assert trainer.step_count == 25  # the last snapshot (every 25 steps)
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert math.isfinite(trainer.step().loss)


def test_dropout_still_drops_when_it_is_on():
    torch.manual_seed(0)
    from gptviz.model import GPT

    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=8,
                          dropout=0.5))
    x = torch.randint(5, (2, 4))
    model.train()
    assert not torch.equal(model(x).logits, model(x).logits)
    model.eval()
    assert torch.equal(model(x).logits, model(x).logits)


def test_live_run_measures_its_step_rate_and_36_tokens_per_step():
    run = LiveRun(doc000_trainer())
    run.start(1_000_000)
    end = time.monotonic() + 30  # a wait for the first measurement, not a speed target
    try:
        snap = run.snapshot()
        while not (snap.step >= 20 and snap.steps_per_second > 0) and time.monotonic() < end:
            time.sleep(0.05)
            snap = run.snapshot()
    finally:
        run.pause()
    assert snap.status == "training" and snap.step >= 20  # it trained, and was still at it
    assert snap.steps_per_second > 0 and snap.tokens_per_second > 0  # and measured its rate
    # 12 windows of 3 tokens per step
    assert snap.tokens_per_second == pytest.approx(36 * snap.steps_per_second, rel=0.05)
    assert not run.running and run.snapshot().status == "paused"
    assert run.snapshot().step >= snap.step
