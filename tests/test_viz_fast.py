"""Figures built without validation (viz/fast.py) are what plotly's validation makes of them."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from gptviz.analysis import all_states, empirical_transitions
from gptviz.tasks import SequenceTask
from gptviz.train import EvalEvent
from gptviz.viz.attention import attention_figure
from gptviz.viz.graph import transition_heatmap
from gptviz.viz.loss import loss_figure


def as_json(fig: go.Figure) -> str:
    return json.dumps(json.loads(pio.to_json(fig, validate=False)), sort_keys=True)


def assert_valid(fig: go.Figure) -> None:
    """Oracle: plotly's own validating constructor, fed the figure, gives the same figure (a
    wrong name or value would raise or be dropped; a named template would become a dict)."""
    assert as_json(go.Figure(fig.to_dict())) == as_json(fig)
    assert isinstance(fig.layout.template.layout.font.color, str)  # the template is resolved


def test_loss_figure_is_valid_and_its_layout_is_shared_safely():
    steps = list(range(1, 300))
    evals = [EvalEvent(s, 1.0 / s, 1.2 / s) for s in steps[::7]]
    fig = loss_figure(steps, [1.0 / s for s in steps], evals, floor=0.3, title="Loss")
    assert_valid(fig)
    assert [t.name for t in fig.data] == ["batch loss", "train loss", "validation loss"]
    fig.update_layout(title_text="changed by a caller")  # must not leak into the cache
    again = loss_figure(steps, [1.0 / s for s in steps], evals, floor=0.3, title="Loss")
    assert again.layout.title.text == "Loss"


def test_attention_figure_is_valid_and_puts_each_head_on_its_own_axes():
    att = np.random.default_rng(0).random((2, 3, 4, 4))
    fig = attention_figure(att, list("ab<c"))
    assert_valid(fig)
    assert [(t.xaxis, t.yaxis) for t in fig.data] == [
        ("x", "y"), ("x2", "y2"), ("x3", "y3"), ("x4", "y4"), ("x5", "y5"), ("x6", "y6")]
    # each panel's z is that layer's and head's weights, future keys blanked
    z = np.asarray(fig.data[4].z, dtype=float)  # layer index 1, head index 1
    assert np.isnan(z[0, 1]) and np.allclose(z[3], att[1, 1, 3])
    titles = [a.text for a in fig.layout.annotations]
    assert titles[4] == "layer 2 · head 2"  # counted from 1 for people


def test_transition_heatmap_is_valid_and_names_the_step():
    task = SequenceTask("0120120012", 3, 3)
    states = all_states(3, 3)
    probs = np.random.default_rng(1).dirichlet([1, 1, 1], size=len(states))
    fig = transition_heatmap(states, probs, empirical_transitions(*task.examples["train"]),
                             title="step 7")
    assert_valid(fig)
    assert fig.layout.title.text == "step 7"
    assert transition_heatmap(states, probs, title="step 8").layout.title.text == "step 8"


def test_text_loss_figure_matches_the_validated_add_hline_build():
    from gptviz.viz.text_loss import REFERENCE_COLOURS, text_loss_figure

    steps = list(range(1, 200))
    evals = [EvalEvent(s, 3.0 / s, 3.3 / s) for s in steps[::20]]
    refs = {"uniform": 4.17, "unigram": 3.2}
    fig = text_loss_figure(steps, [3.0 / s for s in steps], evals, refs, title="T")
    assert_valid(fig)
    # oracle: the same figure made the validated way, as text_loss_figure used to
    slow = go.Figure(loss_figure(steps, [3.0 / s for s in steps], evals, None, "T").to_dict())
    for (label, value), colour in zip(refs.items(), REFERENCE_COLOURS, strict=False):
        slow.add_hline(y=value, line=dict(color=colour, dash="dot", width=2),
                       annotation_text=f"{label}: {value:.2f}", annotation_position="top right",
                       annotation_font=dict(color=colour, size=15))
    assert as_json(fig) == as_json(slow)
    fig.layout.shapes[0].y0 = 9.0  # a caller's change must not leak into the cache
    again = text_loss_figure(steps, [3.0 / s for s in steps], evals, refs, title="T")
    assert again.layout.shapes[0].y0 == 4.17


def test_a_title_that_changes_every_redraw_builds_the_layout_once():
    """Live pages put the step in the title: the validated layout must still be built only
    once (a cache keyed by the title rebuilt a 4 x 4 grid, 190 ms, on every redraw)."""
    from gptviz.viz.fast import layout_cache

    builds = []

    @layout_cache
    def layout(height: int, title: str) -> go.Figure:
        builds.append(title)
        return go.Figure(layout=dict(title=dict(text=title, font=dict(size=20)), height=height))

    first, second = layout(300, "step 1"), layout(300, "step 2")
    assert len(builds) == 1
    assert (first["title"]["text"], second["title"]["text"]) == ("step 1", "step 2")
    assert first["title"]["font"] == second["title"]["font"] == {"size": 20}
    layout(400, "step 3")  # other arguments still make their own layout
    assert len(builds) == 2
    att = np.random.default_rng(2).random((4, 4, 3, 3))
    figs = [attention_figure(att, list("abc"), title=f"at step {s:,}") for s in (9, 1234)]
    assert [f.layout.title.text for f in figs] == ["at step 9", "at step 1,234"]
    assert_valid(figs[1])


def test_a_ready_figure_gives_plotly_the_dict_the_full_figure_would():
    """What st.plotly_chart reads (to_dict) straight from the builder's dicts is what plotly's
    own Figure of the same dicts gives; reading the figure as a figure (fig.data) makes it
    one; neither changes what the figure holds (its arrays stay arrays)."""
    from gptviz.viz.fast import ReadyFigure

    att = np.random.default_rng(3).random((2, 2, 3, 3))
    steps = list(range(1, 60))
    task = SequenceTask("0120120012", 3, 3)
    states = all_states(3, 3)
    probs = np.random.default_rng(4).dirichlet([1, 1, 1], size=len(states))
    figs = [attention_figure(att, list("abc"), title="step 5"),
            loss_figure(steps, [1.0 / s for s in steps], floor=0.2, title="Loss"),
            transition_heatmap(states, probs, empirical_transitions(*task.examples["train"]),
                               title="step 7")]
    for fig in figs:
        assert type(fig) is ReadyFigure
        data, layout = object.__getattribute__(fig, "_ready")
        full = go.Figure(data=data, layout=layout, _validate=False)
        assert json.dumps(fig.to_dict(), sort_keys=True) == as_json_dict(full)
        assert json.dumps(fig.to_dict(), sort_keys=True) == as_json_dict(full)  # again: same
        assert object.__getattribute__(fig, "_ready") is not None  # still not built
        assert len(fig.data) == len(full.data)  # read as a figure: now a plotly figure
        assert object.__getattribute__(fig, "_ready") is None
        assert as_json_dict(fig) == as_json_dict(full)
    assert isinstance(figs[0].data[0].z, np.ndarray)  # to_dict converted a copy, not these
    # copied or pickled (st.cache_data pickles what it keeps), drawn or not: the same figure
    fresh = attention_figure(att, list("abc"), title="step 5")
    for copied in (copy.deepcopy(fresh), pickle.loads(pickle.dumps(fresh)),
                   copy.deepcopy(figs[0])):
        assert as_json_dict(copied) == as_json_dict(figs[0])
    # the template is shared with the layout cache, and nobody's change reaches it
    again = attention_figure(att, list("abc"), title="step 6")
    assert again.layout.template.layout.font.color == figs[0].layout.template.layout.font.color


def as_json_dict(fig: go.Figure) -> str:
    return json.dumps(fig.to_dict(), sort_keys=True, default=str)
