"""Training slots are shared fairly, and faults inside training reach the page as messages."""

from __future__ import annotations

import threading
import time

import pytest
import torch

import gptviz.live.job as job
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN
from gptviz.live import FairSlots, LiveRun, max_trainers_from_env
from gptviz.tasks import SequenceTask
from gptviz.train import Trainer, build_model


def wait_until(cond, timeout=10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def make_run(slots, task=None) -> LiveRun:
    task = task or SequenceTask(DOC000_SEQUENCE, 2, 3)
    return LiveRun(Trainer(build_model(DOC000_MODEL, 1337), task, DOC000_TRAIN), slots=slots)


@pytest.mark.parametrize("raw, expected", [(None, 2), ("4", 4), ("0", 1), ("-3", 1),
                                           ("abc", 2), ("1e9", 2), ("100000", 64)])
def test_max_trainers_setting_is_parsed_and_clamped(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("GPTVIZ_MAX_TRAINERS", raising=False)
    else:
        monkeypatch.setenv("GPTVIZ_MAX_TRAINERS", raw)
    assert max_trainers_from_env() == expected


def test_waiters_are_served_first_come_first_served():
    slots = FairSlots(1)
    assert slots.acquire()
    order: list[str] = []
    threads = []
    for name in "BCD":
        t = threading.Thread(target=lambda n=name: (slots.acquire(), order.append(n),
                                                    slots.release()))
        t.start()
        threads.append(t)
        n = len(threads)
        assert wait_until(lambda n=n: slots.waiting() == n)
    # the holder gives up and asks again at once: it must queue behind B, C and D
    slots.release()
    assert slots.acquire(timeout=5)
    order.append("A")
    slots.release()
    for t in threads:
        t.join(5)
    assert order == ["B", "C", "D", "A"]


def test_a_stopped_or_timed_out_waiter_leaves_the_line():
    slots = FairSlots(1)
    slots.acquire()
    stop = threading.Event()
    t = threading.Thread(target=lambda: slots.acquire(stop=stop))
    t.start()
    assert wait_until(lambda: slots.waiting() == 1)
    stop.set()
    t.join(2)
    assert not t.is_alive() and slots.waiting() == 0
    assert slots.acquire(timeout=0.05) is False and slots.waiting() == 0
    slots.release()
    assert slots.in_use() == 0
    with pytest.raises(ValueError):
        slots.release()


def test_time_slices_let_every_queued_run_progress(monkeypatch):
    monkeypatch.setattr(job, "SLICE_SECONDS", 0.2)
    slots = FairSlots(1)
    runs = [make_run(slots) for _ in range(3)]
    for r in runs:
        r.start(1_000_000)
    try:
        # with one slot and no slices, only the first run would ever step
        assert wait_until(lambda: all(r.snapshot().step > 0 for r in runs), timeout=20)
        assert slots.in_use() == 1  # still at most one at a time
        positions = {r.snapshot().queue_position for r in runs
                     if r.snapshot().status == "queued"}
        assert positions <= {1, 2} and positions
    finally:
        for r in runs:
            r.pause()
    # pause() never waits: each thread gives its slot back once its current step is done
    assert wait_until(lambda: slots.in_use() == 0 and slots.waiting() == 0)


def test_a_run_alone_keeps_its_slot_without_slicing(monkeypatch):
    monkeypatch.setattr(job, "SLICE_SECONDS", 0.05)
    slots = FairSlots(1)
    released = []
    real_release = slots.release
    slots.release = lambda: (released.append(1), real_release())
    run = make_run(slots)
    run.start(60)  # about a second: many 0.05 s slices
    assert wait_until(lambda: run.snapshot().status == "done", timeout=30)
    assert released == [1]  # once, at the end: nobody was waiting


class FailingTask(SequenceTask):
    """Document 000's task, whose batches fail once `broken` is set (a bug inside training)."""

    broken = False

    def get_batch(self, split, batch_size, generator):
        if self.broken:
            raise ValueError("the data went away")
        return super().get_batch(split, batch_size, generator)


def test_an_exception_inside_training_is_reported_and_the_model_kept():
    task = FailingTask(DOC000_SEQUENCE, 2, 3)
    run = make_run(FairSlots(1), task)
    run.start(5)
    assert wait_until(lambda: run.snapshot().status == "done")
    task.broken = True
    run.start(50)
    assert wait_until(lambda: not run.running)
    snap = run.snapshot()
    assert snap.status == "error" and snap.step == 5
    assert "ValueError: the data went away" in snap.message
    before = {k: v.clone() for k, v in run.trainer.model.state_dict().items()}
    run.step_once()  # the page's One step button: same message, no exception escapes
    assert run.snapshot().status == "error" and "the data went away" in run.snapshot().message
    after = run.trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    run.update(task=SequenceTask(DOC000_SEQUENCE, 2, 3))  # fixed: training goes on
    run.start(3)
    assert wait_until(lambda: run.snapshot().status == "done")
    assert run.snapshot().step == 8 and run.snapshot().message is None


def test_cuda_out_of_memory_becomes_a_message(monkeypatch):
    run = make_run(FairSlots(1))
    run.trainer.step()
    before = {k: v.clone() for k, v in run.trainer.model.state_dict().items()}

    def oom():
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(run.trainer, "step", oom)
    run.start(10)
    assert wait_until(lambda: not run.running)
    snap = run.snapshot()
    assert snap.status == "error" and "GPU ran out of memory" in snap.message
    run.step_once()
    assert "GPU ran out of memory" in run.snapshot().message
    assert all(torch.equal(before[k], v) for k, v in run.trainer.model.state_dict().items())


def test_redraw_interval_keeps_a_class_within_the_servers_redraw_budget():
    from gptviz.live.slots import redraw_interval
    def at(n: int, **kw) -> float:
        return redraw_interval(n, budget=20.0, **kw)
    assert at(0) == at(1) == at(10) == 0.5
    assert at(11) == at(15) == 0.75  # a class a little over a step's limit: not half as fast
    assert at(16) == at(20) == 1.0
    assert at(21) == at(30) == 1.5 and at(40) == 2.0 and at(60) == 3.0
    assert at(80) == 4.0 and at(10_000) == 4.0  # at most 8x
    for n in range(1, 81):  # all views together: never above the budget, up to 80 sessions
        assert n / at(n) <= 20.0 + 1e-9, n
    assert at(3, base=2.0) == 2.0  # a slower view keeps its own pace


def test_redraw_interval_speeds_up_only_once_the_class_is_clearly_smaller():
    from gptviz.live.slots import redraw_interval
    def at(n: int, current: float) -> float:
        return redraw_interval(n, budget=20.0, current=current)
    # at 1 s (16-20 sessions), 15 or 12 sessions keep 1 s: no flapping at the boundary
    assert at(15, 1.0) == 1.0
    assert at(12, 1.0) == 1.0
    assert at(11, 1.0) == 0.75  # 11 / 20 = 0.55 s < 0.75 x 0.75 s
    assert at(25, 1.0) == 1.5  # slowing down is at once
    assert at(5, 0.7) == 0.5  # an interval not on the ladder: recomputed


def test_the_draw_meter_counts_the_cpu_a_redraw_takes_not_its_waits():
    from gptviz.live.slots import DrawMeter
    meter = DrawMeter(first=0.0, weight=1.0)  # weight 1: the last redraw's cost
    with meter.measure():
        time.sleep(0.2)  # waiting (for the interpreter, a lock, the network) costs nothing
    assert meter.cost < 0.02
    with meter.measure():
        t0 = time.thread_time()
        while time.thread_time() - t0 < 0.05:
            pass
    assert 0.05 <= meter.cost < 0.2
    averaged = DrawMeter(first=0.01, weight=0.5)
    averaged.add(0.03)
    assert abs(averaged.cost - 0.02) < 1e-12


def test_the_redraw_budget_follows_what_a_redraw_costs():
    from gptviz.live.slots import DRAW_SHARE, DrawMeter, redraw_interval
    cheap, dear = DrawMeter(first=0.005), DrawMeter(first=0.041)  # 41 ms: Baby GPT's view
    assert cheap.budget(cap=20.0) == 20.0  # the cap (GPTVIZ_REDRAW_BUDGET) holds
    assert abs(dear.budget(cap=20.0) - DRAW_SHARE / 0.041) < 1e-9
    # ten sessions on a 41 ms view: 1.5 s apart, so that together they take at most the share
    interval = redraw_interval(10, budget=dear.budget(cap=20.0))
    assert interval == 1.5 and 10 * 0.041 / interval <= DRAW_SHARE
    assert redraw_interval(10, budget=cheap.budget(cap=20.0)) == 0.5


def test_the_redraw_budget_comes_from_the_environment_within_bounds(monkeypatch):
    from gptviz.live.slots import ENV_REDRAW_BUDGET, redraw_budget_from_env
    for raw, want in [("10", 10.0), ("0", 1.0), ("1e9", 1000.0), ("nan", 20.0),
                      ("ten", 20.0)]:
        monkeypatch.setenv(ENV_REDRAW_BUDGET, raw)
        assert redraw_budget_from_env() == want, raw
    monkeypatch.delenv(ENV_REDRAW_BUDGET)
    assert redraw_budget_from_env() == 20.0
