"""gptviz.viz.screen: figures fitted to a projector (height, type size, a replayed step)."""

from __future__ import annotations

from gptviz.train import EvalEvent
from gptviz.viz.loss import loss_figure
from gptviz.viz.screen import MIN_SIZE, fit
from gptviz.viz.style import FONT_SIZE, TITLE_SIZE


def figure():
    return loss_figure([1, 2, 3], [2.0, 1.5, 1.2], [EvalEvent(3, 1.3, 1.4, {})], floor=0.5)


def test_fit_sets_the_height_and_no_text_is_under_the_minimum():
    fig = fit(figure(), height=321)
    lay = fig.layout
    assert lay.height == 321
    assert lay.xaxis.tickfont.size >= MIN_SIZE and lay.yaxis.tickfont.size >= MIN_SIZE
    assert lay.xaxis.title.font.size >= MIN_SIZE
    assert all(a.font.size >= MIN_SIZE for a in lay.annotations)


def test_presenter_scale_grows_every_text():
    plain, big = fit(figure()), fit(figure(), font_scale=1.5)
    assert big.layout.font.size == round(FONT_SIZE * 1.5)
    assert big.layout.title.font.size == round(TITLE_SIZE * 1.5)
    assert big.layout.xaxis.tickfont.size == round(plain.layout.xaxis.tickfont.size * 1.5)
    assert [a.font.size for a in big.layout.annotations] == [
        round(a.font.size * 1.5) for a in plain.layout.annotations]


def test_a_replayed_step_is_marked_and_the_legend_can_go_under():
    fig = fit(figure(), marker_step=2, legend_under=True)
    lines = [s for s in fig.layout.shapes if s.x0 == s.x1 == 2]
    assert len(lines) == 1 and lines[0].yref == "y domain"
    assert any(a.text == "step 2" for a in fig.layout.annotations)
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0
    assert fit(figure()).layout.shapes == figure().layout.shapes  # no marker without a step
