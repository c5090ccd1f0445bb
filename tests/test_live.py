"""LiveRun: background training that pauses promptly and keeps the model on failure."""

from __future__ import annotations

import threading
import time

import torch

from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN, TrainConfig
from gptviz.live import History, LiveRun
from gptviz.tasks import SequenceTask
from gptviz.train import StepEvent, Trainer, build_model


def make_run(**overrides) -> LiveRun:
    cfg = TrainConfig(**{**DOC000_TRAIN.to_dict(), **overrides})
    trainer = Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3), cfg)
    return LiveRun(trainer, slots=threading.BoundedSemaphore(1))


def wait_until(cond, timeout=10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_trains_in_the_background_to_the_target():
    run = make_run()
    run.start(30)
    assert wait_until(lambda: run.snapshot().status == "done")
    snap = run.snapshot()
    assert snap.step == 30 and snap.steps == list(range(1, 31))
    assert snap.losses[-1] < snap.losses[0]
    assert len(snap.evals) == 30


def test_pause_takes_effect_within_a_second():
    run = make_run()
    run.start(1_000_000)
    assert wait_until(lambda: run.snapshot().step > 3)
    t0 = time.monotonic()
    run.pause()
    assert time.monotonic() - t0 < 1.0
    assert not run.running
    step = run.snapshot().step
    time.sleep(0.2)
    assert run.snapshot().step == step and run.snapshot().status == "paused"
    run.start(5)  # resume continues from where it stopped
    assert wait_until(lambda: run.snapshot().status == "done")
    assert run.snapshot().step == step + 5


def test_divergence_pauses_with_a_message_and_finite_weights():
    run = make_run(learning_rate=100.0, weight_decay=10.0)
    run.start(500)
    assert wait_until(lambda: not run.running)
    snap = run.snapshot()
    assert snap.status == "paused" and "learning rate" in snap.message
    assert all(torch.isfinite(p).all() for p in run.trainer.model.parameters())


def test_a_second_run_waits_for_a_free_slot():
    slots = threading.BoundedSemaphore(1)
    a, b = make_run(), make_run()
    a._slots = b._slots = slots
    a.start(1_000_000)
    assert wait_until(lambda: a.snapshot().status == "training")
    b.start(10)
    time.sleep(0.3)
    assert b.snapshot().status == "queued" and b.snapshot().step == 0
    a.pause()
    assert wait_until(lambda: b.snapshot().status == "done")


def test_history_is_thinned_not_unbounded():
    h = History()
    for i in range(1, 10_001):
        h.add(StepEvent(i, 1.0 / i, 0.0, 1))
    assert len(h.steps) <= 2_000
    assert h.steps[-1] >= 9_990 and h.steps == sorted(h.steps)
