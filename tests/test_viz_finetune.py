"""Figures of the GPT-1 page: the comparison chart and the token-sequence picture."""

from __future__ import annotations

import pytest

from gptviz.gpt1.comparison import RunCurve
from gptviz.gpt1.finetune import MULTIPLE_CHOICE, SIMILARITY, finetune_tokenizer, transform
from gptviz.gpt1.labelled import LabelledExample
from gptviz.viz.finetune import (
    PART_COLORS,
    comparison_figure,
    example_figure,
    token_kinds,
    token_sequence_figure,
    token_sequences_figure,
)


def runs() -> list[RunCurve]:
    return [
        RunCurve("pretrained", 32, [0, 10, 20], [0.5, 0.7, 0.8], [0.5, 0.9, 1.0], [], True),
        RunCurve("scratch", 32, [0, 10, 20], [0.5, 0.55, 0.6], [0.5, 0.8, 1.0], [], True),
        RunCurve("pretrained", 128, [0, 10, 20], [0.5, 0.8, 0.9], [], [], True),
        RunCurve("scratch", 128, [0, 10], [0.5, 0.6], [], [], False),  # stopped early
    ]


def test_comparison_has_both_curves_over_steps_and_over_examples() -> None:
    fig = comparison_figure(runs(), n_labelled=32)
    left = [t for t in fig.data if t.xaxis == "x"]
    right = [t for t in fig.data if t.xaxis == "x2"]
    assert [(t.name, list(t.y)) for t in left] == [
        ("from the pre-trained GPT", [0.5, 0.7, 0.8]),
        ("from scratch (random weights)", [0.5, 0.55, 0.6])]
    # right: final accuracy per number of examples; the unfinished scratch run is left out
    assert [(list(t.x), list(t.y)) for t in right] == [([32, 128], [0.8, 0.9]), ([32], [0.6])]
    assert fig.layout.xaxis2.type == "log"
    # one legend entry per starting point, chance line drawn in both panels
    assert sum(bool(t.showlegend is not False) for t in fig.data) == 2
    assert [s.y0 for s in fig.layout.shapes] == [0.5, 0.5]


def test_comparison_defaults_to_the_largest_count_and_handles_nothing() -> None:
    fig = comparison_figure(runs())
    assert [list(t.y) for t in fig.data if t.xaxis == "x"] == [[0.5, 0.8, 0.9], [0.5, 0.6]]
    assert len(comparison_figure([]).data) == 0


def test_token_kinds_follow_the_special_tokens() -> None:
    tokens = ["<start>", "a", "b", "<delim>", "c", "<extract>"]
    assert token_kinds(tokens) == ["start", "a", "a", "delim", "b", "extract"]


def test_token_figure_draws_every_token_as_escaped_text() -> None:
    tok = finetune_tokenizer("ab <&>\"'")
    ids = transform(tok, "a <b>", "&")
    # quotes stay quotes: plotly would draw &quot; as those six characters
    quotes = token_sequence_figure([tok.token_str(i) for i in transform(tok, "\"'")])
    assert list(quotes.data[0].text)[1:3] == ['"', "'"]
    tokens = [tok.token_str(i) for i in ids]
    fig = token_sequence_figure(tokens, ids)
    text = list(fig.data[0].text)
    assert text == ["&lt;start&gt;", "a", "\u2423", "&lt;", "b", "&gt;", "&lt;delim&gt;",
                    "&amp;", "&lt;extract&gt;"]
    assert len(fig.layout.shapes) == len(ids)  # one box per token
    legend = [t.name for t in fig.data[1:]]
    assert legend == ["&lt;start&gt;", "text A", "&lt;delim&gt;", "text B", "&lt;extract&gt;"]
    with pytest.raises(ValueError):
        token_sequence_figure(tokens, ids[:-1])


def test_long_sequences_wrap_into_rows() -> None:
    tokens = ["<start>"] + list("x" * 60) + ["<extract>"]
    fig = token_sequence_figure(tokens, per_row=24)
    rows = sorted({round(y, 3) for y in fig.data[0].y})
    assert len(rows) == 3 and all(s.x1 <= 24.2 for s in fig.layout.shapes)


def box_colors(fig) -> list[str]:
    return [b.fillcolor for b in fig.layout.shapes]


def test_similarity_draws_both_orders_with_each_text_in_its_colour() -> None:
    tok = finetune_tokenizer("abxy")
    fig = example_figure(tok, LabelledExample("ab", "xyx", 1), SIMILARITY, title="t")
    text = list(fig.data[0].text)
    assert text == ["&lt;start&gt;", "a", "b", "&lt;delim&gt;", "x", "y", "x", "&lt;extract&gt;",
                    "&lt;start&gt;", "x", "y", "x", "&lt;delim&gt;", "a", "b", "&lt;extract&gt;"]
    colors = box_colors(fig)
    a, b = PART_COLORS["text A"], PART_COLORS["text B"]
    assert colors[1:3] == [a, a] and colors[4:7] == [b, b, b]  # order A, B
    assert colors[9:12] == [b, b, b] and colors[13:15] == [a, a]  # order B, A: A keeps its colour
    assert list(fig.layout.yaxis.ticktext) == ["A, B", "B, A"]
    # each order starts a row of its own, below the first
    ys = list(fig.data[0].y)
    assert ys[8] < ys[7] and fig.layout.yaxis.tickvals == (ys[0], ys[8])
    assert [t.name for t in fig.data[1:]] == ["&lt;start&gt;", "text A", "&lt;delim&gt;",
                                              "text B", "&lt;extract&gt;"]


def test_multiple_choice_draws_one_sequence_per_choice_and_marks_the_right_one() -> None:
    tok = finetune_tokenizer("abc")
    ex = LabelledExample("ab", None, 2, ("c", "cc", "ca"))
    fig = example_figure(tok, ex, MULTIPLE_CHOICE)
    assert list(fig.layout.yaxis.ticktext) == ["choice 1", "choice 2", "choice 3 (right)"]
    assert len(fig.layout.shapes) == 6 + 7 + 7  # <start> 2 chars <delim> choice <extract>
    assert [t.name for t in fig.data[1:]] == ["&lt;start&gt;", "context", "&lt;delim&gt;",
                                              "choice", "&lt;extract&gt;"]
    # each choice starts a row of its own after <delim>, so the choices line up
    xs, ys = list(fig.data[0].x), list(fig.data[0].y)
    assert ys[4] < ys[3] and xs[4] == xs[10] == xs[17] == 0.5  # first box, half a box wide
    typed = example_figure(tok, LabelledExample("ab", None, -1, ("c", "a")), MULTIPLE_CHOICE)
    assert list(typed.layout.yaxis.ticktext) == ["choice 1", "choice 2"]  # no label: none marked


def test_more_sequences_make_a_taller_figure_and_bad_input_is_refused() -> None:
    one = token_sequences_figure([["<start>", "a", "<extract>"]])
    three = token_sequences_figure([["<start>", "a", "<extract>"]] * 3, labels=["1", "2", "3"])
    assert three.layout.height > one.layout.height
    assert one.layout.yaxis.visible is False  # no names for a single sequence
    with pytest.raises(ValueError, match="one entry per sequence"):
        token_sequences_figure([["a"], ["b"]], labels=["only one"])
    with pytest.raises(ValueError, match="same length"):
        token_sequences_figure([["a", "b"]], ids=[[1]])
    with pytest.raises(ValueError, match="no sequence"):
        token_sequences_figure([])
