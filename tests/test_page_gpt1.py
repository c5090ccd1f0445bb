"""AppTest of the GPT-1 page: both stages, the comparison chart, transformed examples, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import torch
from streamlit.testing.v1 import AppTest

from gptviz.markup import unescape_markdown
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
    assert any("not been pre-trained" in unescape_markdown(e.value) for e in at.error)
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


# --- similarity and multiple choice ----------------------------------------------------------

def tokens_figure(at: AppTest) -> dict:
    """The picked training example's figure (its title starts with label or right choice)."""
    return json.loads(next(s for s in plotly_specs(at)
                           if '"label: ' in s or '"right choice: ' in s))


def test_similarity_shows_both_orders_and_multiple_choice_one_sequence_per_choice(at):
    import html

    from gptviz.corpus import builtin_corpus
    from gptviz.gpt1.labelled import BothEnglishTask, RealEndingTask

    def drawn(s: str) -> list[str]:  # each character as the figure writes it
        return [html.escape(c.replace(" ", "\u2423"), quote=False) for c in s]

    text = builtin_corpus()
    at.selectbox(key="gpt1_task").set_value("both").run()
    assert not at.exception
    ex = BothEnglishTask(text).examples("train", 8, seed=0)[0]  # the page's first example
    fig = tokens_figure(at)
    assert fig["layout"]["title"]["text"] == (f"label: {BothEnglishTask.class_names[ex.label]} "
                                              f"· 2 sequences of 51 tokens")
    shown = fig["data"][0]["text"]
    a, b = drawn(ex.a), drawn(ex.b)
    start, delim, extract = "&lt;start&gt;", "&lt;delim&gt;", "&lt;extract&gt;"
    assert shown == [start, *a, delim, *b, extract, start, *b, delim, *a, extract]
    assert fig["layout"]["yaxis"]["ticktext"] == ["A, B", "B, A"]
    assert any("both orders" in m.value for m in at.markdown)

    at.selectbox(key="gpt1_task").set_value("ending").run()
    assert not at.exception
    ex = RealEndingTask(text).examples("train", 8, seed=0)[0]
    fig = tokens_figure(at)
    assert fig["layout"]["title"]["text"] == (f"right choice: choice {ex.label + 1} "
                                              f"· 4 sequences of 43 tokens")
    names = fig["layout"]["yaxis"]["ticktext"]
    assert names == [f"choice {k + 1}" + (" (right)" if k == ex.label else "") for k in range(4)]
    shown = fig["data"][0]["text"]
    for k, choice in enumerate(ex.choices):  # <start> context <delim> choice_k <extract>
        seq = shown[43 * k: 43 * (k + 1)]
        assert seq == [start, *drawn(ex.a), delim, *drawn(choice), extract]
    # chance is said as what it is: 1 in 4
    assert any("1 in 4, 25%" in m.value for m in at.markdown)


@pytest.mark.parametrize("name, chance, long_key, words", [
    ("both", 0.5, "gpt1_own_b_both", "The pair is"),
    ("ending", 0.25, "gpt1_own_c1_ending", "The context with its longest choice is"),
])
def test_short_comparison_on_the_new_tasks(at, name, chance, long_key, words):
    run = at.session_state["gpt1_pre_run"]
    button(at, "One step").click().run()
    at.selectbox(key="gpt1_task").set_value(name).run()
    small_finetune(at)
    button(at, "Fine-tune (2 runs").click().run()
    wait_job(at)
    assert not at.exception and not at.error
    job = at.session_state["gpt1_job"]
    status, runs, _, _ = job.snapshot()
    assert status == "done" and [(r.init, r.finished) for r in runs] == [
        ("pretrained", True), ("scratch", True)]
    for r in runs:  # an accuracy at each of the 5 evaluations, for both starting points
        assert r.steps == [0, 1, 2, 3, 4] and all(0.0 <= a <= 1.0 for a in r.val_accuracy)
    chart = json.loads(next(s for s in plotly_specs(at) if "Validation accuracy: pre-trained" in s))
    assert [s["y0"] for s in chart["layout"]["shapes"]] == [chance, chance]  # the chance line
    assert any(f"chance ({chance:.0%})" == a["text"] for a in chart["layout"]["annotations"])
    assert any("With 16 labelled examples" in m.value for m in at.markdown)
    assert any(f"guessing scores 1 in {round(1 / chance)} ({chance:.0%})" in c.value
               for c in at.caption)
    # both fine-tuned models answer the typed example
    answers = [m.value for m in at.markdown if m.value.startswith("Fine-tuned from")]
    assert len(answers) == 2
    if name == "ending":
        assert all("choice 1 " in m and "choice 4 " in m for m in answers)
    # a text too long for the context: a message, no traceback, the models kept
    models = dict(job.models)
    at.text_input(key=long_key).set_value("x" * 60).run()
    assert not at.exception
    assert any(words in e.value and "Shorten it" in e.value for e in at.error)
    assert dict(job.models) == models and at.session_state["gpt1_pre_run"] is run
    assert not [m for m in at.markdown if m.value.startswith("Fine-tuned from")]
