"""AppTest of the Generate page: no model yet, stepping, generate all, window, seeds, bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from gptviz.config import GPTConfig, TrainConfig
from gptviz.live import LiveRun
from gptviz.markup import unescape_markdown
from gptviz.text_model import build_text_run
from gptviz.viz.sampling import DRAWN_COLOUR
from pages._live import GUARD_KEY, _Holder, _on_session_released
from tests.apptest_helpers import button, page_session, plotly_specs

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "generate.py")
PERIODIC = "the cat sat. "  # fully predictable: a trained model must continue it exactly


@pytest.fixture(scope="module")
def memorised() -> LiveRun:
    run = build_text_run(PERIODIC * 60, GPTConfig(block_size=8, n_layer=1, n_head=2, n_embd=32),
                         TrainConfig(learning_rate=1e-2, batch_size=32, eval_interval=1000,
                                     seed=0, grad_clip=1.0))
    run.trainer.run(150)
    return LiveRun(run.trainer)


@pytest.fixture
def at(memorised: LiveRun) -> Iterator[AppTest]:
    with page_session("generate", session_state={"gptviz_models": {"cat model": memorised}}) as at:
        yield at


def text_of(at: AppTest, run: LiveRun) -> str:
    return run.trainer.task.tokenizer.decode(at.session_state["gen_ids"])


def test_without_a_model_it_says_so_and_offers_a_quick_model():
    with page_session("generate", stop=("gen_quick_run",)) as at:
        assert not at.exception
        assert any("no trained model" in i.value for i in at.info)
        at.button(key="gen_quick").click().run()
        run = at.session_state["gen_quick_run"]
        run.pause()  # training it fully takes half a minute; the page must work at any step
        at.run()
        assert not at.exception
        assert at.selectbox(key="gen_model").value == "Tiny text model (trained on this page)"
        assert at.text_area(key="gen_prompt").value == "The "
        button(at, "Next token").click().run()
        assert not at.exception and len(at.session_state["gen_ids"]) == 5


def test_quick_train_is_session_guarded_and_a_second_click_starts_nothing():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.button(key="gen_quick").click()
    click = at._tree.get_widget_states()  # the click as the browser sends it
    at.run()
    run = at.session_state["gen_quick_run"]
    record = at.session_state[GUARD_KEY]
    try:
        assert run.running and list(record.runs) == [run]
        # fast clicks: the same click reaches the server again while the first run trains
        at._run(click)
        at._run(click)
        assert not at.exception
        assert at.session_state["gen_quick_run"] is run and list(record.runs) == [run]
        # the tab closes: Streamlit releases the session's holder, which stops the run
        holder = _Holder()
        holder.record = record
        _on_session_released(holder)
        assert not run.running and run.snapshot().status == "paused"
        at.run()
        assert any("connection to this page dropped" in i.value for i in at.info)
    finally:
        run.pause()
        st.cache_resource.clear()


def test_greedy_next_token_is_the_models_argmax_and_is_highlighted(at, memorised):
    assert not at.exception
    at.radio(key="gen_mode").set_value("Greedy: always the most likely token").run()
    prompt = at.text_area(key="gen_prompt").value  # taken from the training text
    assert prompt and set(prompt) <= set(PERIODIC)
    button(at, "Next token").click().run()
    ids = at.session_state["gen_ids"]
    tok = memorised.trainer.task.tokenizer
    with torch.no_grad():  # oracle: the model's own logits for the prompt
        expected = int(memorised.trainer.model(torch.tensor([tok.encode(prompt)])).logits[0, -1]
                       .argmax())
    assert ids == tok.encode(prompt) + [expected]
    spec = json.loads(plotly_specs(at)[0])
    bars = spec["data"][0]
    drawn = [i for i, c in enumerate(bars["marker"]["color"]) if c == DRAWN_COLOUR]
    assert drawn == [0] and bars["x"][0] == pytest.approx(1.0)  # greedy: all mass on the top


def test_generate_all_continues_the_memorised_text_and_the_window_slides(at, memorised):
    at.radio(key="gen_mode").set_value("Greedy: always the most likely token").run()
    at.text_area(key="gen_prompt").set_value("the c").run()
    at.number_input(key="gen_n").set_value(21).run()
    button(at, "Generate").click().run()
    assert not at.exception
    assert text_of(at, memorised) == (PERIODIC * 3)[:26]
    # the context window: the last 8 characters are highlighted, the rest greyed out
    text_html = at.get("html")[0].proto.body
    assert len(re.findall(r"background:#FFE8A3", text_html)) == 8
    assert any("longer than the context window (8)" in i.value for i in at.info)
    # inspecting an early step shows the window as it was then
    at.slider(key="gen_inspect").set_value(1).run()
    step_html = at.get("html")[1].proto.body
    assert len(re.findall(r"background:#FFE8A3", step_html)) == 5  # the prompt, all of it


def test_same_seed_same_text_and_top_k_1_is_greedy(at, memorised):
    at.text_area(key="gen_prompt").set_value("the ").run()
    at.number_input(key="gen_n").set_value(15).run()
    at.slider(key="gen_temp").set_value(2.0).run()
    at.number_input(key="gen_seed").set_value(3).run()
    button(at, "Generate").click().run()
    first = text_of(at, memorised)
    button(at, "Start over").click().run()
    assert text_of(at, memorised) == "the "
    for _ in range(15):  # one token at a time draws the same text as generate-all
        button(at, "Next token").click().run()
    assert text_of(at, memorised) == first
    button(at, "Start over").click().run()
    at.number_input(key="gen_topk").set_value(1).run()
    button(at, "Generate").click().run()
    assert text_of(at, memorised) == "the " + (PERIODIC * 3)[4:19]


def test_settings_survive_a_page_switch(memorised):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["gptviz_models"] = {"cat model": memorised}
    at.run().switch_page("pages/generate.py").run()
    at.text_area(key="gen_prompt").set_value("the c").run()
    at.slider(key="gen_temp").set_value(1.5).run()
    at.number_input(key="gen_seed").set_value(7).run()
    at.radio(key="gen_mode").set_value("Greedy: always the most likely token").run()
    at.switch_page("pages/home.py").run()
    assert "gen_temp" in at.session_state  # kept while the widget is not drawn
    at.switch_page("pages/generate.py").run()
    assert not at.exception
    assert at.text_area(key="gen_prompt").value == "the c"
    assert at.slider(key="gen_temp").value == 1.5
    assert at.number_input(key="gen_seed").value == 7
    assert at.radio(key="gen_mode").value.startswith("Greedy")
    st.cache_resource.clear()


@pytest.mark.parametrize("prompt, words", [("", "Type a prompt"), ("the DOG", "'D'")])
def test_bad_prompts_show_a_message(at, prompt, words):
    at.text_area(key="gen_prompt").set_value(prompt).run()
    assert not at.exception
    assert any(words in unescape_markdown(e.value) for e in at.error)
    assert "cat model" in at.session_state["gptviz_models"]  # the model is untouched
