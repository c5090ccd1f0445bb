"""GPT as a finite-state Markov chain (document 000): states, and edges to next states.

`state_graph` returns a graphviz Digraph without drawing it (micrograd's `draw_dot` habit).
Small graphs are laid out by circo, as in the document (their edges never change during
training, only the labels, so the picture keeps its shape); larger ones get positions computed
here, on a circle, and pinned, so the browser's layout step has nothing to search.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
from graphviz import Digraph

from gptviz.analysis import State, Transitions, next_state
from gptviz.viz import fast
from gptviz.viz.fast import layout_cache
from gptviz.viz.style import EDGE_COLOR, HEAT_SCALE, SEEN_FILL, UNSEEN_FILL, base_layout

MAX_GRAPH_STATES = 64  # beyond this a graph stops being readable (and slow to lay out)
MAX_LABELLED_STATES = 16  # edge labels only while they fit


def _name(state: State, token_str: Callable[[int], str]) -> str:
    return "".join(token_str(t) for t in state) or "∅"


def state_graph(
    states: Sequence[State],
    probs: np.ndarray,
    context: int,
    transitions: Transitions | None = None,
    token_str: Callable[[int], str] = str,
    min_prob: float = 0.0,
) -> Digraph:
    """states[i] -> next_state(states[i], t) for each token t, labelled `t(p%)`.

    probs: (len(states), V) model probabilities. transitions: what the training data shows, drawn
    as `data q%` beside the model's number; states never seen in the data are dashed and grey.
    Edges to states outside `states` (longer prefixes are always included when shorter ones are)
    are dropped; edges below min_prob are hidden to reduce clutter.
    """
    if len(states) > MAX_GRAPH_STATES:
        raise ValueError(f"{len(states)} states is too many to draw as a graph "
                         f"(limit {MAX_GRAPH_STATES}); use transition_heatmap")
    probs = np.asarray(probs, dtype=float)
    if probs.shape[0] != len(states):
        raise ValueError(f"probs has {probs.shape[0]} rows for {len(states)} states")
    vocab = probs.shape[1]
    present = set(states)
    labelled = len(states) <= MAX_LABELLED_STATES
    dot = Digraph(comment="Baby GPT", engine="circo" if labelled else "neato")
    # With pinned positions, routing edges around the nodes (splines="true") was nearly all of
    # the browser's layout time: 1.9 s per live redraw for 64 states, so the graph lagged the
    # training by seconds. Straight edges need no routing; the labelled small graphs keep
    # their curves.
    dot.attr(overlap="true", splines="true" if labelled else "line", outputorder="edgesfirst")
    dot.attr("node", shape="circle", style="filled", fontname="Helvetica", fontsize="16",
             width="0.8", fixedsize="true")
    dot.attr("edge", fontname="Helvetica", fontsize="15", arrowsize="0.7")
    radius = max(1.6, 0.55 * len(states) / math.pi)  # inches; keeps neighbours apart
    for i, s in enumerate(states):
        angle = math.pi / 2 - 2 * math.pi * i / len(states)
        seen = transitions is not None and transitions.total(s) > 0
        attrs = dict(fillcolor=SEEN_FILL if seen else UNSEEN_FILL,
                     color="#1e40af" if seen else "#9ca3af",
                     style="filled" if seen or transitions is None else "filled,dashed")
        if not labelled:
            attrs["pos"] = f"{radius * math.cos(angle):.3f},{radius * math.sin(angle):.3f}!"
        tip = f"state {_name(s, token_str)}"
        if transitions is not None:
            tip += f": seen {transitions.total(s)} times in the data"
        dot.node(_name(s, token_str), tooltip=tip, **attrs)
    for i, s in enumerate(states):
        data = transitions.probs(s, vocab) if transitions is not None else None
        for t in range(vocab):
            nxt = next_state(s, t, context)
            p = float(probs[i, t])
            if nxt not in present or p < min_prob:
                continue
            label = f"{token_str(t)}({p * 100:.0f}%)"
            if data is not None:
                label += f" data {data[t] * 100:.0f}%"
            dot.edge(
                _name(s, token_str), _name(nxt, token_str),
                label=label if labelled else "", tooltip=label,
                penwidth=f"{0.5 + 4.5 * p:.2f}",
                color=f"{EDGE_COLOR}{max(40, int(255 * p)):02x}",  # alpha follows probability
                fontcolor=EDGE_COLOR,
            )
    return dot


def transition_heatmap(
    states: Sequence[State],
    probs: np.ndarray,
    transitions: Transitions | None = None,
    token_str: Callable[[int], str] = str,
    title: str = "P(next token | state)",
) -> go.Figure:
    """The same information as a table of colours, for state spaces too big to draw as a graph."""
    probs = np.asarray(probs, dtype=float)
    names = [_name(s, token_str) for s in states]
    tokens = [token_str(t) for t in range(probs.shape[1])]
    text = [[f"{p * 100:.0f}%" for p in row] for row in probs]
    if transitions is not None:
        for i, s in enumerate(states):
            data = transitions.probs(s, probs.shape[1])
            if data is not None:
                text[i] = [f"{p * 100:.0f}% (data {q * 100:.0f}%)" for p, q in zip(probs[i], data,
                                                                                   strict=True)]
    data = [dict(type="heatmap", z=probs, x=tokens, y=names, zmin=0, zmax=1,
                 colorscale=fast.colorscale(HEAT_SCALE), customdata=text,
                 hovertemplate="state %{y} → %{x}: %{customdata}<extra></extra>",
                 colorbar=dict(title=dict(text="P")))]
    layout = _heatmap_layout(max(300, 26 * len(states) + 120))
    layout["title"]["text"] = title  # the title changes every redraw (it names the step)
    return fast.figure(data, layout)


@layout_cache
def _heatmap_layout(height: int) -> go.Figure:
    """Redrawn live: built once per height, see viz/fast.py."""
    fig = go.Figure()
    fig.update_layout(**base_layout("", height=height))
    fig.update_xaxes(title_text="next token", type="category")
    fig.update_yaxes(title_text="state (last tokens)", autorange="reversed", type="category")
    return fig
