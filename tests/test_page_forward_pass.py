"""AppTests for pages/forward_pass.py."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gptviz.ablate import Ablation
from gptviz.config import GPTConfig, TrainConfig
from gptviz.live import LiveRun
from gptviz.tasks.text import TextTask
from gptviz.tokenizers import CharTokenizer
from gptviz.train import Trainer, build_model
from gptviz.viz.diagram import OFF_FILL
from gptviz.viz.style import HIGHLIGHT_COLOR
from pages._live import MODELS_KEY
from tests.apptest_helpers import array, fresh_caches, open_page
from tests.apptest_helpers import figure as chart

SMALL = dict(fp_layers=1, fp_heads=2, fp_embd=16, fp_context=16)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    yield from fresh_caches()


def run(**state) -> AppTest:
    return open_page("forward_pass", session_state={**SMALL, **state})


def stage_labels(at: AppTest) -> list[str]:
    return [e.label for e in at.expander]


def test_default_page_predicts_and_shows_every_stage():
    at = run()
    assert not at.exception
    assert at.subheader[0].value.startswith("Prediction: ")
    labels = stage_labels(at)
    assert "Token ids · shape (11,)" in labels  # "Hello, I am" in characters
    assert "Block 1 · Attention weights (softmax) · shape (2, 11, 11)" in labels
    assert labels[-1].startswith("Chosen token (argmax)")
    lens = chart(at, "Logit lens")
    assert lens["data"][0]["y"] == ["embeddings", "after block 1"]
    bars = chart(at, "most probable")
    assert bars["data"][0]["x"] == sorted(bars["data"][0]["x"], reverse=True)


def test_opening_a_stage_draws_it():
    at = run(**{"fp_x_0_attn_weights": True, "fp_x_None_ids": True})
    assert not at.exception
    att = chart(at, "Attention weights")
    z = array(att["data"][0]["z"])  # head 1, (T, T)
    T = z.shape[0]
    assert np.allclose(np.nansum(z, axis=1), 1.0, atol=1e-5)
    assert (z[np.triu_indices(T, 1)] == 0).all()  # the future gets exactly zero weight
    ids = at.dataframe[0].value
    assert list(ids["token"])[:5] == ["H", "e", "l", "l", "o"]


def test_character_outside_the_vocabulary_is_a_clear_message():
    at = run(fp_prompt="Hello 你好")
    assert not at.exception
    assert at.error and "cannot read this prompt" in at.error[0].value
    assert "你" in at.error[0].value


def test_long_prompt_is_cropped_to_the_context():
    at = run(fp_context=8, fp_prompt="Hello, I am a long prompt")
    assert not at.exception
    assert at.info and "last 8 tokens" in at.info[0].value
    assert "Token ids · shape (8,)" in stage_labels(at)


def test_bad_model_size_is_explained():
    at = run(fp_heads=3, fp_embd=16)
    assert not at.exception
    assert at.error and "Cannot build this model" in at.error[0].value


def test_settings_change_the_model():
    at = run()
    at.number_input(key="fp_layers").set_value(3).run(timeout=60)
    assert not at.exception
    assert at.subheader[-1].value == "Output: from vectors to the next token"
    assert "Block 3 of 3: attention, then MLP" in [s.value for s in at.subheader]
    assert len(chart(at, "Logit lens")["data"][0]["y"]) == 4
    w = at.session_state["fp_model"].lm_head.weight.clone()
    at.number_input(key="fp_seed").set_value(7).run(timeout=60)
    assert not at.exception
    assert not torch.equal(at.session_state["fp_model"].lm_head.weight, w)  # new random weights
    at.text_input(key="fp_prompt").set_value("Hello").run(timeout=60)
    assert "Token ids · shape (5,)" in stage_labels(at)


def test_gpt2_tokenizer_model_reads_document_002s_ids(gpt2_tiktoken_dir):
    at = run(fp_source="Untrained GPT · GPT-2 tokenizer (document 002)", fp_x_None_ids=True)
    assert not at.exception
    ids = at.dataframe[0].value
    assert list(ids["id"]) == [15496, 11, 314, 716]
    assert "Logits · shape (4, 50257)" in stage_labels(at)


def test_a_model_trained_on_another_page_can_be_traced():
    text = "abcabcabcabcabcabcabcabc" * 4
    tok = CharTokenizer.from_text(text)
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=1, n_embd=8)
    task = TextTask(text, tok, block_size=8, val_fraction=0.0)
    trun = LiveRun(Trainer(build_model(cfg, 0), task,
                           TrainConfig(batch_size=4, max_steps=1, eval_interval=1000)))
    trun.step_once()
    at = open_page("forward_pass", session_state={
        MODELS_KEY: {"abc model": trun}, "fp_source": "Trained: abc model",
        "fp_prompt": "abcab", "fp_x_None_ids": True})
    assert not at.exception
    assert "trained for 1 steps" in " ".join(c.value for c in at.caption)
    assert list(at.dataframe[0].value["id"]) == tok.encode("abcab")
    with torch.no_grad():
        p = torch.softmax(trun.trainer.model(torch.tensor([tok.encode("abcab")])).logits[0, -1],
                          -1)
    assert f"p = {float(p.max()):.1%}" in at.subheader[0].value


def diagram(at: AppTest) -> dict:
    return chart(at, "fp_diagram")


def boxes(fig: dict) -> dict[str, dict]:
    return {s["name"]: s for s in fig["layout"]["shapes"] if s.get("name")}


def shape_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Shape:"))


def test_the_diagram_is_this_model_and_opens_the_first_head():
    at = run(fp_layers=2, fp_heads=2, fp_embd=16)
    assert not at.exception
    drawn = boxes(diagram(at))
    assert sorted(k for k in drawn if k.startswith("attn_weights:")) == [
        "attn_weights:0:0", "attn_weights:0:1", "attn_weights:1:0", "attn_weights:1:1"]
    assert len([k for k in drawn if k.startswith("mlp_hidden:")]) == 2
    assert drawn["attn_weights:0:0"]["line"]["color"] == HIGHLIGHT_COLOR  # the default
    assert at.selectbox(key="fp_stage").value == "attn_weights:0:0"
    assert at.segmented_control(key="fp_step_head").value == "attn_weights"
    att = chart(at, "fp_detail")
    assert att["layout"]["title"]["text"] == "Attention weights (softmax)"
    assert att["layout"]["annotations"][0]["text"] == "head 1"
    z = array(att["data"][0]["z"])  # head 1 only, (T, T), rows summing to one
    assert len(att["data"]) == 1 and z.shape == (11, 11)
    assert np.allclose(np.nansum(z, axis=1), 1.0, atol=1e-5)
    assert shape_caption(at) == ("Shape: 11 query positions × 11 key positions "
                                 "(head 1 of 2)")


def test_picking_a_stage_shows_its_figure_and_shape():
    at = run(fp_layers=2, fp_heads=2, fp_embd=16)
    model = at.session_state["fp_model"]
    at.selectbox(key="fp_stage").set_value("attn_weights:1:1").run()
    assert not at.exception
    assert boxes(diagram(at))["attn_weights:1:1"]["line"]["color"] == HIGHLIGHT_COLOR
    assert boxes(diagram(at))["attn_weights:0:0"]["line"]["color"] != HIGHLIGHT_COLOR
    with torch.no_grad():  # the oracle: the model's own attention, block 2, head 2
        out = model(torch.tensor([_ids(at)]), return_attention=True)
    z = array(chart(at, "fp_detail")["data"][0]["z"])
    assert np.allclose(z, out.attention[1][0, 1].numpy(), atol=1e-5)
    assert chart(at, "fp_detail")["layout"]["annotations"][0]["text"] == "head 2"
    # a step inside the head: its keys, (T, hs) for head 2
    at.segmented_control(key="fp_step_head").set_value("k").run()
    assert not at.exception
    assert shape_caption(at) == "Shape: 11 positions × 8 dimensions (head 2 of 2)"
    assert array(chart(at, "fp_detail")["data"][0]["z"]).shape == (11, 8)
    # the MLP: its hidden layer, 4C wide
    at.selectbox(key="fp_stage").set_value("mlp_hidden:0").run()
    assert shape_caption(at) == "Shape: 11 positions × 64 hidden units"
    assert "MLP hidden layer" in chart(at, "fp_detail")["layout"]["title"]["text"]
    # the next token: its top-10 bar, the same as the page's answer
    at.selectbox(key="fp_stage").set_value("next_token").run()
    assert not at.exception
    assert chart(at, "fp_detail")["data"][0]["x"] == chart(at, "fp_topk")["data"][0]["x"]
    # the token ids: a table, no figure
    at.selectbox(key="fp_stage").set_value("ids").run()
    assert list(at.dataframe[0].value["id"]) == _ids(at)
    assert shape_caption(at) == "Shape: 11 positions"


def _ids(at: AppTest) -> list[int]:
    from pages._tokenizer_ui import builtin_char_tokenizer

    return builtin_char_tokenizer().encode(at.session_state["fp_prompt"])


def test_a_smaller_model_drops_a_stage_it_no_longer_has():
    at = run(fp_layers=3, fp_heads=2, fp_embd=16)
    at.selectbox(key="fp_stage").set_value("ln_2:2").run()
    assert shape_caption(at) == "Shape: 11 positions × 16 dimensions"
    at.number_input(key="fp_layers").set_value(1).run()
    assert not at.exception
    assert at.selectbox(key="fp_stage").value == "attn_weights:0:0"  # the default again
    assert {k.split(":")[1] for k in boxes(diagram(at)) if ":" in k} == {"0"}  # block 1 only


def test_a_trained_models_ablation_is_drawn_and_traced():
    text = "abcabcabcabcabcabcabcabc" * 4
    tok = CharTokenizer.from_text(text)
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=2, n_head=2, n_embd=8)
    task = TextTask(text, tok, block_size=8, val_fraction=0.0)
    trun = LiveRun(Trainer(build_model(cfg, 0), task,
                           TrainConfig(batch_size=4, max_steps=1, eval_interval=1000)))
    trun.step_once()
    trun.set_ablation(Ablation(heads=frozenset({(0, 1)}), mlps=frozenset({1})))
    at = open_page("forward_pass", session_state={
        MODELS_KEY: {"abc model": trun}, "fp_source": "Trained: abc model",
        "fp_prompt": "abcab", "fp_stage": "attn_weights:0:1"})
    assert not at.exception
    drawn = boxes(diagram(at))
    assert drawn["attn_weights:0:1"]["fillcolor"] == OFF_FILL  # off, and ringed as selected
    assert drawn["attn_weights:0:1"]["line"]["color"] == HIGHLIGHT_COLOR
    assert drawn["mlp_hidden:1"]["fillcolor"] == OFF_FILL
    assert drawn["attn_weights:0:0"]["fillcolor"] != OFF_FILL
    assert drawn["mlp_hidden:0"]["fillcolor"] != OFF_FILL
    assert any("Switched off in this model (zero ablation)" in i.value for i in at.info)
    # the prediction is the ablated model's (the trace follows the ablation)
    ids = torch.tensor([tok.encode("abcab")])
    with torch.no_grad():
        p = trun.read_model(lambda m: torch.softmax(m(ids).logits[0, -1], -1))
    assert f"p = {float(p.max()):.1%}" in at.subheader[0].value
    at.selectbox(key="fp_stage").set_value("mlp_hidden:1").run()
    at.segmented_control(key="fp_step_mlp_hidden").set_value("mlp_out").run()
    assert not at.exception
    assert np.allclose(array(chart(at, "fp_detail")["data"][0]["z"]), 0.0)  # writes nothing
