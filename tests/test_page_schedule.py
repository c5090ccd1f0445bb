"""The learning-rate schedule on every training page: its widgets reach the Trainer (nanoGPT's
get_lr is the oracle), the rate is drawn under the loss, and a bad schedule keeps the model."""

from __future__ import annotations

import math

import pytest

from gptviz.markup import unescape_markdown
from tests.apptest_helpers import array, button, page_session, plotly_specs, wait_done

PAGES = [  # page, prefix, run key, extra state for a quick run
    ("baby_gpt", "baby", "baby_run", {}),
    ("text_model", "text", "text_run", {"text_preset": "Tiny", "text_eval": 10_000}),
    ("tasks", "tasks", "tasks_addition_run", {"tasks_eval": 10_000}),
]



def _errors(at) -> list[str]:
    """The page's error messages as a reader sees them (Markdown escapes removed)."""
    return [unescape_markdown(e.value) for e in at.error]

def run_of(at, key):
    value = at.session_state[key]
    return value if not isinstance(value, dict) else next(iter(value.values()))


def nanogpt_lr(it: int, lr: float, warmup: int, decay: int, min_lr: float) -> float:
    # nanoGPT's train.py get_lr, verbatim in meaning
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay:
        return min_lr
    ratio = (it - warmup) / (decay - warmup)
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))
    return min_lr + coeff * (lr - min_lr)


def lr_traces(at) -> list[dict]:
    import json
    return [t for spec in plotly_specs(at) for t in json.loads(spec)["data"]
            if t.get("name") == "learning rate"]


def train_on_schedule(at, run, train_label: str, steps: int, *, peak: float, warmup: int,
                      floor: float) -> dict:
    """Press `train_label`, wait, and check every step's rate against nanoGPT's get_lr (decay
    over `steps`) and the drawn learning-rate trace against the rates trained; returns it."""
    button(at, train_label).click().run()
    wait_done(at, run)
    at.run()
    snap = run.snapshot()
    assert len(snap.steps) == steps
    for step, lr in zip(snap.steps, snap.lrs, strict=True):
        # StepEvent.step counts from 1: the rate of step s is get_lr(s - 1)
        assert lr == pytest.approx(nanogpt_lr(step - 1, peak, warmup, steps, floor)), step
    (trace,) = lr_traces(at)
    assert array(trace["y"]) == pytest.approx(snap.lrs)  # drawn as trained
    return trace


@pytest.mark.parametrize("page, p, key, state", PAGES)
def test_a_cosine_schedule_reaches_the_trainer_and_is_drawn_under_the_loss(page, p, key, state):
    with page_session(page, stop=(key,), session_state=state) as at:
        assert not lr_traces(at)  # a constant rate is not drawn
        at.number_input(key=f"{p}_lr").set_value(1e-2).run()
        at.number_input(key=f"{p}_steps").set_value(20).run()
        at.selectbox(key=f"{p}_schedule").set_value("cosine").run()
        at.number_input(key=f"{p}_warmup").set_value(4).run()
        at.number_input(key=f"{p}_min_lr").set_value(1e-3).run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        run = run_of(at, key)
        cfg = run.trainer.config
        assert (cfg.schedule, cfg.warmup_steps, cfg.min_lr) == ("cosine", 4, 1e-3)
        trace = train_on_schedule(at, run, "Train", 20, peak=1e-2, warmup=4, floor=1e-3)
        assert trace["yaxis"] == "y2"  # in its panel under the loss


@pytest.mark.parametrize("page, p, key, state", PAGES)
def test_a_bad_schedule_gets_a_sentence_and_the_model_is_kept(page, p, key, state):
    with page_session(page, stop=(key,), session_state=state) as at:
        button(at, "One step", exact=True).click().run()
        model = run_of(at, key).trainer.model
        at.number_input(key=f"{p}_steps").set_value(10).run()
        at.number_input(key=f"{p}_warmup").set_value(50).run()  # longer than the run
        assert not at.exception
        assert any("warm-up (50 steps) is longer than the run (10 steps)" in m
                   for m in _errors(at)), [e.value for e in at.error]
        at.number_input(key=f"{p}_warmup").set_value(0).run()
        at.selectbox(key=f"{p}_schedule").set_value("cosine").run()
        at.number_input(key=f"{p}_min_lr").set_value(0.9).run()  # above the peak
        assert any("floor of the learning rate (0.9) must be 0 to the peak" in m
                   for m in _errors(at)), [e.value for e in at.error]
        at.number_input(key=f"{p}_min_lr").set_value(0.0).run()
        assert not at.error
        run = run_of(at, key)
        assert run.trainer.model is model and run.trainer.step_count == 1  # kept


def test_weight_decay_on_matrices_only_builds_a_new_model_with_nanogpts_groups():
    with page_session("tasks", stop=("tasks_addition_run",),
                      session_state={"tasks_eval": 10_000}) as at:
        old = run_of(at, "tasks_addition_run")
        at.checkbox(key="tasks_decay_matrices").check().run()
        new = run_of(at, "tasks_addition_run")
        assert new is not old
        groups = new.trainer.optimizer.param_groups
        decayed = [p for g in groups if g["weight_decay"] > 0 for p in g["params"]]
        free = [p for g in groups if g["weight_decay"] == 0 for p in g["params"]]
        assert decayed and all(p.dim() >= 2 for p in decayed)
        assert free and all(p.dim() < 2 for p in free)


def test_gpt1_pretraining_takes_the_schedule_and_keeps_its_model_on_a_bad_one():
    """GPT-1's stage 1 has no learning-rate widget: its peak is PRETRAIN's."""
    from gptviz.gpt1.comparison import PRETRAIN
    with page_session("gpt1", stop=("gpt1_pre_run",)) as at:
        assert not lr_traces(at)  # constant by default: GPT-1's published numbers stay
        at.number_input(key="gpt1_pre_steps").set_value(12).run()
        at.selectbox(key="gpt1_schedule").set_value("cosine").run()
        at.number_input(key="gpt1_warmup").set_value(3).run()
        at.number_input(key="gpt1_min_lr").set_value(1e-4).run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        run = at.session_state["gpt1_pre_run"]
        train_on_schedule(at, run, "Train 12 steps", 12, peak=PRETRAIN.learning_rate, warmup=3,
                          floor=1e-4)
        model = run.trainer.model
        at.number_input(key="gpt1_warmup").set_value(50).run()  # longer than the run
        assert not at.exception
        assert any("warm-up (50 steps) is longer than the run (12 steps)" in m
                   for m in _errors(at)), [e.value for e in at.error]
        assert any("pre-trained model is kept" in i.value for i in at.info)
        at.number_input(key="gpt1_warmup").set_value(0).run()
        assert not at.error
        assert at.session_state["gpt1_pre_run"].trainer.model is model  # kept
        assert run.trainer.step_count == 12
