"""Figure builders of the foundation: pure functions whose output can be checked."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from gptviz.analysis import all_states, empirical_transitions, model_transition_probs
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE
from gptviz.tasks import SequenceTask
from gptviz.train import EvalEvent, build_model
from gptviz.viz.attention import attention_figure, format_attention
from gptviz.viz.graph import MAX_GRAPH_STATES, state_graph, transition_heatmap
from gptviz.viz.loss import MAX_DRAWN, loss_figure


def doc000():
    task = SequenceTask(DOC000_SEQUENCE, 2, 3)
    model = build_model(DOC000_MODEL, 1337)
    return task, model, empirical_transitions(*task.examples["train"])


def test_state_graph_has_one_edge_per_state_and_token_labelled_with_model_probability():
    task, model, tr = doc000()
    states = all_states(2, 3)
    probs = model_transition_probs(model, states).numpy()
    dot = state_graph(states, probs, 3, tr)
    edges = re.findall(r'(\d{3}) -> (\d{3}) \[label="(\d)\((\d+)%\)', dot.source)
    assert len(edges) == 16
    for src, dst, tok, pct in edges:
        assert dst == src[1:] + tok  # crop the context and append the token (document 000)
        i = states.index(tuple(int(c) for c in src))
        assert int(pct) == round(probs[i, int(tok)] * 100)
    # the data's transition beside the model's: after 111 the data says 50% / 50%
    assert re.search(r'111 -> 111 \[label="1\(\d+%\) data 50%"', dot.source)
    # states never seen in the data are drawn dashed, seen ones are not
    assert re.search(r'000 \[[^\]]*style="filled,dashed"', dot.source)
    assert not re.search(r'111 \[[^\]]*dashed', dot.source)


def test_big_graphs_drop_labels_and_pin_positions_and_huge_ones_are_refused():
    states = all_states(2, 6)  # 64 states
    dot = state_graph(states, np.full((64, 2), 0.5), 6)
    assert dot.engine == "neato"
    assert dot.source.count("!\"") == 64  # every node pinned
    assert 'label="0(' not in dot.source
    with pytest.raises(ValueError, match="too many"):
        state_graph(all_states(2, 7), np.full((128, 2), 0.5), 7)
    assert MAX_GRAPH_STATES == 64


def test_transition_heatmap_holds_the_probabilities():
    task, model, tr = doc000()
    states = all_states(2, 3)
    probs = model_transition_probs(model, states).numpy()
    fig = transition_heatmap(states, probs, tr)
    z = np.asarray(fig.data[0].z)
    assert np.allclose(z, probs)
    assert list(fig.data[0].y) == ["000", "001", "010", "011", "100", "101", "110", "111"]


def test_loss_figure_draws_the_floor_and_thins_long_runs():
    steps = list(range(1, 5001))
    losses = [1.0 / s for s in steps]
    evals = [EvalEvent(s, 1.0 / s, 1.1 / s) for s in (100, 200)]
    fig = loss_figure(steps, losses, evals, floor=0.3466)
    assert len(fig.data[0].x) == MAX_DRAWN
    assert fig.data[0].x[0] == 1 and fig.data[0].x[-1] == 5000
    names = [t.name for t in fig.data]
    assert names == ["batch loss", "train loss", "validation loss"]
    floor_lines = [s for s in fig.layout.shapes if s.y0 == s.y1]
    assert len(floor_lines) == 1 and floor_lines[0].y0 == pytest.approx(0.3466)


def test_attention_figure_masks_the_future():
    task, model, _ = doc000()
    att = format_attention(model(torch.tensor([[1, 0, 1]]), return_attention=True).attention)
    assert att.shape == (4, 4, 3, 3)
    fig = attention_figure(att, ["1", "0", "1"])
    assert len(fig.data) == 16
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(z[0, 1]) and np.isnan(z[0, 2]) and np.isnan(z[1, 2])
    assert np.allclose(np.nansum(z, axis=1), 1.0, atol=1e-6)
    # user tokens are escaped before plotly sees them
    fig = attention_figure(att, ["<b>", "&", "1"])
    assert "&lt;b&gt;" in fig.data[0].x[0]
