"""Compare runs on each training page (AppTest): two runs overlaid with the final numbers of
their two LiveRuns, Keep this run, runs kept when a new model replaces them, rename, delete,
and runs of different tasks never sharing a chart."""

from __future__ import annotations

import json

import pytest
import torch
from streamlit.testing.v1 import AppTest

from gptviz.live import LiveRun, Snapshot
from gptviz.live.runs import escape_markdown, task_key
from tests.apptest_helpers import array, button, page_session, wait_done


def run_charts(at: AppTest, metric: str = "loss") -> list[dict]:
    """The Compare runs charts (loss or accuracy), in page order."""
    out = []
    for c in at.get("plotly_chart"):
        if "_runs_" not in c.proto.id:
            continue
        spec = json.loads(c.proto.spec)
        is_acc = spec["layout"]["yaxis"]["title"]["text"].startswith("held-out")
        if is_acc == (metric == "accuracy"):
            out.append(spec)
    return out


def curves(fig: dict) -> dict[str, dict[str, tuple]]:
    """legend name -> {"solid" | "dotted": (x, y)}."""
    out: dict[str, dict[str, tuple]] = {}
    for t in fig["data"]:
        kind = "dotted" if t["line"].get("dash") == "dot" else "solid"
        out.setdefault(t["name"], {})[kind] = (array(t["x"]), array(t["y"]))
    return out


def last_eval(snap: Snapshot):
    return snap.evals[-1]


def table(at: AppTest):
    return at.dataframe[-1].value  # the runs table (a data_editor) is the page's last table


def rename_and_delete(at: AppTest, page: str, kept_legend_tail: str) -> None:
    """Rename the newest kept run (markup stays text), then delete it."""
    name = "**lr** <b>1e-2</b> :red[x]"
    at.text_input(key=f"{page}_runs_name").set_value(name).run()
    button(at, "Rename", exact=True).click().run()
    assert not at.exception
    assert any(escape_markdown(f"Renamed to '{name}'.") in i.value for i in at.info)
    assert name in list(table(at)["Name"])  # the table shows the name as typed
    assert at.selectbox(key=f"{page}_runs_pick").value == name  # and it is still the chosen
    legend = [n for c in run_charts(at) for n in curves(c)]
    shown = name.replace("<", "&lt;").replace(">", "&gt;")  # plotly reads no HTML in it
    assert f"{shown}{kept_legend_tail}" in legend
    button(at, "Delete", exact=True).click().run()
    assert not at.exception
    assert len(at.session_state[f"{page}_runbook"]) == 0
    assert list(table(at)["Name"]) == ["this run"]
    legend = [n for c in run_charts(at) for n in curves(c)]
    assert len(legend) == 1 and legend[0].startswith("this run")


# --- Baby GPT ---------------------------------------------------------------------------------
@pytest.fixture
def baby() -> AppTest:
    with page_session("baby_gpt", stop=("baby_run",)) as at:
        yield at


def steps(at: AppTest, n: int) -> None:
    for _ in range(n):
        button(at, "One step").click().run()


def test_baby_new_architecture_keeps_the_run_it_replaces_and_overlays_both(baby):
    at = baby
    steps(at, 3)
    first: LiveRun = at.session_state["baby_run"]
    at.number_input(key="baby_layers").set_value(1).run()  # a new model replaces it
    second: LiveRun = at.session_state["baby_run"]
    assert second is not first and first.trainer.step_count == 3
    assert any("Kept 'run 1' (3 steps)" in i.value.replace("\\", "") for i in at.info)
    steps(at, 2)
    fig = run_charts(at)[0]
    assert fig["layout"]["title"]["subtitle"]["text"] == "solid: loss on all windows"
    got = curves(fig)
    assert list(got) == ["this run (layers 1)", "run 1 (layers 4)"]
    # each run's curve ends at its LiveRun's last loss on all windows
    assert got["run 1 (layers 4)"]["solid"][1][-1] == pytest.approx(
        last_eval(first.snapshot()).train_loss)
    assert got["this run (layers 1)"]["solid"][1][-1] == pytest.approx(
        last_eval(second.snapshot()).train_loss)
    assert list(got["run 1 (layers 4)"]["solid"][0]) == [e.step for e in first.snapshot().evals]
    rows = table(at)
    assert list(rows["Name"]) == ["this run", "run 1"]
    assert list(rows["layers"]) == ["1", "4"] and list(rows["steps"]) == [2, 3]
    assert list(rows["train loss"]) == pytest.approx(
        [last_eval(second.snapshot()).train_loss, last_eval(first.snapshot()).train_loss])
    rename_and_delete(at, "baby", " (layers 4)")


def test_baby_keep_this_run_then_a_new_learning_rate(baby):
    at = baby
    steps(at, 2)
    run: LiveRun = at.session_state["baby_run"]
    kept_loss = last_eval(run.snapshot()).train_loss
    button(at, "Keep this run").click().run()
    button(at, "Keep this run").click().run()  # nothing new to keep
    assert any("kept already" in w.value for w in at.warning)
    assert len(at.session_state["baby_runbook"]) == 1
    at.number_input(key="baby_lr").set_value(1e-2).run()  # the same model goes on, faster
    steps(at, 2)
    assert at.session_state["baby_run"] is run
    got = curves(run_charts(at)[0])
    assert list(got) == ["this run (lr 1e-3 → 1e-2)", "run 1 (lr 1e-3)"]
    assert got["run 1 (lr 1e-3)"]["solid"][1][-1] == pytest.approx(kept_loss)
    assert got["this run (lr 1e-3 → 1e-2)"]["solid"][1][-1] == pytest.approx(
        last_eval(run.snapshot()).train_loss)
    # Reset keeps the run it throws away; a fresh model reset again (0 steps) is not kept
    button(at, "Reset").click().run()
    assert [r.steps for r in at.session_state["baby_runbook"].records] == [2, 4]
    button(at, "Reset").click().run()
    assert len(at.session_state["baby_runbook"]) == 2


def test_baby_other_state_space_gets_its_own_chart(baby):
    at = baby
    steps(at, 2)
    at.number_input(key="baby_context").set_value(2).run()  # 4 states instead of 8
    steps(at, 2)  # 13 windows, batch 12: the loss on all windows is measured every 2 steps
    assert not at.exception
    assert any("not comparable" in i.value.replace("\\", "") for i in at.info)
    charts = run_charts(at)
    assert len(charts) == 2
    headings = [m.value for m in at.markdown if m.value.startswith("**Task:")]
    assert headings[0].startswith("**Task: V 2, T 2 \\(4 states\\)")
    assert headings[1].startswith("**Task: V 2, T 3 \\(8 states\\)")
    assert [list(curves(c)) for c in charts] == [["this run"], ["run 1"]]


# --- Train on text --------------------------------------------------------------------------
@pytest.fixture
def text() -> AppTest:
    with page_session("text_model", stop=("text_run",), timeout=120) as at:
        yield at


def train(at: AppTest, key: str, run_key: str) -> LiveRun:
    button(at, "Train").click().run()
    run = at.session_state[run_key]
    wait_done(at, run, timeout=240, what=f"{key} training")
    return run


def test_text_two_runs_with_train_and_validation_curves(text):
    at = text
    at.selectbox(key="text_preset").set_value("Tiny").run()
    at.number_input(key="text_steps").set_value(10).run()
    at.number_input(key="text_eval").set_value(5).run()
    first = train(at, "text", "text_run")
    at.number_input(key="text_layers").set_value(1).run()
    second = train(at, "text", "text_run")
    assert second is not first
    fig = run_charts(at)[0]
    assert fig["layout"]["title"]["subtitle"]["text"] == \
        "solid: training loss, dotted: validation loss"
    got = curves(fig)
    assert list(got) == ["this run (layers 1)", "run 1 (layers 2)"]
    for name, run in (("run 1 (layers 2)", first), ("this run (layers 1)", second)):
        e = last_eval(run.snapshot())
        assert e.step == 10
        assert got[name]["solid"][1][-1] == pytest.approx(e.train_loss)
        assert got[name]["dotted"][1][-1] == pytest.approx(e.val_loss)
        assert list(got[name]["dotted"][0]) == [5, 10]
    rows = table(at)
    assert list(rows["validation loss"]) == pytest.approx(
        [last_eval(second.snapshot()).val_loss, last_eval(first.snapshot()).val_loss])
    assert "task" not in rows  # one corpus: the task is the same for both
    rename_and_delete(at, "text", " (layers 2)")


# --- Sorting & addition -----------------------------------------------------------------------
@pytest.fixture
def tasks() -> AppTest:
    with page_session("tasks", stop=("tasks_addition_run", "tasks_sorting_run"),
                      timeout=120) as at:
        yield at


def test_tasks_two_runs_with_accuracy_and_other_tasks_apart(tasks):
    torch.set_num_threads(1)
    at = tasks
    at.number_input(key="tasks_steps").set_value(10).run()
    at.number_input(key="tasks_eval").set_value(5).run()
    first = train(at, "addition", "tasks_addition_run")
    at.number_input(key="tasks_layers").set_value(1).run()
    second = train(at, "addition", "tasks_addition_run")
    assert second is not first
    got = curves(run_charts(at)[0])
    kept, live = "run 1 (layers 2)", "this run (layers 1)"
    assert list(got) == [live, kept]
    acc = curves(run_charts(at, "accuracy")[0])
    rows = table(at)
    for name, run, row in ((live, second, 0), (kept, first, 1)):
        e = last_eval(run.snapshot())
        assert got[name]["solid"][1][-1] == pytest.approx(e.train_loss)
        assert got[name]["dotted"][1][-1] == pytest.approx(e.val_loss)
        assert acc[name]["solid"][1][-1] == pytest.approx(100 * e.metrics["accuracy"])
        assert rows["held-out accuracy"][row] == pytest.approx(100 * e.metrics["accuracy"])
        assert rows["validation loss"][row] == pytest.approx(e.val_loss)
    # sorting trains on other problems and digits: its own chart, and a message saying why
    at.radio(key="tasks_task").set_value("sorting").run()
    button(at, "One step").click().run()
    sorting = at.session_state["tasks_sorting_run"]
    charts = run_charts(at)
    assert len(charts) == 2
    label = task_key(sorting.trainer.task).label
    headings = [m.value for m in at.markdown if m.value.startswith("**Task:")]
    assert headings == [f"**Task: {escape_markdown(label)}**",
                        f"**Task: {escape_markdown('addition, 2 digits')}**"]
    assert any("not comparable" in i.value.replace("\\", "") for i in at.info)
    rows = table(at)
    assert list(rows["task"]) == [label, "addition, 2 digits"]
    rename_and_delete(at, "tasks", "")  # the newest kept run: addition's, alone in its chart
