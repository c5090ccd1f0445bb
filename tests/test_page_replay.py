"""AppTests of the timelines of Train on text and Sorting & addition: a replay at step k shows
what was recorded at k (the sample, the held-out table), recomputed here from a model trained
the same way for k steps; a step past the recording is clamped, never a traceback."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gptviz.corpus import builtin_corpus
from gptviz.generate import generate_text
from gptviz.live import LiveRun
from gptviz.live.evalframes import frame_step
from gptviz.tasks import TASKS
from gptviz.text_model import build_text_run
from gptviz.train import Trainer, build_model
from tests.apptest_helpers import button, figure, page_session, wait_done


def replay(at: AppTest, prefix: str, step: int) -> None:
    at.toggle(key=f"{prefix}_replay").set_value(True).run()
    at.slider(key=f"{prefix}_tstep").set_value(step).run()
    assert not at.exception


def marker_steps(fig: dict) -> list[float]:
    return [s["x0"] for s in fig["layout"].get("shapes", ()) if s.get("xref") == "x"
            and s.get("x0") == s.get("x1") and s.get("yref") == "y domain"]


# --- Train on text ----------------------------------------------------------------------------
@pytest.fixture
def text_at() -> Iterator[AppTest]:
    with page_session("text_model", stop=("text_run",)) as at:
        yield at


def test_text_replay_shows_the_sample_written_at_that_step(text_at):
    at = text_at
    at.selectbox(key="text_preset").set_value("Tiny").run()
    at.number_input(key="text_steps").set_value(30).run()
    at.number_input(key="text_eval").set_value(10).run()
    at.number_input(key="text_sample_len").set_value(40).run()
    button(at, "Train").click().run()
    run: LiveRun = at.session_state["text_run"]
    wait_done(at, run)
    assert run.trainer.step_count == 30
    assert run.timeline.recorded() == list(range(31))  # every step, none thinned yet

    # the same model trained for 10 steps, outside the page, writes the same sample
    corpus = builtin_corpus()
    again = build_text_run(corpus, run.trainer.model.config, run.trainer.config).trainer
    again.run(10)
    expected = generate_text(again.model.eval(), again.task.tokenizer, "The ", 40,
                             temperature=0.8, seed=1337)
    step, frame = run.timeline.at(10)
    assert step == 10 and frame_step(frame) == 10
    assert bytes(frame["sample"]).decode("utf-8") == expected

    replay(at, "text", 10)
    assert any(s.value == "The model writes (step 10)" for s in at.subheader)
    assert any(c.value == expected for c in at.code)
    assert any("Replaying step 10: the sample written then." in c.value for c in at.caption)
    assert 10 in marker_steps(figure(at, "Loss (cross-entropy"))

    replay(at, "text", 15)  # between evaluations: the sample of the last one before
    assert any(s.value == "The model writes (step 10)" for s in at.subheader)
    assert any("the sample written at step 10, its last evaluation before" in c.value
               for c in at.caption)
    assert 15 in marker_steps(figure(at, "Loss (cross-entropy"))

    replay(at, "text", 0)  # the untrained model's sample, written when the model was built
    assert any(s.value == "The model writes (step 0)" for s in at.subheader)
    assert any(c.value == at.session_state["text_samples"][0][1] for c in at.code)

    # live again: the newest sample, and no marker
    at.toggle(key="text_replay").set_value(False).run()
    assert any(s.value == "The model writes (step 30)" for s in at.subheader)
    assert marker_steps(figure(at, "Loss (cross-entropy")) == []


def test_text_replay_past_what_was_trained_says_so(text_at):
    """Paused half-way, the timeline still reaches the target: a step not trained yet shows
    the newest sample, with a note, never a traceback."""
    at = text_at
    at.selectbox(key="text_preset").set_value("Tiny").run()
    at.number_input(key="text_steps").set_value(100_000).run()
    at.number_input(key="text_eval").set_value(5).run()
    button(at, "Train").click().run()
    run: LiveRun = at.session_state["text_run"]
    wait_done(at, run, until=lambda: run.trainer.step_count >= 12, pause=True,
              what="a dozen steps")
    newest = frame_step(run.timeline.at(10**9)[1])
    replay(at, "text", 50_000)
    assert any(s.value == f"The model writes (step {newest:,})" for s in at.subheader)
    assert any(f"Step 50,000 is not trained yet: the newest sample, from step {newest:,}."
               in c.value for c in at.caption)
    assert not at.error


def test_text_samples_come_from_the_training_thread(text_at):
    """Live, the page shows the sample the recorder wrote at each evaluation (labelled with the
    evaluation's step) instead of writing its own."""
    at = text_at
    at.selectbox(key="text_preset").set_value("Tiny").run()
    at.number_input(key="text_steps").set_value(20).run()
    at.number_input(key="text_eval").set_value(10).run()
    button(at, "Train").click().run()
    run: LiveRun = at.session_state["text_run"]
    wait_done(at, run)
    samples = at.session_state["text_samples"]
    assert samples[0][0] == 0 and samples[-1][0] == 20
    frame = run.timeline.at(20)[1]
    assert samples[-1][1] == bytes(frame["sample"]).decode("utf-8")
    n = len(samples)
    button(at, "Write a sample now", exact=True).click().run()  # still writes one now
    assert len(at.session_state["text_samples"]) == n + 1


# --- Sorting & addition -----------------------------------------------------------------------
@pytest.fixture
def tasks_at() -> Iterator[AppTest]:
    with page_session("tasks", stop=("tasks_addition_run", "tasks_sorting_run")) as at:
        yield at


def table(at: AppTest) -> tuple[str, list[list[str]]]:
    md = next(m.value for m in at.markdown if "Held-out problems" in m.value)
    lines = [ln for ln in md.splitlines() if ln.startswith("| ") and "---" not in ln]
    return md.splitlines()[0], [[c.strip() for c in ln.strip("|").split("|")]
                                for ln in lines[1:]]


def plain(answer: str) -> str:
    """A table cell without the red marks of wrong digits."""
    return re.sub(r":red\[\*\*(.)\*\*\]", r"\1", answer)


def test_tasks_replay_redraws_the_table_of_that_step(tasks_at):
    at = tasks_at
    at.number_input(key="tasks_steps").set_value(50).run()  # the preset scores every 25 steps
    button(at, "Train").click().run()
    run: LiveRun = at.session_state["tasks_addition_run"]
    wait_done(at, run)
    assert run.trainer.step_count == 50
    _, final = table(at)

    # the same model trained for 25 steps, outside the page, answers as the replay says
    cfg = run.trainer.config
    task = TASKS["addition"](ndigit=2)
    again = Trainer(build_model(run.trainer.model.config, cfg.seed), task, cfg)
    again.run(25)
    sols = task.solutions(again.model, 8, seed=0)
    step, frame = run.timeline.at(25)
    assert step == 25 and frame_step(frame) == 25
    assert np.array_equal(frame["answers"], np.array([s.answer_ids for s in sols]))
    acc = next(e.metrics["accuracy"] for e in run.snapshot().evals if e.step == 25)
    assert float(frame["accuracy"][0]) == acc

    replay(at, "tasks", 25)
    heading, rows = table(at)
    assert "(step 25, replaying step 25: as the model answered at step 25;" in heading
    assert f"{100 * acc:.1f}% of all held-out problems right" in heading
    assert [(r[0], plain(r[1])) for r in rows] == [(s.problem, s.answer) for s in sols]
    assert rows != final
    assert 25 in marker_steps(figure(at, "Loss on the answer digits"))
    assert 25 in marker_steps(figure(at, "answered exactly right"))
    attn = figure(at, "Where each answer digit looks")
    assert json.dumps(attn["layout"]["title"]).find("(step 25)") > 0

    replay(at, "tasks", 40)  # between evaluations: the table of the last one before
    heading, rows = table(at)
    assert "(step 25, replaying step 40: as the model answered at step 25, its last " \
           "evaluation before" in heading

    replay(at, "tasks", 0)  # before training: the untrained model's answers
    heading, rows = table(at)
    assert heading.startswith("**Held-out problems** (step 0, replaying step 0")
    untrained = task.solutions(build_model(run.trainer.model.config, cfg.seed), 8, seed=0)
    assert [plain(r[1]) for r in rows] == [s.answer for s in untrained]


def test_tasks_replay_of_your_own_problem_and_other_examples(tasks_at):
    at = tasks_at
    at.text_input(key="tasks_own").set_value("37+85").run()
    at.number_input(key="tasks_steps").set_value(25).run()
    button(at, "Train").click().run()
    run: LiveRun = at.session_state["tasks_addition_run"]
    wait_done(at, run)
    frame = run.timeline.at(25)[1]
    assert frame["example"][:4].tolist() == [3, 7, 8, 5]  # your problem is the heatmap's
    replay(at, "tasks", 25)
    mine = next(m.value for m in at.markdown if m.value.startswith("**Your problem:**"))
    assert "37 + 85" in mine and "the right answer is 122" in mine
    assert "Where each answer digit looks: 37 + 85 (step 25)" in json.dumps(
        figure(at, "Where each answer digit looks")["layout"]["title"])
    # other examples from now on: the recorded table keeps the problems it recorded
    _, before = table(at)
    button(at, "Other examples").click().run()
    _, after = table(at)
    assert after == before
    assert not at.exception


def test_tasks_replay_is_clamped_to_the_run_shown(tasks_at):
    """Both tasks share the timeline's slider: back on a task trained for fewer steps, a step
    past its end is brought back to it; a step not trained yet says so."""
    at = tasks_at
    at.radio(key="tasks_task").set_value("sorting").run()
    for _ in range(3):
        button(at, "One step", exact=True).click().run()
    at.radio(key="tasks_task").set_value("addition").run()
    at.number_input(key="tasks_steps").set_value(30).run()
    button(at, "Train").click().run()
    wait_done(at, at.session_state["tasks_addition_run"])
    replay(at, "tasks", 30)
    at.radio(key="tasks_task").set_value("sorting").run()
    assert not at.exception and not at.error
    sorting = at.session_state["tasks_sorting_run"]
    assert sorting.trainer.step_count == 3
    assert at.slider(key="tasks_tstep").value == sorting.snapshot().target == 3
    heading, rows = table(at)
    assert heading.startswith("**Held-out problems** (step 0, replaying step 3: as the model "
                              "answered at step 0, its last evaluation before")
    assert all(" " in r[1] for r in rows)  # sorting's answers: digits with spaces

    at.number_input(key="tasks_steps").set_value(100_000).run()
    button(at, "Train").click().run()
    wait_done(at, sorting, until=lambda: sorting.trainer.step_count >= 12, pause=True,
              what="a dozen steps")
    replay(at, "tasks", 50_000)
    heading, _ = table(at)
    assert "replaying" not in heading and "step 50,000 is not trained yet" in heading
