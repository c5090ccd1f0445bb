"""The plotly state network: one arrow per (state, token) that stays in the state set, pointing at
next_state, sized by probability; nodes fixed on the circle; plotly accepts the figure."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from gptviz.analysis import all_states, empirical_transitions, next_state
from gptviz.viz.network import NODE_RADIUS, circle_positions, state_network_figure


def test_circle_positions_are_on_the_unit_circle_first_at_top():
    pos = circle_positions(8)
    assert np.allclose(np.linalg.norm(pos, axis=1), 1.0)
    assert np.allclose(pos[0], [0.0, 1.0])
    assert pos[1, 0] > 0  # clockwise: the second node is to the right of the top


def test_arrows_point_from_each_state_to_its_next_state():
    states = all_states(2, 5)  # 32 states
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1, 1], size=len(states))
    fig = state_network_figure(states, probs, 5)
    go.Figure(fig.to_dict())  # plotly's validation accepts the unvalidated build
    heads = fig.data[-2]
    nodes = fig.data[-1]
    assert list(nodes.text) == ["".join(map(str, s)) for s in states]
    assert len(heads.x) == 2 * len(states)  # every next state of a full-length state is a state
    pos = circle_positions(len(states), stagger=len(states) > 32)
    k = 0
    for i, s in enumerate(states):
        for t in range(2):
            j = states.index(next_state(s, t, 5))
            head = np.array([heads.x[k], heads.y[k]])
            if i != j:  # the arrowhead stops just short of the target node, on the segment
                gap = np.linalg.norm(head - pos[j])
                assert gap == pytest.approx(1.6 * NODE_RADIUS, rel=1e-6)
                u = (pos[j] - pos[i]) / np.linalg.norm(pos[j] - pos[i])
                assert heads.marker.angle[k] == pytest.approx(math.degrees(math.atan2(u[0], u[1])))
            p = probs[i, t]
            assert heads.marker.size[k] == pytest.approx(7 + 9 * p)
            assert f"model {p:.0%}" in heads.text[k]
            k += 1


def test_probability_decides_the_width_bin_and_the_data_is_in_the_hover():
    states = all_states(2, 5)
    probs = np.tile([0.02, 0.98], (len(states), 1))
    seq = [1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1]
    windows = [seq[i:i + 6] for i in range(len(seq) - 5)]  # last position scored only
    x = torch.tensor([w[:5] for w in windows])
    y = torch.full_like(x, -1)
    y[:, -1] = torch.tensor([w[5] for w in windows])
    trans = empirical_transitions(x, y)
    assert 0 < sum(trans.total(s) > 0 for s in states) < len(states)
    fig = state_network_figure(states, probs, 5, trans)
    lines = [tr for tr in fig.data if tr.mode == "lines"]
    assert len(lines) == 2  # only the lowest and the highest probability bins are used
    thin, thick = sorted(lines, key=lambda tr: tr.line.width)
    # every edge is drawn as its points then a None: 32 edges per bin
    assert sum(v is None for v in thin.x) == sum(v is None for v in thick.x) == len(states)
    assert thick.line.width > 4 * thin.line.width
    hover = fig.data[-2].text
    assert any("data" in h for h in hover)  # seen states carry the data's frequency
    nodes = fig.data[-1]
    seen = {"".join(map(str, s)) for s in states if trans.total(s) > 0}
    for name, colour in zip(nodes.text, nodes.marker.color, strict=True):
        assert (colour == "#dbeafe") == (name in seen)


def test_bad_shapes_and_too_many_states_are_refused():
    states = all_states(2, 5)
    with pytest.raises(ValueError, match="rows"):
        state_network_figure(states, np.ones((3, 2)) / 2, 5)
    big = all_states(2, 8)
    with pytest.raises(ValueError, match="too many"):
        state_network_figure(big, np.ones((len(big), 2)) / 2, 8)
