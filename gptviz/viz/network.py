"""The state graph as a plotly figure, for state spaces too big for a labelled graphviz drawing.

Above MAX_LABELLED_STATES the graphviz graph loses its edge labels anyway, and its live redraw
cost about a second in the browser for 64 states (graphviz lays out and draws in WebAssembly on
every update), so it lagged training. Here the nodes sit at fixed places on a circle, computed
once; a redraw only changes the edges' widths and opacities, which plotly redraws in tens of
milliseconds. Same reading as the graphviz graph: one arrow per (state, next token), thicker and
darker with probability; states seen in the data blue, unseen grey, never scored (shorter
prefixes when only the last position is scored) orange; hover gives the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go

from gptviz.analysis import State, StateKind, Transitions, next_state, state_kind
from gptviz.viz import fast
from gptviz.viz.fast import layout_cache
from gptviz.viz.graph import KIND_STYLE, NOT_SCORED_LEGEND, data_note, state_tip
from gptviz.viz.style import EDGE_COLOR, NOT_SCORED_LINE, base_layout

MAX_NETWORK_STATES = 128
NODE_RADIUS = 0.03  # in the circle's units (radius 1): where an arrow stops short of a node
PROB_BINS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0001)  # one trace per bin of edge probability


def circle_positions(n: int, stagger: bool = False) -> np.ndarray:
    """(n, 2) points on the unit circle, the first at the top, going clockwise. stagger: every
    other point moves in to radius 0.86, so twice as many labels fit around the circle."""
    angles = math.pi / 2 - 2 * math.pi * np.arange(n) / max(n, 1)
    radius = np.where(np.arange(n) % 2 == 1, 0.86, 1.0) if stagger else np.ones(n)
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def _text_position(x: float, y: float) -> str:
    """Put a node's label outside the circle, on the side facing away from the centre."""
    vertical = "top" if y > 0.35 else "bottom" if y < -0.35 else "middle"
    horizontal = "right" if x > 0.35 else "left" if x < -0.35 else "center"
    return f"{vertical} {horizontal}" if vertical != "middle" or horizontal != "center" \
        else "top center"


def _name(state: State, token_str: Callable[[int], str]) -> str:
    return "".join(token_str(t) for t in state) or "∅"


def _edge_geometry(a: np.ndarray, b: np.ndarray) -> tuple[list[float], list[float], float]:
    """Segment (or, for a self-loop, a small outward loop) from node a to node b, plus the angle
    of the arrowhead in plotly's convention (degrees clockwise from up)."""
    if np.allclose(a, b):
        out = a / (np.linalg.norm(a) or 1.0)  # loop on the outside of the circle
        centre = a + out * 2.2 * NODE_RADIUS
        side = np.array([-out[1], out[0]])
        t = np.linspace(0.25 * math.pi, 1.75 * math.pi, 16)
        pts = centre[None, :] - out[None, :] * (1.2 * NODE_RADIUS * np.cos(t))[:, None] \
            + side[None, :] * (1.2 * NODE_RADIUS * np.sin(t))[:, None]
        d = pts[-1] - pts[-2]
        return pts[:, 0].tolist(), pts[:, 1].tolist(), math.degrees(math.atan2(d[0], d[1]))
    d = b - a
    length = float(np.linalg.norm(d))
    u = d / length
    start, end = a + u * NODE_RADIUS, b - u * 1.6 * NODE_RADIUS
    return [start[0], end[0]], [start[1], end[1]], math.degrees(math.atan2(u[0], u[1]))


def state_network_figure(
    states: Sequence[State],
    probs: np.ndarray,
    context: int,
    transitions: Transitions | None = None,
    token_str: Callable[[int], str] = str,
    title: str = "",
    min_prob: float = 0.0,
    last_only: bool = False,
) -> go.Figure:
    """states[i] -> next_state(states[i], t) for each token t, as arrows whose width and opacity
    follow the model's probability probs[i, t]. probs: (len(states), V).

    transitions and last_only as for graph.state_graph: the data's counts at every position of
    its windows, and whether only the last position is scored (then the shorter states are
    drawn orange, "not scored", with a legend under the circle)."""
    if len(states) > MAX_NETWORK_STATES:
        raise ValueError(f"{len(states)} states is too many to draw (limit {MAX_NETWORK_STATES})")
    probs = np.asarray(probs, dtype=float)
    if probs.shape[0] != len(states):
        raise ValueError(f"probs has {probs.shape[0]} rows for {len(states)} states")
    vocab = probs.shape[1]
    pos = circle_positions(len(states), stagger=len(states) > 32)
    index = {s: i for i, s in enumerate(states)}
    names = [_name(s, token_str) for s in states]
    kinds: list[StateKind | None] = [
        None if transitions is None else state_kind(s, context, transitions, last_only)
        for s in states]

    bins: list[tuple[list, list]] = [([], []) for _ in PROB_BINS[:-1]]
    heads: dict[str, list] = {k: [] for k in ("x", "y", "angle", "size", "opacity", "text")}
    for i, s in enumerate(states):
        data = transitions.probs(s, vocab) if transitions is not None else None
        for t in range(vocab):
            j = index.get(next_state(s, t, context))
            p = float(probs[i, t])
            if j is None or p < min_prob:
                continue
            xs, ys, angle = _edge_geometry(pos[i], pos[j])
            b = int(np.searchsorted(PROB_BINS, p, side="right")) - 1
            bins[b][0].extend([*xs, None])
            bins[b][1].extend([*ys, None])
            text = f"{names[i]} → {names[j]}: token {token_str(t)}, model {p:.0%}"
            if data is not None:
                text += ", " + data_note(kinds[i], data[t])
            heads["x"].append(xs[-1])
            heads["y"].append(ys[-1])
            heads["angle"].append(angle)
            heads["size"].append(7 + 9 * p)
            heads["opacity"].append(0.25 + 0.75 * p)
            heads["text"].append(text)

    data_traces: list[dict] = []
    for b, (xs, ys) in enumerate(bins):
        if not xs:
            continue
        mid = (PROB_BINS[b] + min(PROB_BINS[b + 1], 1.0)) / 2
        data_traces.append(dict(
            type="scatter", mode="lines", x=xs, y=ys, hoverinfo="skip", showlegend=False,
            line=dict(color=EDGE_COLOR, width=0.5 + 3 * mid), opacity=0.15 + 0.85 * mid))
    data_traces.append(dict(
        type="scatter", mode="markers", x=heads["x"], y=heads["y"], text=heads["text"],
        hovertemplate="%{text}<extra></extra>", showlegend=False,
        marker=dict(symbol="triangle-up", angle=heads["angle"], size=heads["size"],
                    opacity=heads["opacity"], color=EDGE_COLOR, line=dict(width=0))))
    styles = [KIND_STYLE[k] for k in kinds]
    tips = [f"state {n}" if transitions is None
            else state_tip(s, context, transitions, last_only, token_str)
            for n, s in zip(names, states, strict=True)]
    data_traces.append(dict(
        type="scatter", mode="markers+text", x=pos[:, 0].tolist(), y=pos[:, 1].tolist(),
        text=names, textposition=[_text_position(x, y) for x, y in pos],
        textfont=dict(size=12), customdata=tips,
        hovertemplate="%{customdata}<extra></extra>", showlegend=False,
        marker=dict(size=16, color=[fill for fill, _, _ in styles],
                    line=dict(color=[line for _, line, _ in styles],
                              width=[2.5 if k == "not scored" else 1.5 for k in kinds]))))
    layout = _network_layout()
    layout["title"]["text"] = title
    if "not scored" in kinds:  # under the circle, in a taller bottom margin
        layout["margin"]["b"] = 60
        layout["annotations"] = [dict(
            text="<br>".join(NOT_SCORED_LEGEND), x=0.5, y=0.0, xref="paper", yref="paper",
            xanchor="center", yanchor="top", yshift=-4, showarrow=False,
            font=dict(size=13, color=NOT_SCORED_LINE))]
    return fast.figure(data_traces, layout)


@layout_cache
def _network_layout() -> go.Figure:
    """Redrawn live: built once, see viz/fast.py."""
    fig = go.Figure()
    fig.update_layout(**base_layout("", height=720))
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=10), hovermode="closest")
    axis = dict(visible=False, range=[-1.3, 1.3], fixedrange=True)
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis, scaleanchor="x", scaleratio=1)
    return fig
