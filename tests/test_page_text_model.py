"""AppTest of the Train on text page: corpus, windows picture, training, samples, bad input."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import torch
from streamlit.testing.v1 import AppTest

from gptviz.checkpoint import save_bundle
from gptviz.corpus import builtin_corpus
from gptviz.live import LiveRun
from gptviz.markup import unescape_markdown
from gptviz.viz.windows import plotly_text, visible_token
from tests.apptest_helpers import button, figure, page_session, wait_done


@pytest.fixture
def at() -> Iterator[AppTest]:
    with page_session("text_model", stop=("text_run",)) as at:
        yield at


def run_of(at: AppTest) -> LiveRun:
    return at.session_state["text_run"]


def use_tiny(at: AppTest) -> None:
    at.selectbox(key="text_preset").set_value("Tiny").run()
    assert run_of(at).trainer.model.config.n_layer == 2


def test_loads_with_the_builtin_corpus_a_windows_picture_and_an_untrained_sample(at):
    assert not at.exception and not at.error
    corpus = builtin_corpus()
    assert any(f"{len(corpus):,} characters" in c.value for c in at.caption)
    assert "Text model (characters)" in at.session_state["gptviz_models"]
    windows = figure(at, "windows sliding")
    assert windows["data"][0]["y"][:3] == ["text", "window 1 input", "window 1 target"]
    samples = at.session_state["text_samples"]
    assert len(samples) == 1 and samples[0][0] == 0  # written by the untrained model
    assert samples[0][1].startswith("The ") and any(c.value == samples[0][1] for c in at.code)


def test_the_windows_picture_follows_the_offset(at):
    at.number_input(key="text_offset").set_value(1000).run()
    corpus = builtin_corpus()
    row = figure(at, "windows sliding")["data"][0]["text"][0]
    width = at.slider(key="text_shown").value
    n = at.slider(key="text_nwin").value
    expected = [plotly_text(visible_token(c)) for c in corpus[1000:1000 + n - 1 + width + 1]]
    assert row == expected
    pairs = at.dataframe[0].value
    assert pairs["it should predict"].tolist()[0] == visible_token(corpus[1001])


def test_one_step_then_train_lowers_the_loss_and_writes_samples(at):
    use_tiny(at)
    at.number_input(key="text_steps").set_value(20).run()
    at.number_input(key="text_eval").set_value(10).run()
    button(at, "One step", exact=True).click().run()
    assert run_of(at).trainer.step_count == 1
    button(at, "Train").click().run()
    wait_done(at, run_of(at))
    run = run_of(at)
    assert run.trainer.step_count == 21
    evals = run.snapshot().evals
    assert [e.step for e in evals] == [10, 20]
    V = run.trainer.task.tokenizer.vocab_size
    assert evals[-1].train_loss < math.log(V) - 0.5  # falling from uniform guessing
    assert at.session_state["text_samples"][-1][0] >= 20  # a sample after the evaluation
    loss = figure(at, "Loss")
    assert {"batch loss", "train loss", "validation loss"} <= {d.get("name") for d in loss["data"]}
    assert "letter frequencies only" in json.dumps(loss["layout"]["annotations"])


def test_training_settings_keep_the_model_and_architecture_changes_rebuild_it(at):
    use_tiny(at)
    button(at, "One step", exact=True).click().run()
    model = run_of(at).trainer.model
    at.number_input(key="text_lr").set_value(1e-3).run()
    assert run_of(at).trainer.model is model and run_of(at).trainer.step_count == 1
    at.number_input(key="text_layers").set_value(1).run()
    assert run_of(at).trainer.model is not model and run_of(at).trainer.step_count == 0


def test_every_training_setting_reaches_the_trained_model_and_keeps_its_steps(at):
    use_tiny(at)
    at.number_input(key="text_steps").set_value(5).run()
    next(b for b in at.button if b.label.startswith("Train")).click().run()
    wait_done(at, run_of(at))
    run = run_of(at)
    assert run.trainer.step_count == 5
    lr, batch, every = 7e-4, 8, 25
    at.number_input(key="text_lr").set_value(lr).run()
    at.number_input(key="text_batch").set_value(batch).run()
    at.number_input(key="text_eval").set_value(every).run()
    assert run_of(at) is run and run.trainer.step_count == 5  # the same model, its steps kept
    assert all(g["lr"] == lr for g in run.trainer.optimizer.param_groups)
    assert (run.trainer.config.batch_size, run.trainer.config.eval_interval) == (batch, every)
    assert len(run.snapshot().steps) == 5  # and its loss history
    # while training, too: taken before the next step
    at.number_input(key="text_steps").set_value(100_000).run()
    next(b for b in at.button if b.label.startswith("Train")).click().run()
    at.number_input(key="text_lr").set_value(2e-3).run()
    deadline = time.monotonic() + 30
    while run.trainer.optimizer.param_groups[0]["lr"] != 2e-3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.running and run.trainer.optimizer.param_groups[0]["lr"] == 2e-3
    run.pause()


def test_bad_settings_show_a_message_and_keep_the_model(at):
    run = run_of(at)
    at.number_input(key="text_embd").set_value(130).run()  # 4 heads do not divide 130
    assert not at.exception
    assert any("divisible" in e.value for e in at.error)
    assert at.session_state["text_run"] is run


def test_a_saved_model_loads_with_its_settings_and_is_kept(at):
    use_tiny(at)
    at.number_input(key="text_steps").set_value(3).run()
    next(b for b in at.button if b.label.startswith("Train")).click().run()
    wait_done(at, run_of(at))
    run = run_of(at)
    spec = {"kind": "text", "corpus": "built-in", "vocab_size": run.trainer.task.vocab_size,
            "sha1": hashlib.sha1(builtin_corpus().encode()).hexdigest()}
    saved = replace(run.trainer.config, learning_rate=5.0)  # above this page's highest, 1.0
    data = run.read_model(lambda m: save_bundle(m, spec, saved, run.trainer.step_count))
    weights = run.read_model(lambda m: m.lm_head.weight.detach().clone())
    at.button(key="text_reset").click().run()
    at.number_input(key="text_layers").set_value(1).run()
    assert run_of(at).trainer.step_count == 0
    at.file_uploader(key="text_model_upload_0").upload("m.zip", data, "application/zip")
    at.run()
    assert not at.exception and not at.error
    assert any("Loaded a model trained for 3 steps" in s.value for s in at.success)
    assert any("its learning rate 5 is outside this page's 1e-05 to 1, so it is 1 here"
               in unescape_markdown(s.value) for s in at.success)  # the clamp is said
    loaded = run_of(at)
    assert loaded.trainer.step_count == 3 and loaded.trainer.model.config.n_layer == 2
    assert torch.equal(loaded.trainer.model.lm_head.weight, weights)
    assert at.number_input(key="text_layers").value == 2  # the sidebar describes it
    assert at.number_input(key="text_lr").value == 1.0  # clamped into the widget's range
    assert loaded.trainer.optimizer.param_groups[0]["lr"] == 1.0
    next(b for b in at.button if b.label == "One step").click().run()
    assert run_of(at) is loaded and loaded.trainer.step_count == 4  # kept, not rebuilt


def test_uploads_bad_files_are_refused_and_a_good_one_is_used(at):
    use_tiny(at)
    button(at, "One step", exact=True).click().run()
    run = run_of(at)
    at.radio(key="text_source").set_value("Upload a .txt file").run()
    up = lambda: at.file_uploader(key="text_upload")  # noqa: E731 (fresh after each run)
    for content, words in [(b"", "empty"), (b"\xff\xfe\x00\x9c" * 50, "not UTF-8"),
                           (b"too short", "fewer than")]:
        up().upload("notes.txt", content, "text/plain")
        at.run()
        assert not at.exception
        assert any("Cannot use the file 'notes.txt'" in unescape_markdown(e.value)
                   and words in unescape_markdown(e.value) for e in at.error)
        assert run_of(at) is run and run.trainer.step_count == 1  # the model is kept
    good = "abcab cabba. " * 100
    up().upload("abc.txt", good.encode(), "text/plain")
    at.run()
    assert not at.exception and not at.error
    assert any("abc.txt" in unescape_markdown(c.value) and "5 distinct" in c.value
               for c in at.caption)
    assert run_of(at).trainer.task.tokenizer.vocab_size == 5  # a new model for the new vocabulary


def test_a_sample_prompt_outside_the_vocabulary_falls_back_with_a_warning(at):
    at.text_input(key="text_prompt").set_value("Ωmega").run()
    assert not at.exception
    assert any("outside this corpus's vocabulary" in w.value for w in at.warning)
    button(at, "Write a sample now", exact=True).click().run()
    assert at.session_state["text_samples"][-1][1].startswith(builtin_corpus()[0])
