"""Prefix states (shorter than the context) are drawn as what they are in each training mode.

Scoring only the last position (document 000), the shorter prefixes occur in the data (every
window starts with them) but the loss never looks at them: the drawings must say "not scored",
never "seen 0 times". Scoring every position, they are trained on like any other state, with
the data's counts from the windows' prefixes.
"""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pytest

from gptviz.analysis import all_states, window_transitions
from gptviz.config import DOC000_SEQUENCE
from gptviz.tasks import SequenceTask
from gptviz.viz.graph import NOT_SCORED_LEGEND, state_graph
from gptviz.viz.network import state_network_figure
from gptviz.viz.style import NOT_SCORED_FILL, SEEN_FILL, UNSEEN_FILL


def node_attrs(source: str, name: str) -> str:
    m = re.search(rf"^\t{name} \[(.*)\]$", source, flags=re.M)
    assert m, f"no node {name}"
    return m.group(1)


def edge_attrs(source: str, src: str, dst: str) -> str:
    m = re.search(rf"^\t{src} -> {dst} \[(.*)\]$", source, flags=re.M)
    assert m, f"no edge {src} -> {dst}"
    return m.group(1)


@pytest.fixture(params=[True, False], ids=["last-position", "all-positions"])
def doc000_graph(request) -> tuple[bool, str]:
    last_only = request.param
    task = SequenceTask(DOC000_SEQUENCE, 2, 3, last_only=last_only)
    states = all_states(2, 3, include_prefixes=True)  # 14 states: labelled graphviz
    probs = np.full((len(states), 2), 0.5)
    tr = window_transitions(*task.examples["train"])
    return last_only, state_graph(states, probs, 3, tr, last_only=last_only).source


def test_graph_prefix_states_say_how_often_they_occur_and_whether_they_are_scored(doc000_graph):
    last_only, src = doc000_graph
    # prefix "1" starts 10 of the 12 windows of 111101111011110, in both modes
    one = node_attrs(src, "1")
    assert "prefix 1: seen 10 times in the data (at the start of a window)" in one
    assert "seen 0 times" not in one
    if last_only:
        assert 'style="filled,dotted"' in one and NOT_SCORED_FILL in one
        assert "not scored" in one and "never trained on contexts shorter than 3" in one
        # the arrow carries only the model's number; the data's is in its tooltip, marked
        e = edge_attrs(src, "11", "111")
        assert 'label="1(50%)"' in e
        assert "not scored (in the data's windows: 75%)" in e  # 11 -> 1 in 6 of 8 windows
        assert NOT_SCORED_LEGEND[0] in src and "labelloc=b" in src
    else:
        assert "style=filled " in one and SEEN_FILL in one and "not scored" not in src
        assert 'label="1(50%) data 75%"' in edge_attrs(src, "11", "111")
        assert NOT_SCORED_LEGEND[0] not in src
    # full-length states mean the same in both modes: scored where they occur
    assert "state 111: seen 6 times in the data" in node_attrs(src, "111")
    assert 'style="filled,dashed"' in node_attrs(src, "000")
    assert 'label="1(50%) data 50%"' in edge_attrs(src, "111", "111")


def test_a_prefix_never_in_the_data_is_unseen_when_scored_and_not_scored_when_not():
    task = SequenceTask(DOC000_SEQUENCE, 2, 3)
    tr = window_transitions(*task.examples["train"])
    states = all_states(2, 3, include_prefixes=True)
    probs = np.full((len(states), 2), 0.5)
    last = node_attrs(state_graph(states, probs, 3, tr, last_only=True).source, "00")
    every = node_attrs(state_graph(states, probs, 3, tr, last_only=False).source, "00")
    assert "seen 0 times" in last and "not scored" in last and "dotted" in last
    assert "seen 0 times" in every and "not scored" not in every and "dashed" in every


@pytest.mark.parametrize("last_only", [True, False])
def test_network_prefix_states_in_both_modes(last_only):
    seq = "0110101101101101011011010110"
    task = SequenceTask(seq, 2, 5, last_only=last_only)
    tr = window_transitions(*task.examples["train"])
    states = all_states(2, 5, include_prefixes=True)  # 62 states: the plotly circle
    probs = np.full((len(states), 2), 0.5)
    fig = state_network_figure(states, probs, 5, tr, last_only=last_only)
    go.Figure(fig.to_dict())  # plotly's validation accepts it
    nodes, heads = fig.data[-1], fig.data[-2]
    names = list(nodes.text)
    i = names.index("01")  # windows start with 01 at seq[0], [3], [5], ...
    n = tr.total((0, 1))
    assert n > 0
    assert nodes.customdata[i].startswith(f"prefix 01: seen {n} times in the data")
    full = names.index("01101")
    assert nodes.marker.color[full] == SEEN_FILL and "not scored" not in nodes.customdata[full]
    from_prefix = [h for h in heads.text if h.startswith("01 → ")]
    assert len(from_prefix) == 2
    q = tr.probs((0, 1), 2)
    legend = [a.text for a in fig.layout.annotations]
    if last_only:
        assert nodes.marker.color[i] == NOT_SCORED_FILL
        assert "not scored" in nodes.customdata[i]
        assert f"01 → 011: token 1, model 50%, not scored (in the data's windows: " \
               f"{q[1]:.0%})" in from_prefix
        assert any("never trained on them" in t for t in legend)
    else:
        assert nodes.marker.color[i] == SEEN_FILL
        assert f"01 → 011: token 1, model 50%, data {q[1]:.0%}" in from_prefix
        assert not any("not scored" in str(t) for t in [*nodes.customdata, *heads.text])
        assert not legend
    assert all(c in (SEEN_FILL, UNSEEN_FILL, NOT_SCORED_FILL) for c in nodes.marker.color)
