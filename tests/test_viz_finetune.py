"""Figures of the GPT-1 page: the comparison chart and the token-sequence picture."""

from __future__ import annotations

import pytest

from gptviz.gpt1.comparison import RunCurve
from gptviz.gpt1.finetune import finetune_tokenizer, transform
from gptviz.viz.finetune import comparison_figure, token_kinds, token_sequence_figure


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
    tok = finetune_tokenizer("ab <&>")
    ids = transform(tok, "a <b>", "&")
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
