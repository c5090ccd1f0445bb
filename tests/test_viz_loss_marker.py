"""loss_figure's additions: the timeline's current step as a vertical line, and the learning rate
in a panel under the loss on the same steps. Without them the figure is what it was."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gptviz.train import EvalEvent
from gptviz.viz.loss import LR_PANEL_PX, loss_figure, loss_parts
from tests.test_viz_fast import as_json, assert_valid

STEPS = list(range(1, 201))
LOSSES = [0.4 + 1 / math.sqrt(s) for s in STEPS]
EVALS = [EvalEvent(s, 0.4 + 1 / math.sqrt(s), 0.45 + 1 / math.sqrt(s)) for s in STEPS[::10]]
# nanoGPT's schedule: warm-up over 20 steps, cosine decay to a tenth
LRS = [1e-3 * (s / 20 if s < 20 else 0.1 + 0.45 * (1 + math.cos(math.pi * (s - 20) / 180)))
       for s in STEPS]


def marker_lines(fig) -> list[dict]:
    return [s for s in fig.to_plotly_json()["layout"].get("shapes", [])
            if s["type"] == "line" and s["xref"] == "x" and s["yref"] == "paper"]


def test_the_marker_line_sits_at_marker_step_through_the_whole_plot():
    fig = loss_figure(STEPS, LOSSES, EVALS, floor=0.35, marker_step=120)
    assert_valid(fig)
    (line,) = marker_lines(fig)
    assert line["x0"] == line["x1"] == 120
    assert (line["y0"], line["y1"]) == (0, 1)
    # the floor's line is still there, and the marker did not stay in the cached layout
    shapes = fig.to_plotly_json()["layout"]["shapes"]
    assert any(s["yref"] == "y" and s["y0"] == 0.35 for s in shapes)
    assert not marker_lines(loss_figure(STEPS, LOSSES, EVALS, floor=0.35))


def test_the_defaults_draw_todays_figure():
    today = loss_figure(STEPS, LOSSES, EVALS, 0.35, "Loss", 380, "train loss")
    assert as_json(today) == as_json(loss_figure(STEPS, LOSSES, EVALS, 0.35, "Loss", 380,
                                                 "train loss", marker_step=None, lrs=None))
    lay = today.to_plotly_json()["layout"]
    assert "xaxis2" not in lay and "yaxis2" not in lay and lay["height"] == 380
    assert [t.name for t in today.data] == ["batch loss", "train loss", "validation loss"]


def test_the_lr_panel_holds_the_rates_under_the_loss_on_the_same_steps():
    fig = loss_figure(STEPS, LOSSES, EVALS, floor=0.35, marker_step=50, lrs=LRS)
    assert_valid(fig)
    lay = fig.to_plotly_json()["layout"]
    (lr,) = [t for t in fig.data if t.name == "learning rate"]
    assert (lr.xaxis, lr.yaxis) == ("x2", "y2")
    np.testing.assert_array_equal(lr.x, STEPS)
    np.testing.assert_array_equal(lr.y, LRS)
    # the loss traces stay on the top axes, the lr panel is below them and shares their steps
    assert all(t.xaxis in (None, "x") and t.yaxis in (None, "y") for t in fig.data if t is not lr)
    assert lay["yaxis2"]["domain"][1] < lay["yaxis"]["domain"][0]
    assert lay["xaxis"].get("matches") == "x2" or lay["xaxis2"].get("matches") == "x"
    assert lay["xaxis2"]["title"]["text"] == "step"
    assert lay["height"] == 380 + LR_PANEL_PX  # the loss keeps its own height
    assert any(s["yref"] == "y" and s["y0"] == 0.35 for s in lay["shapes"])  # floor on the loss
    (line,) = marker_lines(fig)  # through both panels
    assert line["x0"] == 50


def test_long_runs_thin_the_lr_like_the_loss_and_a_wrong_length_is_refused():
    steps = list(range(5000))
    fig = loss_figure(steps, [1.0] * 5000, lrs=[s * 1e-6 for s in steps])
    loss, lr = fig.data[0], fig.data[-1]
    assert len(lr.x) == len(loss.x) < 5000
    np.testing.assert_allclose(lr.y, np.asarray(lr.x) * 1e-6)
    with pytest.raises(ValueError, match="one per step"):
        loss_parts(STEPS, LOSSES, lrs=LRS[:-1])
