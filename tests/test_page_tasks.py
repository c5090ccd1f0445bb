"""AppTest of the Sorting & addition page: presets, live training, the table, bad input."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator

import pytest
from streamlit.testing.v1 import AppTest

from gptviz.live import LiveRun
from tests.apptest_helpers import button, figures_by_title, page_session, wait_done, wait_for


@pytest.fixture
def at() -> Iterator[AppTest]:
    with page_session("tasks", stop=("tasks_addition_run", "tasks_sorting_run")) as at:
        yield at


def run_of(at: AppTest, task: str = "addition") -> LiveRun:
    return at.session_state[f"tasks_{task}_run"]


def train(at: AppTest, steps: int, task: str = "addition", timeout: float = 120,
          until: Callable[[], bool] | None = None) -> LiveRun:
    """Train for steps (or until `until()`), then pause and rerun the page."""
    at.number_input(key="tasks_steps").set_value(steps).run()
    button(at, "Train").click().run()
    run = run_of(at, task)
    wait_done(at, run, timeout=timeout, until=until, pause=True,
              what=f"{steps} steps of {task} training")
    return run


def table_rows(at: AppTest) -> list[list[str]]:
    md = next(m.value for m in at.markdown if "Held-out problems" in m.value)
    lines = [ln for ln in md.splitlines() if ln.startswith("| ") and "---" not in ln]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[1:]]


def test_loads_the_2_digit_addition_preset_with_its_figures(at):
    assert not at.exception and not at.error
    assert at.number_input(key="tasks_ndigit").value == 2
    assert at.number_input(key="tasks_embd").value == 32
    cap = at.caption[0].value
    assert "10,000 possible problems · 1,000 held out" in cap
    rows = table_rows(at)
    assert len(rows) == 8
    for problem, _, expected, _, _ in rows:  # the right answers are right
        a, b = (int(x) for x in problem.split(" + "))
        assert int(expected) == a + b
    titles = list(figures_by_title(at))
    assert "Loss on the answer digits" in titles
    assert "Held-out problems answered exactly right" in titles
    assert any(t.startswith("Where each answer digit looks") for t in titles)


def test_typed_problems_are_checked_and_answered(at):
    at.text_input(key="tasks_own").set_value("37 + 8x").run()
    assert not at.exception
    assert "'8x' is not a whole number" in at.error[0].value
    assert run_of(at).trainer.step_count == 0  # nothing lost
    at.text_input(key="tasks_own").set_value("123+4").run()
    assert "at most 2 digits" in at.error[0].value
    at.text_input(key="tasks_own").set_value("37+85").run()
    assert not at.error
    mine = next(m.value for m in at.markdown if m.value.startswith("**Your problem:**"))
    assert "37 + 85" in mine and "the right answer is 122" in mine
    assert "Where each answer digit looks: 37 + 85" in figures_by_title(at)


def test_training_lowers_the_loss_and_draws_the_accuracy_curve(at):
    run = train(at, 100)
    assert not at.exception
    assert run.trainer.step_count == 100
    snap = run.snapshot()
    assert [e.step for e in snap.evals] == [25, 50, 75, 100]
    # an untrained model scores ln(10) = 2.30 on each answer digit
    assert snap.evals[-1].val_loss < min(snap.evals[0].val_loss, 0.7 * math.log(10))
    acc = figures_by_title(at)["Held-out problems answered exactly right"]
    ys = acc["data"][0]["y"]
    ys = ys if isinstance(ys, list) else None  # plotly may encode arrays compactly
    assert acc["data"][0]["x"] is not None
    if ys is not None:
        assert ys == pytest.approx([100 * e.metrics["accuracy"] for e in snap.evals])
    assert "(step 100)" in next(m.value for m in at.markdown if "Held-out problems" in m.value)
    # wrong digits are named by place, right rows say so
    for row in table_rows(at):
        assert row[4] == "–" or re.fullmatch(r"((hundreds|tens|ones): wrote \d, not \d(; )?)+",
                                              row[4])


def test_switching_tasks_keeps_each_model_and_presets_fill_the_sidebar(at):
    button(at, "One step").click().run()
    addition_model = run_of(at).trainer.model
    at.radio(key="tasks_task").set_value("sorting").run()
    assert not at.exception
    assert at.number_input(key="tasks_length").value == 6
    assert at.number_input(key="tasks_layers").value == 1  # the sorting preset's model
    assert "729 possible problems · 182 held out" in at.caption[0].value
    assert all(re.fullmatch(r"[0-2]( [0-2]){5}", r[0]) for r in table_rows(at))
    at.radio(key="tasks_task").set_value("addition").run()
    assert run_of(at).trainer.model is addition_model and run_of(at).trainer.step_count == 1
    assert at.number_input(key="tasks_layers").value == 2
    at.selectbox(key="tasks_preset_addition").set_value("1-digit").run()
    assert at.number_input(key="tasks_ndigit").value == 1
    assert "100 possible problems" in at.caption[0].value


def test_hyperparameters_reach_the_optimizer_also_while_training(at):
    at.number_input(key="tasks_eval").set_value(10_000).run()  # steps only: quicker
    run = train(at, 20)
    model = run.trainer.model
    # idle: a new weight decay and learning rate go into AdamW's parameter groups
    at.number_input(key="tasks_wd").set_value(0.5).run()
    at.number_input(key="tasks_lr").set_value(1e-3).run()
    group = run.trainer.optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (pytest.approx(1e-3), pytest.approx(0.5))
    assert run_of(at) is run and run.trainer.model is model and run.trainer.step_count == 20
    # while training: the thread takes them before its next step
    at.number_input(key="tasks_steps").set_value(100_000).run()
    button(at, "Train").click().run()
    wait_for(lambda: run.trainer.step_count > 22, timeout=30, what="training to pass step 22")
    assert run.running
    at.number_input(key="tasks_lr").set_value(2e-4).run()
    at.number_input(key="tasks_batch").set_value(16).run()
    # two widget changes, two updates: wait for the second (the batch) as well as the first
    wait_for(lambda: run.trainer.optimizer.param_groups[0]["lr"] == pytest.approx(2e-4)
             and run.trainer.config.batch_size == 16,
             timeout=30, what="the new learning rate and batch size to reach the trainer")
    assert run.running, run.snapshot().message
    assert run.trainer.optimizer.param_groups[0]["lr"] == pytest.approx(2e-4)  # not after a pause
    assert run.trainer.config.batch_size == 16
    run.pause()
    wait_for(lambda: not run.running, timeout=30, what="the run to pause")
    at.run()
    assert not at.exception
    group = run.trainer.optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (pytest.approx(2e-4), pytest.approx(0.5))
    assert run.trainer.config.batch_size == 16
    assert run_of(at) is run and run.trainer.model is model and run.trainer.step_count > 22


def test_bad_settings_show_a_message_and_keep_the_model(at):
    button(at, "One step").click().run()
    model = run_of(at).trainer.model
    at.number_input(key="tasks_embd").set_value(30).run()
    assert not at.exception
    assert "not divisible by 4 heads" in at.error[0].value
    assert any("trained model is kept" in i.value for i in at.info)
    at.number_input(key="tasks_embd").set_value(32).run()
    assert run_of(at).trainer.model is model and not at.error


@pytest.mark.slow
@pytest.mark.parametrize("task", ["sorting", "addition"])
def test_presets_reach_99_percent_held_out_in_the_app(at, task):
    if task == "sorting":
        at.radio(key="tasks_task").set_value("sorting").run()
    steps = at.number_input(key="tasks_steps").value
    watch = at.session_state[f"tasks_{task}_run_watch"]
    t0 = time.monotonic()
    run = train(at, steps, task, timeout=240, until=lambda: watch.reached_step is not None)
    assert not at.exception
    assert watch.reached_step is not None, [e.metrics for e in run.snapshot().evals][-5:]
    msg = next(s.value for s in at.success)
    assert f"at step {watch.reached_step:,}" in msg
    print(f"\n{task}: 99% held out at step {watch.reached_step} after "
          f"{watch.reached_seconds:.1f} s of training ({time.monotonic() - t0:.1f} s wall)")


def test_other_examples_and_a_chosen_head(at):
    before = table_rows(at)
    button(at, "Other examples").click().run()
    after = table_rows(at)
    assert len(after) == 8 and [r[0] for r in after] != [r[0] for r in before]
    at.selectbox(key="tasks_head").set_value(1).run()  # head index 1: the second head
    assert at.selectbox(key="tasks_head").format_func(1) == "head 2"
    attn = next(v for k, v in figures_by_title(at).items()
                if k.startswith("Where each answer digit"))
    texts = [a["text"] for a in attn["layout"]["annotations"]]
    assert "layer 1 · head 2" in texts and "layer 2 · head 2" in texts  # counted from 1
    at.number_input(key="tasks_heads").set_value(1).run()  # head 1 is gone: a valid view stays
    assert not at.exception and not at.error
    attn = next(v for k, v in figures_by_title(at).items()
                if k.startswith("Where each answer digit"))
    texts = [a["text"] for a in attn["layout"]["annotations"]]
    assert "layer 1 · head 2" not in texts
