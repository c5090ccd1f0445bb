"""Training windows (document 003) and the generation pictures."""

from __future__ import annotations

import json

import pytest
import torch

from gptviz.config import GPTConfig
from gptviz.generate import generate_steps
from gptviz.model import GPT
from gptviz.tasks.text import TextTask
from gptviz.tokenizers import CharTokenizer
from gptviz.viz.sampling import DRAWN_COLOUR, candidates_figure, context_html
from gptviz.viz.windows import (
    plotly_text,
    training_windows,
    visible_token,
    window_pairs,
    windows_figure,
)

TEXT = "Second Law of Robotics: a robot must obey <b>orders</b> & more."
TOK = CharTokenizer.from_text(TEXT)
IDS = TOK.encode(TEXT)


def test_windows_slide_by_one_and_targets_are_inputs_shifted() -> None:
    ws = training_windows(IDS, start=3, count=4, block_size=6)
    assert [w.start for w in ws] == [3, 4, 5, 6]
    assert TOK.decode(ws[0].inputs) == "ond La" and TOK.decode(ws[0].targets) == "nd Law"
    for a, b in zip(ws, ws[1:], strict=False):
        assert b.inputs == a.inputs[1:] + [a.targets[-1]]  # the window slid one token
    for w in ws:
        assert w.targets[:-1] == w.inputs[1:]


def test_windows_agree_with_the_training_task() -> None:
    task = TextTask(TEXT, TOK, block_size=6, val_fraction=0.0)
    x, y = task.windows("train", torch.tensor([3, 10]))
    ws = training_windows(IDS, 3, 8, 6)
    assert x[0].tolist() == ws[0].inputs and y[0].tolist() == ws[0].targets
    assert x[1].tolist() == ws[7].inputs and y[1].tolist() == ws[7].targets


def test_windows_out_of_range_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="the text has"):
        training_windows(IDS, len(IDS) - 3, 2, 6)
    with pytest.raises(ValueError):
        training_windows(IDS, -1, 2, 6)


def test_window_pairs_every_position_is_an_example() -> None:
    w = training_windows(IDS, 0, 1, 5)[0]
    rows = window_pairs(w, TOK)
    assert [r["the model has seen"] for r in rows] == ["S", "Se", "Sec", "Seco", "Secon"]
    assert [r["it should predict"] for r in rows] == ["e", "c", "o", "n", "d"]
    space = window_pairs(training_windows(IDS, 1, 1, 5)[0], TOK)  # "econd" -> "cond "
    assert space[-1]["it should predict"] == "␣"


def test_visible_and_plotly_text() -> None:
    assert visible_token(" \n\t") == "␣↵⇥"
    assert visible_token("\x07") == "\\x07"
    assert plotly_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"


def test_windows_figure_layout_and_no_markup() -> None:
    ws = training_windows(IDS, 40, 3, 8)  # covers "<b>orders</b>"
    fig = windows_figure(ws, TOK)
    hm = fig.data[0]
    assert list(hm.y) == ["text", "window 1 input", "window 1 target", "window 2 input",
                          "window 2 target", "window 3 input", "window 3 target"]
    cols = [int(c) for c in hm.x]
    assert cols == list(range(40, 40 + 2 + 8 + 1))
    # target rows sit one column right of their input rows; window k+1 one right of window k
    for k in range(3):
        inp, tgt = hm.z[1 + 2 * k], hm.z[2 + 2 * k]
        assert [i for i, v in enumerate(inp) if v is not None] == list(range(k, k + 8))
        assert [i for i, v in enumerate(tgt) if v is not None] == list(range(k + 1, k + 9))
    # the text row spells the corpus, escaped so plotly shows "<" rather than reading a tag
    row = "".join(hm.text[0]).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert row == visible_token(TEXT[40:51])
    assert "<" not in json.dumps(hm.text) + fig.layout.title.text
    cut = windows_figure(ws, TOK, max_positions=4)
    assert len(cut.data[0].x) == 2 + 4 + 1 and "first 4 of 8" in cut.layout.title.text


@pytest.fixture(scope="module")
def steps() -> list:
    torch.manual_seed(0)
    tok = CharTokenizer("ab<>& \n")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=4, n_layer=1, n_head=1,
                          n_embd=8)).eval()
    return [tok, list(generate_steps(model, tok.encode("a<b"), 6, temperature=2.0, seed=3))]


def test_candidates_figure_highlights_the_drawn_token(steps: list) -> None:
    tok, records = steps
    for s in records:
        fig = candidates_figure(s, tok, n=3)
        bars, marks = fig.data
        drawn_rows = [i for i, c in enumerate(bars.marker.color) if c == DRAWN_COLOUR]
        assert len(drawn_rows) == 1
        labels = fig.layout.yaxis.ticktext
        assert labels[drawn_rows[0]] == plotly_text(visible_token(tok.token_str(s.token)))
        assert list(bars.x[:3]) == sorted(bars.x[:3], reverse=True)  # best first
        assert list(marks.x) == pytest.approx([float(s.model_probs[c.token]) for c in s.top[:3]]
                                              + ([float(s.model_probs[s.token])]
                                                 if len(bars.x) == 4 else []))
        assert "<" not in "".join(labels)


def test_context_html_escapes_and_marks_the_window() -> None:
    tokens = list("<script>x")
    out = context_html(tokens, window_start=5, prompt_len=3, newest=8)
    assert "<script>" not in out and "&lt;script&gt;" not in out  # escaped per character
    assert out.count("&lt;") == 1 and out.count("&gt;") == 1
    spans = out.split("<span ")[1:]
    assert len(spans) == len(tokens)
    assert [("background" in s) for s in spans] == [i >= 5 for i in range(len(tokens))]
    assert [("font-weight:700" in s) for s in spans] == [i >= 3 for i in range(len(tokens))]
    assert ["outline" in s for s in spans].index(True) == 8


def test_context_html_window_end_leaves_the_drawn_token_outside() -> None:
    spans = context_html(list("abcdef"), window_start=1, prompt_len=2, newest=5,
                         window_end=5).split("<span ")[1:]
    assert [("background" in s) for s in spans] == [False, True, True, True, True, False]
    assert "color:#9A9A9A" in spans[0] and "outline" in spans[5]
