"""LiveRun: background training that pauses promptly and keeps the model on failure."""

from __future__ import annotations

import threading
import time

import torch

from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN, TrainConfig
from gptviz.live import FairSlots, History, LiveRun
from gptviz.tasks import SequenceTask
from gptviz.train import StepEvent, Trainer, build_model


def make_run(**overrides) -> LiveRun:
    cfg = TrainConfig(**{**DOC000_TRAIN.to_dict(), **overrides})
    trainer = Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3), cfg)
    return LiveRun(trainer, slots=FairSlots(1))


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
    step = run.snapshot().step
    run.pause()
    assert not run.running and run.snapshot().status == "paused"
    time.sleep(0.3)
    # the step that was under way when pause() came may finish; no step starts after it
    assert run.snapshot().step in (step, step + 1)
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
    slots = FairSlots(1)
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


class BlockingTask(SequenceTask):
    """Document 000's task whose next training batch waits until `release` is set: a step
    that takes as long as the test wants (a large model's step on a slow CPU)."""

    def __init__(self) -> None:
        super().__init__(DOC000_SEQUENCE, 2, 3)
        self.block = False
        self.inside = threading.Event()
        self.release = threading.Event()

    def get_batch(self, split, batch_size, generator):
        if self.block and split == "train":
            self.inside.set()
            self.release.wait(10)
        return super().get_batch(split, batch_size, generator)


def test_nothing_waits_for_a_step_in_progress():
    """pause(), snapshot(), read_model() and update() return while a step is still running.

    Streamlit calls pause() on its event loop when a tab closes: if it waited for the step,
    every user of the server would freeze for as long as that step takes."""
    task = BlockingTask()
    run = LiveRun(Trainer(build_model(DOC000_MODEL, 1337), task, DOC000_TRAIN), FairSlots(1))
    run.start(3)
    assert wait_until(lambda: run.snapshot().status == "done")
    task.block = True
    run.start(1_000)
    assert task.inside.wait(5)  # the thread is inside a step, and stays there
    done = threading.Event()

    def page() -> None:
        run.snapshot()
        run.read_model(lambda m: m.next_token_probs(torch.tensor([[1, 1, 1]])))
        run.update(config=TrainConfig(**{**DOC000_TRAIN.to_dict(), "learning_rate": 2e-3}))
        run.pause()
        done.set()

    threading.Thread(target=page, daemon=True).start()
    assert done.wait(2), "a page call waited for the training step"
    assert not task.release.is_set()  # the step was still under way the whole time
    assert run.snapshot().status == "paused" and not run.running
    step = run.snapshot().step
    task.block = False
    task.release.set()
    assert wait_until(lambda: run.snapshot().step == step + 1)  # the blocked step ends...
    time.sleep(0.2)
    assert run.snapshot().step == step + 1  # ... and no other starts after the pause
    # the pending learning rate reaches the optimizer before the next step
    run.start(1)
    assert wait_until(lambda: run.snapshot().status == "done")
    assert run.trainer.optimizer.param_groups[0]["lr"] == 2e-3


def test_readers_see_published_weights_of_a_finished_step():
    run = make_run()
    run.start(20)
    assert wait_until(lambda: run.snapshot().status == "done")
    step, state = run.read_view(lambda m: {k: v.clone() for k, v in m.state_dict().items()})
    assert step == 20 == run.snapshot().view_step
    trained = run.trainer.model.state_dict()
    assert all(torch.equal(state[k], trained[k]) for k in trained)


def test_train_again_right_after_pause_is_not_lost():
    run = make_run()
    run.start(1_000_000)
    assert wait_until(lambda: run.snapshot().step > 2)
    run.pause()
    run.start(5)  # while the old step may still be finishing
    assert run.running
    target = run.snapshot().target
    assert wait_until(lambda: run.snapshot().status == "done")
    assert run.snapshot().step == target


def test_the_session_release_hook_never_waits_for_a_step():
    """Streamlit runs this hook on its event loop when a tab closes: it must return while a
    step is still under way (it used to wait for the step's lock: 17.8 s with a large model)."""
    from pages._live import _GuardRecord, _Holder, _on_session_released

    task = BlockingTask()
    run = LiveRun(Trainer(build_model(DOC000_MODEL, 1337), task, DOC000_TRAIN), FairSlots(1))
    task.block = True
    run.start(1_000)
    assert task.inside.wait(5)
    holder = _Holder()
    holder.record = _GuardRecord()
    holder.record.runs.add(run)
    done = threading.Event()
    threading.Thread(target=lambda: (_on_session_released(holder), done.set()),
                     daemon=True).start()
    assert done.wait(2), "the release hook waited for the training step"
    assert not task.release.is_set() and not run.running and holder.record.interrupted
    task.block = False
    task.release.set()


def test_slow_rates_read_as_seconds_per_step_never_zero():
    from pages._live import rate_text

    assert rate_text(0.3) == "3.3 s/step"  # was "0 steps/s"
    assert rate_text(0.05) == "20.0 s/step"
    assert rate_text(2.5) == "2.5 steps/s"
    assert rate_text(36.4) == "36 steps/s"
    assert rate_text(0.0) == "measuring speed"


def test_the_history_keeps_each_steps_learning_rate_for_the_curve_under_the_loss():
    from dataclasses import replace

    cfg = replace(DOC000_TRAIN, schedule="cosine", warmup_steps=5, max_steps=30, min_lr=1e-5)
    run = LiveRun(Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3),
                          cfg), FairSlots(1))
    run.start(30)
    assert wait_until(lambda: run.snapshot().status == "done")
    snap = run.snapshot()
    from gptviz.train import lr_at

    assert snap.lrs == [lr_at(cfg, s - 1) for s in snap.steps]  # step s used lr_at(s - 1)
    assert snap.lrs[0] < snap.lrs[5] and snap.lrs[-1] < snap.lrs[10]  # warm-up, then decay


def test_a_retired_run_ignores_the_clicks_that_reach_it_after_a_reset():
    # fast clicks: Reset, then Train and One step folded into the same rerun reach the run
    # that Reset threw away; it must not train a model nobody sees (issue 15)
    run = make_run()
    run.start(10_000)
    assert wait_until(lambda: run.snapshot().step > 0)
    run.retire()
    assert wait_until(lambda: not run.running)
    time.sleep(0.1)  # the step the thread was finishing
    stopped_at = run.trainer.step_count
    run.start(100)
    run.step_once()
    time.sleep(0.3)
    assert not run.running and run.retired
    assert run.trainer.step_count == stopped_at
    assert run.snapshot().status == "paused"


def test_the_janitor_collects_and_malloc_trim_runs():
    from gptviz.live.memory import Janitor, give_back_memory

    assert give_back_memory()  # glibc on Linux: malloc_trim is there and runs
    j = Janitor(delay=0.0, min_gap=0.0)
    j.soon()
    assert wait_until(lambda: j.collections >= 1)
    assert j.last_seconds < 5.0
