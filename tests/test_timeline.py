"""The timeline keeps what a page needs to replay a run, within bounded memory."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import torch

from gptviz.analysis import all_states, model_transition_probs
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN
from gptviz.live import FairSlots, LiveRun, Timeline
from gptviz.tasks import SequenceTask
from gptviz.train import Trainer, build_model

STATES = all_states(2, 3)


def record(model) -> dict[str, np.ndarray]:
    return {"probs": model_transition_probs(model, STATES).numpy()}


def wait_until(cond, timeout=20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_frames_replay_the_model_as_it_was_at_that_step():
    """Oracle: the same seed trained to step k by hand gives the frame recorded at step k."""
    run = LiveRun(Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3),
                          DOC000_TRAIN), FairSlots(1), recorder=record)
    run.start(50)
    assert wait_until(lambda: run.snapshot().status == "done")
    assert run.timeline.recorded() == list(range(51))  # 0 (untrained) to 50, every step
    for k in (0, 10, 50):
        ref = Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3),
                      DOC000_TRAIN)
        ref.run(k)
        expected = model_transition_probs(ref.model, STATES).numpy()
        step, frame = run.timeline.at(k)
        assert step == k
        np.testing.assert_allclose(frame["probs"], expected, atol=1e-6)


def test_memory_is_bounded_and_frames_span_the_whole_run():
    t = Timeline(max_frames=64)
    frame = {"a": np.zeros(1000, dtype=np.float32)}
    for step in range(10_001):
        if t.due(step):
            t.add(step, frame)
    steps = t.recorded()
    assert len(steps) <= 64 and steps[0] == 0 and steps[-1] >= 10_000 - t.stride
    assert max(np.diff(steps)) <= 2 * t.stride  # evenly spread, no hole
    small = Timeline(max_frames=1_000, max_bytes=40_000)  # 10 frames of 4,000 bytes
    for step in range(500):
        if small.due(step):
            small.add(step, frame)
    assert small.nbytes() <= 40_000 and len(small.recorded()) >= 5


def test_at_a_step_between_frames_gives_the_last_frame_before_it():
    t = Timeline()
    for s in (0, 4, 8):
        t.add(s, {"s": np.array([s])})
    assert t.at(6)[0] == 4 and t.at(100)[0] == 8 and t.at(-5)[0] == 0
    assert Timeline().at(3) is None


def test_a_restored_divergence_forgets_the_frames_after_the_good_state():
    cfg = replace(DOC000_TRAIN, learning_rate=100.0, weight_decay=10.0)
    run = LiveRun(Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3),
                          cfg), FairSlots(1), recorder=record)
    run.start(500)
    assert wait_until(lambda: not run.running)
    assert run.snapshot().status == "paused"
    assert run.timeline.recorded()[-1] <= run.trainer.step_count
    assert all(np.isfinite(f["probs"]).all() for f in run.timeline.frames)


def test_recording_happens_in_the_training_thread_between_steps():
    seen: list[str] = []

    def rec(model) -> dict[str, np.ndarray]:
        seen.append(threading.current_thread().name)
        return {"w": model.lm_head.weight.detach().clone().numpy()}

    run = LiveRun(Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3),
                          DOC000_TRAIN), FairSlots(1), recorder=rec)
    run.start(5)
    assert wait_until(lambda: run.snapshot().status == "done")
    assert seen[0] == threading.current_thread().name and set(seen[1:]) == {"gptviz-train"}
    assert torch.equal(torch.from_numpy(run.timeline.at(5)[1]["w"]),
                       run.trainer.model.lm_head.weight.detach())
