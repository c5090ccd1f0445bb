"""AppTest of the Baby GPT page: controls, training, figures, and bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import button, page_session, plotly_specs, wait_done
from tests.test_viz_network_click import plain


def chain(at: AppTest, title: str = "Step") -> dict:
    """The live chain figure (its JSON, numpy arrays as lists): the one titled 'Step N...'."""
    for spec in plotly_specs(at):
        fig = plain(json.loads(spec))
        names = [t.get("name") for t in fig["data"]]
        text = (fig["layout"].get("title") or {}).get("text") or ""
        if "states" in names and text.startswith(title):
            return fig
    raise AssertionError(f"no chain figure titled {title!r}")


def trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name") == name)


def arrow_labels(fig: dict) -> dict[tuple[str, str, str], str]:
    """(from, to, token) -> the arrow's label."""
    out = {}
    heads = trace(fig, "arrowheads")["hovertext"]
    for h, label in zip(heads, trace(fig, "labels")["text"], strict=True):
        m = re.match(r"(\w+) → (\w+): token (\w+)", h)
        out[(m[1], m[2], m[3])] = label
    return out


@pytest.fixture
def at() -> Iterator[AppTest]:
    with page_session("baby_gpt", stop=("baby_run",)) as at:
        yield at


def step_of(at: AppTest) -> int:
    return at.session_state["baby_run"].trainer.step_count


def test_loads_with_document_000_defaults(at):
    assert not at.exception
    assert not at.error
    fig = chain(at)
    assert sorted(trace(fig, "states")["text"]) == [f"{i:03b}" for i in range(8)]
    # the untrained model of document 000: 000 -> 001 with P(1) = 50%
    assert arrow_labels(fig)[("000", "001", "1")].startswith("1(50%)")
    assert any("lowest possible loss on this data 0.347" in c.value for c in at.caption)


def test_one_step_then_train_changes_the_model_and_the_figures(at):
    button(at, "One step").click().run()
    assert step_of(at) == 1
    button(at, "Train").click().run()
    wait_done(at, at.session_state["baby_run"])
    assert step_of(at) == 51
    fig = chain(at, "Step 51")
    # the model moved toward the data: 110 -> 101 is certain in the data, above 50% now
    p = int(re.match(r"1\((\d+)%\)", arrow_labels(fig)[("110", "101", "1")]).group(1))
    assert p > 60
    loss_spec = plotly_specs(at)[0]
    assert '"batch loss"' in loss_spec


def test_training_hyperparameters_keep_the_trained_model(at):
    button(at, "One step").click().run()
    button(at, "One step").click().run()
    model = at.session_state["baby_run"].trainer.model
    at.number_input(key="baby_lr").set_value(3e-3).run()
    at.number_input(key="baby_steps").set_value(7).run()
    assert at.session_state["baby_run"].trainer.model is model and step_of(at) == 2
    assert at.session_state["baby_run"].trainer.config.learning_rate == pytest.approx(3e-3)
    at.number_input(key="baby_layers").set_value(2).run()  # architecture change: a new model
    assert step_of(at) == 0 and at.session_state["baby_run"].trainer.model.config.n_layer == 2


@pytest.mark.parametrize(
    "widget, value, words",
    [
        ("text_area:baby_seq", "01201", "outside the vocabulary"),
        ("text_area:baby_seq", "01", "at least 4"),
        ("text_area:baby_seq", "", "empty"),
        ("number_input:baby_embd", 10, "not divisible"),
        ("selectbox:baby_device", "cuda", "no CUDA GPU"),
    ],
)
def test_bad_input_shows_a_message_and_keeps_the_model(at, widget, value, words):
    button(at, "One step").click().run()
    model = at.session_state["baby_run"].trainer.model
    kind, key = widget.split(":")
    getattr(at, kind)(key=key).set_value(value).run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["baby_run"].trainer.model is model and step_of(at) == 1


def test_a_loss_that_turns_nan_pauses_with_an_explanation(at):
    at.number_input(key="baby_lr").set_value(100.0).run()
    at.number_input(key="baby_wd").set_value(10.0).run()
    at.number_input(key="baby_steps").set_value(500).run()
    button(at, "Train").click().run()
    wait_done(at, at.session_state["baby_run"])
    assert not at.exception
    assert any("learning rate" in w.value for w in at.warning), [w.value for w in at.warning]
    run = at.session_state["baby_run"]
    assert run.snapshot().status == "paused" and run.trainer.step_count < 500


def test_document_000_preset_restores_the_experiment(at):
    at.number_input(key="baby_layers").set_value(1).run()
    at.text_area(key="baby_seq").set_value("0101").run()
    button(at, "Load document 000").click().run()
    assert at.text_area(key="baby_seq").value == "111101111011110"
    assert at.session_state["baby_run"].trainer.model.config.n_layer == 4
    assert arrow_labels(chain(at))[("000", "001", "1")].startswith("1(50%)")


def test_large_state_spaces_become_a_heatmap_with_an_explanation(at):
    at.number_input(key="baby_vocab").set_value(4).run()
    at.text_area(key="baby_seq").set_value("0123" * 10 + "3210" * 10).run()
    at.number_input(key="baby_context").set_value(4).run()  # 256 states
    assert not at.exception and not at.error
    assert not at.get("graphviz_chart") or all(
        "Baby GPT" not in g.proto.spec for g in at.get("graphviz_chart"))
    assert any("P(next | state)" in s for s in plotly_specs(at))
    assert any("too many" in i.value for i in at.info)


def test_middle_state_spaces_are_drawn_as_a_circle_of_arrows_without_labels(at):
    at.number_input(key="baby_context").set_value(5).run()  # 2^5 = 32 states
    assert not at.exception and not at.error
    assert not at.get("graphviz_chart")  # no graphviz drawing to lay out in the browser
    fig = chain(at)
    states = [f"{i:05b}" for i in range(32)]
    names = [a["text"] for a in fig["layout"]["annotations"] if a["text"] in states]
    assert sorted(names) == states  # every state named once, beside its node
    assert "labels" not in [t.get("name") for t in fig["data"]]  # too many to label
    hovers = trace(fig, "arrowheads")["hovertext"]
    assert len(hovers) == 64  # two ways out of each state
    for state in states:  # the next state drops the oldest bit and appends the token
        for token in "01":
            arrow = f"{state} → {state[1:]}{token}: token {token}"
            assert sum(h.startswith(arrow) for h in hovers) == 1, arrow


def node_tip(fig: dict, name: str) -> str:
    nodes = trace(fig, "states")
    tips = nodes.get("hovertext") or nodes.get("customdata")
    return tips[nodes["text"].index(name)]


def notes(fig: dict) -> str:
    return " ".join(a.get("text", "") for a in fig["layout"].get("annotations", []))


def test_prefix_states_say_not_scored_in_last_position_mode_and_trained_otherwise(at):
    at.toggle(key="baby_prefixes").set_value(True).run()  # document 000: last position only
    assert not at.exception and not at.error
    fig = chain(at)
    assert ("seen 8 times in the data (at the start of a window); not scored"
            in node_tip(fig, "11"))
    assert "shorter prefixes" in notes(fig) + json.dumps(fig)  # the legend says why
    table = at.dataframe[0].value.set_index("state")
    assert table.loc["11", "seen in data"] == 8  # 11 starts 8 of the 12 windows
    assert table.loc["11", "trained on"] == "no: prefix, not scored"
    assert table.loc["11", "data P(1)"] == pytest.approx(0.75)
    assert table.loc["111", "trained on"] == "yes" and table.loc["000", "trained on"] != "yes"
    at.checkbox(key="baby_last_only").uncheck().run()  # every position scored: prefixes trained
    fig = chain(at)
    assert "not scored" not in json.dumps(fig)
    assert node_tip(fig, "11").startswith("prefix 11: seen 8 times")
    table = at.dataframe[0].value.set_index("state")
    assert table.loc["11", "trained on"] == "yes" and table.loc["11", "seen in data"] == 8


def test_presenter_and_hide_parameters_are_not_unknown_settings():
    from tests.apptest_helpers import page_path

    at = AppTest.from_file(page_path("baby_gpt"), default_timeout=60)
    at.query_params["present"] = "1"
    at.query_params["hide"] = "reset"
    at.run()
    try:
        assert not at.exception
        assert not any("does not know" in w.value for w in at.warning), at.warning
        assert at.session_state["baby_present"] is True
        assert not any(b.label == "Reset" for b in at.button)
    finally:
        if "baby_run" in at.session_state:
            at.session_state["baby_run"].pause()
        import streamlit as st

        st.cache_resource.clear()


def test_a_sequence_too_long_for_a_link_is_left_out_of_it_and_the_page_says_so(at):
    at.text_area(key="baby_seq").set_value("0110 " * 600).run()  # 2,400 symbols
    assert not at.exception
    assert "baby_seq" not in at.query_params  # the URL stays small
    assert any("`baby_seq` is left out of the link: a link carries at most 2,000 characters"
               in w.value for w in at.warning)
    at.text_area(key="baby_seq").set_value("0110 " * 10).run()
    assert at.query_params["baby_seq"] == "0110" * 10  # spaces dropped, the symbols kept
    assert not any("left out of the link" in w.value for w in at.warning)
