"""gptviz.live.evalframes: a timeline frame computed after each evaluation, with its step."""

from __future__ import annotations

import numpy as np

from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, TrainConfig
from gptviz.live import LiveRun
from gptviz.live.evalframes import EvalFrames, frame_step
from gptviz.tasks import SequenceTask
from gptviz.train import Trainer, build_model


def trainer(eval_interval: int) -> Trainer:
    task = SequenceTask(DOC000_SEQUENCE, 2, 3)
    return Trainer(build_model(DOC000_MODEL, 0), task,
                   TrainConfig(max_steps=20, eval_interval=eval_interval, batch_size=4))


def test_frames_are_computed_at_evaluations_and_kept_for_the_steps_after():
    t = trainer(eval_interval=5)
    calls = []

    def compute(model, event):
        calls.append((t.step_count, event.step if event else None, model.training))
        return {"w": model.lm_head.weight.detach().numpy().copy()}

    frames = EvalFrames(t, compute)
    run = LiveRun(t, recorder=frames)  # the first frame, at step 0, without an evaluation
    for _ in range(12):
        run.step_once()
    assert calls == [(0, None, False), (5, 5, False), (10, 10, False)]  # in eval mode
    assert t.model.training  # ... and back
    for k in range(13):
        step, frame = run.timeline.at(k)
        assert step == k and frame_step(frame) == 5 * (k // 5)
    assert not np.array_equal(run.timeline.at(4)[1]["w"], run.timeline.at(5)[1]["w"])
    count, latest = frames.latest()
    assert count == 3 and frame_step(latest) == 10


def test_a_new_compute_is_used_from_the_next_evaluation():
    t = trainer(eval_interval=2)
    frames = EvalFrames(t, lambda m, e: {"v": np.array([1])})
    run = LiveRun(t, recorder=frames)
    run.step_once()
    frames.compute = lambda m, e: {"v": np.array([2])}
    run.step_once()
    assert run.timeline.at(1)[1]["v"][0] == 1 and run.timeline.at(2)[1]["v"][0] == 2
