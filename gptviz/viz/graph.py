"""GPT as a finite-state Markov chain (document 000): states, and edges to next states.

`state_graph` returns a graphviz Digraph without drawing it (micrograd's `draw_dot` habit).
States are drawn by how training treats them (analysis.state_kind): blue if the loss scores
them, grey dashed if they never occur in the data, orange dotted if they occur but are never
scored (the shorter prefixes when only the last position is scored). The words for people
(tooltips, legend) are here once, for this graph and the plotly circle (viz/network.py).
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

from gptviz.analysis import State, StateKind, Transitions, next_state, state_kind
from gptviz.i18n import N_, _
from gptviz.viz import fast
from gptviz.viz.fast import layout_cache
from gptviz.viz.style import (
    EDGE_COLOR,
    HEAT_SCALE,
    NOT_SCORED_FILL,
    NOT_SCORED_LINE,
    SEEN_FILL,
    SEEN_LINE,
    UNSEEN_FILL,
    UNSEEN_LINE,
    base_layout,
)

MAX_GRAPH_STATES = 64  # beyond this a graph stops being readable (and slow to lay out)
MAX_LABELLED_STATES = 16  # edge labels only while they fit


# fill, outline and graphviz style of each kind of state (None: no data given, plain grey)
KIND_STYLE: dict[StateKind | None, tuple[str, str, str]] = {
    "trained": (SEEN_FILL, SEEN_LINE, "filled"),
    "unseen": (UNSEEN_FILL, UNSEEN_LINE, "filled,dashed"),
    "not scored": (NOT_SCORED_FILL, NOT_SCORED_LINE, "filled,dotted"),
    None: (UNSEEN_FILL, UNSEEN_LINE, "filled"),
}
# the legend under a drawing with "not scored" states, one line per entry (marked: shown
# translated, with not_scored_legend())
NOT_SCORED_LEGEND = (N_("Orange: the shorter prefixes. They occur in the data (each window "
                        "starts with them),"),
                     N_("but only the last position is scored, so the model is never trained "
                        "on them: their arrows are untrained guesses."))


def not_scored_legend() -> tuple[str, ...]:
    """NOT_SCORED_LEGEND's lines in the reader's language."""
    return tuple(_(line) for line in NOT_SCORED_LEGEND)


# the "trained on" column of a table of states (marked: shown with _(TRAINED_ON[kind]))
TRAINED_ON: dict[StateKind, str] = {
    "trained": N_("yes"),
    "unseen": N_("no: not in the data"),
    "not scored": N_("no: prefix, not scored"),
}


def _name(state: State, token_str: Callable[[int], str]) -> str:
    return "".join(token_str(t) for t in state) or "∅"


def state_tip(state: State, context: int, transitions: Transitions, last_only: bool,
              token_str: Callable[[int], str] = str) -> str:
    """What a student reads on hovering a state: what it is, how often the data has it, and
    whether the model is trained on it."""
    name = _name(state, token_str)
    n = transitions.total(state)
    if len(state) < context:
        tip = _("prefix {name}: seen {n} times in the data (at the start of a window)")
    else:
        tip = _("state {name}: seen {n} times in the data")
    tip = tip.format(name=name, n=n)
    if state_kind(state, context, transitions, last_only) == "not scored":
        tip += _("; not scored: only the last position is scored, so the model is never "
                 "trained on contexts shorter than {context}").format(context=context)
    return tip


def data_note(kind: StateKind | None, data_q: float) -> str:
    """The data's side of an arrow: "data q%", the frequency of its token after its state in the
    data, or for a state the loss never scores "not scored (in the data's windows: q%)"."""
    if kind == "not scored":
        return _("not scored (in the data's windows: {q:.0f}%)").format(q=data_q * 100)
    return _("data {q:.0f}%").format(q=data_q * 100)


def state_graph(
    states: Sequence[State],
    probs: np.ndarray,
    context: int,
    transitions: Transitions | None = None,
    token_str: Callable[[int], str] = str,
    min_prob: float = 0.0,
    last_only: bool = False,
) -> Digraph:
    """states[i] -> next_state(states[i], t) for each token t, labelled `t(p%)`.

    probs: (len(states), V) model probabilities. transitions: what follows each state in the
    data's windows, at every position (analysis.window_transitions), drawn as `data q%` beside
    the model's number; states never seen in the data are dashed and grey. last_only: the loss
    scores only the last position, so states shorter than context are never trained on: they
    are drawn orange and dotted, their arrows carry only the model's number (the data's is in
    the tooltip) and a legend under the graph says why.
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
    kinds: list[StateKind | None] = [
        None if transitions is None else state_kind(s, context, transitions, last_only)
        for s in states]
    for i, s in enumerate(states):
        angle = math.pi / 2 - 2 * math.pi * i / len(states)
        kind = kinds[i]
        fill, line, style = KIND_STYLE[kind]
        attrs = dict(fillcolor=fill, color=line, style=style)
        if kind == "not scored":
            attrs["penwidth"] = "2"
        if not labelled:
            attrs["pos"] = f"{radius * math.cos(angle):.3f},{radius * math.sin(angle):.3f}!"
        tip = (_("state {name}").format(name=_name(s, token_str)) if transitions is None
               else state_tip(s, context, transitions, last_only, token_str))
        dot.node(_name(s, token_str), tooltip=tip, **attrs)
    if "not scored" in kinds:
        dot.attr(label="\\n".join(not_scored_legend()), labelloc="b", fontname="Helvetica",
                 fontsize="14", fontcolor=NOT_SCORED_LINE)  # \\n: a line break in DOT
    for i, s in enumerate(states):
        data = transitions.probs(s, vocab) if transitions is not None else None
        for t in range(vocab):
            nxt = next_state(s, t, context)
            p = float(probs[i, t])
            if nxt not in present or p < min_prob:
                continue
            label = f"{token_str(t)}({p * 100:.0f}%)"
            tip = label
            if data is not None:
                sep = " · " if kinds[i] == "not scored" else " "
                tip += sep + data_note(kinds[i], data[t])
                if kinds[i] != "not scored":
                    label = tip  # the data's number beside the model's, on the arrow itself
            dot.edge(
                _name(s, token_str), _name(nxt, token_str),
                label=label if labelled else "", tooltip=tip,
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
    title: str = N_("P(next token | state)"),
) -> go.Figure:
    """The same information as a table of colours, for state spaces too big to draw as a graph."""
    title = _(title)
    probs = np.asarray(probs, dtype=float)
    names = [_name(s, token_str) for s in states]
    tokens = [token_str(t) for t in range(probs.shape[1])]
    text = [[f"{p * 100:.0f}%" for p in row] for row in probs]
    if transitions is not None:
        for i, s in enumerate(states):
            data = transitions.probs(s, probs.shape[1])
            if data is not None:
                cell = _("{p:.0f}% (data {q:.0f}%)")
                text[i] = [cell.format(p=p * 100, q=q * 100)
                           for p, q in zip(probs[i], data, strict=True)]
    data = [dict(type="heatmap", z=probs, x=tokens, y=names, zmin=0, zmax=1,
                 colorscale=fast.colorscale(HEAT_SCALE), customdata=text,
                 # %{y}, %{x}, %{customdata}: plotly's, kept as they are in the translation
                 hovertemplate=_("state %{y} → %{x}: %{customdata}") + "<extra></extra>",
                 colorbar=dict(title=dict(text="P")))]
    layout = _heatmap_layout(max(300, 26 * len(states) + 120))
    layout["title"]["text"] = title  # the title changes every redraw (it names the step)
    return fast.figure(data, layout)


@layout_cache
def _heatmap_layout(height: int) -> go.Figure:
    """Redrawn live: built once per height, see viz/fast.py."""
    fig = go.Figure()
    fig.update_layout(**base_layout("", height=height))
    fig.update_xaxes(title_text=_("next token"), type="category")
    fig.update_yaxes(title_text=_("state (last tokens)"), autorange="reversed", type="category")
    return fig
