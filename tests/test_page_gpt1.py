"""AppTest of the GPT-1 page: both stages, the comparison chart, transformed examples, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import torch
from streamlit.testing.v1 import AppTest

from pages._live import GUARD_KEY, MODELS_KEY, _Holder, _on_session_released
from tests.apptest_helpers import button, page_session, plotly_specs, wait_done, wait_for


@pytest.fixture
def at() -> Iterator[AppTest]:
    with page_session("gpt1", timeout=90, stop=("gpt1_pre_run", "gpt1_job")) as at:
        at.selectbox(key="gpt1_preset").set_value("tiny").run()
        yield at


def wait_job(at: AppTest, timeout: float = 90) -> None:
    wait_done(at, at.session_state["gpt1_job"], timeout=timeout, what="fine-tuning to finish")


def small_finetune(at: AppTest, init: str = "both", steps: int = 4, n: int = 16) -> None:
    at.radio(key="gpt1_init").set_value(init).run()
    at.number_input(key="gpt1_ft_steps").set_value(steps).run()
    at.select_slider(key="gpt1_n").set_value(n).run()


def test_loads_and_shows_the_transformed_example(at):
    assert not at.exception and not at.error
    tokens = next(s for s in plotly_specs(at) if "label: " in s)
    # special tokens drawn as text (escaped for plotly), one box per character in between
    assert "&lt;start&gt;" in tokens and "&lt;extract&gt;" in tokens
    assert "&lt;delim&gt;" not in tokens  # the backwards task has one input
    at.selectbox(key="gpt1_task").set_value("which").run()
    tokens = next(s for s in plotly_specs(at) if "label: " in s)
    assert "&lt;delim&gt;" in tokens and "51 tokens" in tokens  # <start> 24 <delim> 24 <extract>


def test_finetuning_from_pretrained_needs_pretraining_first(at):
    small_finetune(at)
    button(at, "Fine-tune").click().run()
    assert not at.exception
    assert any("not been pre-trained" in e.value for e in at.error)
    assert not at.session_state["gpt1_job"].running


def test_scratch_only_works_without_pretraining_and_sweeps_the_examples(at):
    small_finetune(at, init="scratch")
    at.checkbox(key="gpt1_sweep").check().run()
    button(at, "Fine-tune (4 runs").click().run()  # 16, 32, 128 and 512 examples
    wait_job(at)
    assert not at.exception and not at.error
    status, runs, total, _ = at.session_state["gpt1_job"].snapshot()
    assert status == "done" and total == 4
    assert [(r.init, r.n_labelled, r.finished) for r in runs] == [
        ("scratch", n, True) for n in (16, 32, 128, 512)]
    chart = json.loads(next(s for s in plotly_specs(at) if "Validation accuracy: pre-trained" in s))
    right = [t for t in chart["data"] if t.get("xaxis") == "x2"]
    assert len(right) == 1 and right[0]["x"] == [16, 32, 128, 512]
    assert right[0]["name"] == "from scratch (random weights)"


def test_both_stages_and_the_comparison_chart(at):
    run = at.session_state["gpt1_pre_run"]
    button(at, "One step").click().run()
    button(at, "One step").click().run()
    assert run.trainer.step_count == 2
    before = {k: v.clone() for k, v in run.trainer.model.state_dict().items()}
    small_finetune(at)
    at.number_input(key="gpt1_lam").set_value(0.0).run()
    button(at, "Fine-tune (2 runs").click().run()
    wait_job(at)
    assert not at.exception and not at.error
    status, runs, total, _ = at.session_state["gpt1_job"].snapshot()
    assert status == "done" and [(r.init, r.finished) for r in runs] == [
        ("pretrained", True), ("scratch", True)]
    chart = json.loads(next(s for s in plotly_specs(at) if "Validation accuracy: pre-trained" in s))
    left = [t for t in chart["data"] if t.get("xaxis") in (None, "x")]
    assert [t["name"] for t in left] == ["from the pre-trained GPT",
                                         "from scratch (random weights)"]
    assert all(t["x"] == [0, 1, 2, 3, 4] for t in left)  # evaluated every step of 4
    assert any("With 16 labelled examples" in m.value for m in at.markdown)
    assert any("λ = 0 " in c.value for c in at.caption)
    # started from the weights of step 2, and says so
    assert at.session_state["gpt1_ft_meta"]["pre_step"] == 2
    assert any("pre-trained for 2 steps" in c.value for c in at.caption)
    # the pre-trained model is unchanged and still the session's model
    assert at.session_state["gpt1_pre_run"] is run and run.trainer.step_count == 2
    for k, v in run.trainer.model.state_dict().items():
        torch.testing.assert_close(v, before[k])
    # the fine-tuned models classify a typed example
    assert any("Fine-tuned from **pretrained**" in m.value for m in at.markdown)


def test_stop_ends_a_long_finetuning(at):
    small_finetune(at, init="scratch", steps=5000)
    button(at, "Fine-tune (1 run").click().run()
    job = at.session_state["gpt1_job"]
    assert job.running
    # stop once the run has begun (not before its first step)
    wait_for(lambda: bool(job.snapshot()[1]), timeout=30, what="the first fine-tuning run to begin")
    button(at, "Stop fine-tuning").click().run()
    wait_job(at, timeout=30)
    status, runs, _, _ = job.snapshot()
    assert status == "stopped" and not job.running
    assert runs and not runs[0].finished and runs[0].steps[-1] < 5000
    assert not at.exception
    assert any("Stopped after 0 finished runs" in p.proto.text for p in at.get("progress"))


def test_closing_the_tab_stops_pretraining_and_finetuning(at):
    run, job = at.session_state["gpt1_pre_run"], at.session_state["gpt1_job"]
    record = at.session_state[GUARD_KEY]
    assert set(record.runs) == {run, job}  # both jobs of the page, guarded from the start
    small_finetune(at, init="scratch", steps=5000)
    button(at, "Fine-tune (1 run").click().run()
    at.number_input(key="gpt1_pre_steps").set_value(20_000).run()
    button(at, "Train 20,000 steps").click().run()
    assert run.running and job.running
    assert set(record.runs) == {run, job}  # reruns added nothing
    holder = _Holder()  # what Streamlit releases when the tab closes
    holder.record = record
    _on_session_released(holder)
    assert not run.running and not job.running
    assert job.status == "stopped" and run.snapshot().status == "paused"
    at.run()
    assert not at.exception
    assert any("connection to this page dropped" in i.value for i in at.info)


def test_reset_throws_the_pretrained_weights_away(at):
    old = at.session_state["gpt1_pre_run"]
    button(at, "One step").click().run()
    assert old.trainer.step_count == 1
    button(at, "Reset").click().run()
    new = at.session_state["gpt1_pre_run"]
    assert new is not old and new.trainer.step_count == 0
    assert at.session_state[MODELS_KEY]["GPT-1 (pre-trained on the Python docs)"] is new
    assert new in at.session_state[GUARD_KEY].runs


@pytest.mark.parametrize("text, words, kind", [
    ("caf\u00e9 \u00e9t\u00e9", "not in the vocabulary", "error"),
    ("x" * 80, "Shorten it", "error"),
    ("", "Type some text", "warning"),
])
def test_bad_own_example_shows_a_message(at, text, words, kind):
    at.text_input(key="gpt1_own_a_backwards").set_value(text).run()
    assert not at.exception
    shown = [m.value for m in getattr(at, kind)]
    assert any(words in m for m in shown), shown


def test_own_example_escapes_markup(at):
    at.text_input(key="gpt1_own_a_backwards").set_value("<b>x</b> & y").run()
    figs = [json.loads(s) for s in plotly_specs(at)]
    own = next(f for f in figs if "&amp;" in (f["data"][0].get("text") or []))
    text = own["data"][0]["text"]
    assert text[:4] == ["&lt;start&gt;", "&lt;", "b", "&gt;"] and text[-1] == "&lt;extract&gt;"
    assert not any("<" in t or ">" in t for t in text)  # plotly can't read any of it as markup
