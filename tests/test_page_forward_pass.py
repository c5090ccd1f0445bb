"""AppTests for pages/forward_pass.py."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gptviz.config import GPTConfig, TrainConfig
from gptviz.live import LiveRun
from gptviz.tasks.text import TextTask
from gptviz.tokenizers import CharTokenizer
from gptviz.train import Trainer, build_model
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
