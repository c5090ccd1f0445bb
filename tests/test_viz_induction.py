"""The induction figures: valid plotly (viz/fast.py's oracle), and they draw what they are given."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gptviz.train import EvalEvent
from gptviz.viz.induction import half_loss_figure, head_scores_figure, stripe_attention_figure
from tests.test_viz_fast import assert_valid


def evals() -> list[EvalEvent]:
    out = []
    for s in (0, 25, 50):
        m = {"first_half_loss": 4.1, "repeat_loss": 4.0 - s / 20, "induction_score": s / 60}
        for layer in (1, 2):
            for h in (1, 2):
                m[f"induction_L{layer}H{h}"] = s / 100 * layer + h / 100
                m[f"prev_token_L{layer}H{h}"] = 0.1 * h
        out.append(EvalEvent(s, 3.0, 2.9, m))
    return out


def test_half_loss_figure_draws_both_halves_the_lines_and_a_switched_off_head():
    fig = half_loss_figure(evals(), 64, 2.012, ablated=(50, 3.3, "L1H2"))
    assert_valid(fig)
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["repeated half"].y) == [4.0, 2.75, 1.5]
    assert list(by_name["all targets"].y) == [2.9, 2.9, 2.9]
    assert list(by_name["L1H2 off"].x) == [50] and list(by_name["L1H2 off"].y) == [3.3]
    assert [s.y0 for s in fig.layout.shapes] == pytest.approx([math.log(64), 2.012])
    assert "L1H2 off" not in {t.name for t in half_loss_figure(evals(), 64, 2.012).data}


def test_head_scores_figure_has_one_line_per_head_and_score():
    fig = head_scores_figure(evals(), 2, 2, best=(1, 0))
    assert_valid(fig)
    assert len(fig.data) == 8  # 4 heads x (induction, previous-token)
    l2h1 = [t for t in fig.data if t.name == "L2H1"]
    assert [t.xaxis for t in l2h1] == ["x", "x2"]
    assert list(l2h1[0].y) == pytest.approx([0.01, 0.51, 1.01])
    assert list(l2h1[1].y) == pytest.approx([0.1, 0.1, 0.1])
    assert {t.line.width for t in l2h1} == {5} and fig.data[0].line.width == 2.5


def test_stripe_marks_the_token_after_each_earlier_copy():
    T = 7  # fixed layout, n = 4: queries 4, 5, 6 -> keys 1, 2, 3
    att = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]
    fig = stripe_attention_figure(att, list("ABCDABC"), 1, 0, 0, 4, 4, title="Where")
    assert_valid(fig)
    squares = fig.data[-1]
    assert list(squares.x) == ["B<sub>1</sub>", "C<sub>2</sub>", "D<sub>3</sub>"]
    assert list(squares.y) == ["A<sub>4</sub>", "B<sub>5</sub>", "C<sub>6</sub>"]
    assert fig.layout.annotations[0].text == "layer 2 · head 1"
