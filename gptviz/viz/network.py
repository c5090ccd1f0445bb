"""The state graph as a plotly figure: chain_figure, one clickable drawing for every size up to 64
states (labelled arrows up to 16), and state_network_figure, the unlabelled circle it replaces.

Above MAX_LABELLED_STATES the graphviz graph loses its edge labels anyway, and its live redraw
cost about a second in the browser for 64 states (graphviz lays out and draws in WebAssembly on
every update), so it lagged training. Here the nodes sit at fixed places on a circle, computed
once; a redraw only changes the edges' widths and opacities, which plotly redraws in tens of
milliseconds. Same reading as the graphviz graph: one arrow per (state, next token), thicker and
darker with probability; states seen in the data blue, unseen grey, never scored (shorter
prefixes when only the last position is scored) orange; hover gives the numbers.
"""

from __future__ import annotations

import functools
import itertools
import math
import textwrap
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from gptviz.analysis import State, StateKind, Transitions, next_state, state_kind
from gptviz.i18n import _
from gptviz.viz import fast
from gptviz.viz.fast import layout_cache
from gptviz.viz.graph import (
    KIND_STYLE,
    MAX_GRAPH_STATES,
    MAX_LABELLED_STATES,
    data_note,
    not_scored_legend,
    state_tip,
)
from gptviz.viz.style import (
    DIM_OPACITY,
    DIM_TEXT_COLOR,
    EDGE_COLOR,
    FONT_SIZE,
    GRAPH_LABEL_SIZE,
    GRAPH_NAME_SIZE,
    GRAPH_WIDTH_PX,
    HIGHLIGHT_COLOR,
    NOT_SCORED_LINE,
    PATH_COLOR,
    TITLE_SIZE,
    base_layout,
)

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
    drawn orange, "not scored", with a legend under the circle). chain_figure draws the same
    arrows at every size, labelled, clickable and readable on a projector."""
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

    arrow_text = _("{src} → {dst}: token {token}, model {p:.0%}")
    bins: list[tuple[list, list]] = [([], []) for _b in PROB_BINS[:-1]]
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
            text = arrow_text.format(src=names[i], dst=names[j], token=token_str(t), p=p)
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
    tips = [_("state {name}").format(name=n) if transitions is None
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
            text="<br>".join(not_scored_legend()), x=0.5, y=0.0, xref="paper", yref="paper",
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


# --- chain_figure: the one drawing for every size up to 64 states, clickable --------------------
#
# Geometry (where nodes, arrows, labels and step numbers go) depends only on the set of states and
# the type size, so it is computed once per set (_chain_drawing, cached) and every live redraw only
# reads the probabilities into colours, widths and label texts (a few ms for 64 states). Sizes
# are in px where the browser fixes them (text, markers) and in the circle's units elsewhere; the
# drawing's ppu (px per unit) links the two for a square plot: PLOT_PX, the figure being
# GRAPH_WIDTH_PX wide, or the height given less the margins.

CHAIN_RANGE = 1.45  # the axes show [-CHAIN_RANGE, CHAIN_RANGE]: the unit circle, loops and labels
SIDE_MARGIN = 10  # px left and right of the plot
PLOT_PX = GRAPH_WIDTH_PX - 2 * SIDE_MARGIN
BEND = 0.22  # labelled arrows bow to their right by this fraction of their length, so the two
#              arrows between a pair of states (and their labels) part instead of overlapping
MAX_LABELLED_EDGES = 40  # beyond, labels pile up (V=8, T=1: 39 overlapping pairs of 64 at 14 px)
CHAR_EM = 0.6  # mean width of a character (Helvetica digits 0.56 em, "%" 0.89 em), for sizes
SMALL_NODE_PX = 14  # node diameter above MAX_LABELLED_STATES (names then sit outside the circle)
LABEL_HALO = "0px 0px 3px white, 0px 0px 3px white, 0px 0px 2px white"  # text readable over lines


@dataclass(frozen=True, eq=False)
class _Drawing:
    """Where everything of one chain goes. Cached and shared between redraws: never mutated."""

    ppu: float  # px per unit of the circle
    pos: np.ndarray  # (S, 2) node centres
    node_px: float  # node diameter, px
    src: np.ndarray  # (E,) each arrow's state
    tok: np.ndarray  # (E,) its token
    dst: np.ndarray  # (E,) its next state
    xs: tuple[list[float], ...]  # each arrow's line, from its state's rim up to (not incl.) the tip
    ys: tuple[list[float], ...]
    tip: np.ndarray  # (E, 2) where the arrowhead's point touches the next state
    back: np.ndarray  # (E, 2) unit vector from the tip back along the arrow
    angle: np.ndarray  # (E,) the arrowhead's angle (plotly: degrees clockwise from up)
    label_at: np.ndarray | None  # (E, 2) label centres; None when arrows are not labelled
    step_at: np.ndarray  # (E, 2) where a walk's step numbers go on each arrow
    edge_of: dict[tuple[int, int], int]  # (state, next state) -> arrow
    names: tuple[tuple[float, float, str, float, float], ...]  # radial state names (x, y, text,
    #   angle, size), only when not labelled


@functools.lru_cache(maxsize=32)
def _arrows(states: tuple[State, ...], context: int,
            vocab: int) -> tuple[tuple[int, int, int], ...]:
    """(state, token, next state) for every token whose next state is drawn."""
    index = {s: i for i, s in enumerate(states)}
    return tuple((i, t, index[n]) for i, s in enumerate(states) for t in range(vocab)
                 if (n := next_state(s, t, context)) in index)


def _circle_order(n: int, arrows: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """Slot on the circle of each state: pairwise swaps, from the given order, while they shorten
    the arrows in total. Short arrows run near the rim and leave the middle to the long ones
    (document 000's eight states: a de Bruijn cycle round the rim, as circo draws it)."""
    w = np.zeros((n, n))
    for i, _tok, j in arrows:
        if i != j:
            w[i, j] += 1
            w[j, i] += 1
    p = circle_positions(n)
    chord = np.linalg.norm(p[:, None, :] - p[None, :, :], axis=2)
    slot = np.arange(n)

    def cost(s: np.ndarray) -> float:
        return float((w * chord[np.ix_(s, s)]).sum())

    best, improved = cost(slot), True
    while improved:
        improved = False
        for a in range(n):
            for b in range(a + 1, n):
                slot[a], slot[b] = slot[b], slot[a]
                c = cost(slot)
                if c < best - 1e-9:
                    best, improved = c, True
                else:
                    slot[a], slot[b] = slot[b], slot[a]
    return slot


def _clip(pts: np.ndarray, centre: np.ndarray, r: float, at_end: bool) -> np.ndarray:
    """The polyline without its part inside the disc at one end, ending exactly on the rim."""
    if at_end:
        return _clip(pts[::-1], centre, r, False)[::-1]
    d = np.linalg.norm(pts - centre, axis=1)
    k = int(np.argmax(d >= r))
    if k == 0:
        return pts
    f = (r - d[k - 1]) / (d[k] - d[k - 1])
    return np.vstack([pts[k - 1] + f * (pts[k] - pts[k - 1]), pts[k:]])


def _loop(centre: np.ndarray, r: float, loop_r: float, u: np.ndarray) -> np.ndarray:
    """A self-loop: a circle of radius loop_r sticking out of the node in direction u."""
    c = centre + u * (r + 0.35 * loop_r)
    v = np.array([-u[1], u[0]])
    phi = np.linspace(0.0, 2 * math.pi, 73)  # phi = 0 points back into the node
    return c - np.outer(np.cos(phi), u) * loop_r + np.outer(np.sin(phi), v) * loop_r


def _along(pts: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """The point at fraction s of the polyline's length, and the unit normal to its left."""
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    at = np.concatenate([[0.0], np.cumsum(seg)]) / max(seg.sum(), 1e-12)
    k = min(int(np.searchsorted(at, s, side="right")) - 1, len(seg) - 1)
    f = (s - at[k]) / max(at[k + 1] - at[k], 1e-12)
    d = (pts[k + 1] - pts[k]) / max(seg[k], 1e-12)
    return pts[k] + f * (pts[k + 1] - pts[k]), np.array([-d[1], d[0]])


def _place_labels(lines: list[np.ndarray], loops: list[tuple[int, np.ndarray, float] | None],
                  pos: np.ndarray, node_r: float, heads: np.ndarray, head_r: float,
                  sizes: np.ndarray) -> np.ndarray:
    """A centre for each arrow's label box (sizes: (E, 2) widths and heights, in units).

    Each label has candidates along its arrow (on it, or beside it) or, for a self-loop (node,
    outward direction, reach of the loop), beyond its loop. Each is charged for the nodes, the
    arrowheads and the other labels it overlaps, other arrows' lines it covers, the plot's edge,
    and for straying from the arrow's middle. Greedy (self-loops first), then each label moved to
    its best place given all the others, a few times over."""
    n = len(lines)
    if n == 0:
        return np.zeros((0, 2))
    cands: list[np.ndarray] = []
    fixed: list[np.ndarray] = []  # cost of each candidate that does not depend on other labels
    own = np.concatenate([np.full(len(pts), e) for e, pts in enumerate(lines)])
    points = np.concatenate(lines)  # every arrow's line, as points
    for e in range(n):
        w, h = sizes[e]
        c, prefs = [], []
        if loops[e] is not None:  # beyond the loop, or turned a little round its node
            i, u0, reach = loops[e]
            for k, turn in enumerate((0.0, 0.4, -0.4, 0.8, -0.8, 1.2, -1.2)):
                cs, sn = math.cos(turn), math.sin(turn)
                u = np.array([cs * u0[0] - sn * u0[1], sn * u0[0] + cs * u0[1]])
                half = 0.5 * (abs(u[0]) * w + abs(u[1]) * h)
                c.append(pos[i] + u * (reach + half + 0.15 * h))
                prefs.append(0.25 * k)
        else:  # near the middle of the arrow, on it or beside it
            for k, s in enumerate((0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74)):
                mid, normal = _along(lines[e], s)
                for m, off in enumerate((0.0, 0.6, -0.6, 1.2, -1.2)):
                    c.append(mid + normal * off * max(w, h))
                    prefs.append(0.12 * k + 0.2 * m)
        c = np.array(c)
        box = _boxes(c, w, h)
        cost = np.array(prefs)
        for centres, reach in ((pos, 1.1 * node_r), (heads, head_r)):
            nx = np.clip(centres[None, :, 0], box[:, None, 0], box[:, None, 2])
            ny = np.clip(centres[None, :, 1], box[:, None, 1], box[:, None, 3])
            d = np.hypot(nx - centres[None, :, 0], ny - centres[None, :, 1])
            cost += 10 * np.clip(reach - d, 0, None).sum(axis=1) / reach
        cover = ((points[None, :, 0] > box[:, None, 0]) & (points[None, :, 0] < box[:, None, 2])
                 & (points[None, :, 1] > box[:, None, 1]) & (points[None, :, 1] < box[:, None, 3])
                 & (own[None, :] != e))
        cost += 0.08 * cover.sum(axis=1)
        # a label belongs to the nearest arrow, to a reader: make that its own
        d = np.hypot(c[:, None, 0] - points[None, :, 0], c[:, None, 1] - points[None, :, 1])
        mine = own[None, :] == e
        near_own = np.where(mine, d, np.inf).min(axis=1)
        near_other = np.where(mine, np.inf, d).min(axis=1) if n > 1 else np.full(len(c), np.inf)
        cost += 3 * np.clip(near_own - near_other + 0.5 * h, 0, None) / h
        cost += 20 * np.clip(np.abs(box) - CHAIN_RANGE, 0, None).sum(axis=1) / min(w, h)
        cands.append(c)
        fixed.append(cost)

    choice = np.zeros(n, dtype=int)
    placed = np.full((n, 4), np.nan)  # the chosen boxes; NaN: not placed yet
    order = [e for e in range(n) if loops[e] is not None] + \
        [e for e in range(n) if loops[e] is None]
    for sweep in range(4):
        moved = False
        for e in order:
            others = np.delete(placed, e, axis=0)
            others = others[~np.isnan(others[:, 0])]
            box = _boxes(cands[e], *sizes[e])
            ox = np.clip(np.minimum(box[:, None, 2], others[None, :, 2])
                         - np.maximum(box[:, None, 0], others[None, :, 0]), 0, None)
            oy = np.clip(np.minimum(box[:, None, 3], others[None, :, 3])
                         - np.maximum(box[:, None, 1], others[None, :, 1]), 0, None)
            cost = fixed[e] + 10 * (ox * oy).sum(axis=1) / (sizes[e][0] * sizes[e][1])
            best = int(np.argmin(cost))
            moved |= sweep > 0 and best != choice[e]
            choice[e] = best
            placed[e] = box[best]
        if sweep > 0 and not moved:
            break
    return np.array([cands[e][choice[e]] for e in range(n)]).reshape(-1, 2)


def _boxes(c: np.ndarray, w: float, h: float) -> np.ndarray:
    """(x0, y0, x1, y1) of w x h boxes centred on the points c."""
    return np.stack([c[:, 0] - w / 2, c[:, 1] - h / 2, c[:, 0] + w / 2, c[:, 1] + h / 2], 1)


def _head_px(p: np.ndarray, font_scale: float) -> np.ndarray:
    """Arrowhead size (px) of arrows of probability p."""
    return (9.0 + 9.0 * p) * font_scale


@functools.lru_cache(maxsize=32)
def _chain_drawing(names: tuple[str, ...], arrows: tuple[tuple[int, int, int], ...],
                   label_sizes: tuple[tuple[int, int], ...] | None, font_scale: float,
                   plot_px: float) -> _Drawing:
    """label_sizes: (characters, lines) of each arrow's longest possible label, or None for no
    labels. Labelled drawings put the states in the order that shortens the arrows, names inside
    the nodes, and curve the arrows; unlabelled ones keep the states' order round the circle (as
    state_network_figure), small nodes with their names outside, straight arrows."""
    n = len(names)
    ppu = plot_px / (2 * CHAIN_RANGE)
    labelled = label_sizes is not None
    if labelled:
        pos = circle_positions(n)[_circle_order(n, arrows)]
        name_px = GRAPH_NAME_SIZE * font_scale
        node_px = max(2.0 * name_px, CHAR_EM * name_px * max(map(len, names)) + 0.9 * name_px)
        if n > 1:  # neighbours on the circle must not touch
            node_px = min(node_px, 0.8 * ppu * 2 * math.sin(math.pi / n))
    else:
        pos = circle_positions(n)
        node_px = SMALL_NODE_PX * font_scale
    r = 0.5 * node_px / ppu
    loop_r = max(0.6 * r, 8.0 * font_scale / ppu)
    src, tok, dst = (np.array([a[k] for a in arrows], dtype=int).reshape(-1) for k in range(3))
    lines, loops = [], []
    for i, _tok, j in arrows:
        out = pos[i] / (np.linalg.norm(pos[i]) or 1.0)
        if i == j:  # outside the circle when labelled (the names are inside the nodes), else in
            u = out if labelled else -out
            pts = _loop(pos[i], r, loop_r, u)
            loops.append((i, u, r + 1.35 * loop_r))
        else:
            a, b = pos[i], pos[j]
            if labelled:
                d = b - a
                ctrl = (a + b) / 2 + BEND * np.array([d[1], -d[0]])  # bow to the arrow's right
                t = np.linspace(0.0, 1.0, 33)[:, None]
                pts = (1 - t) ** 2 * a + 2 * (1 - t) * t * ctrl + t ** 2 * b
            else:
                pts = np.stack([a, b])
            loops.append(None)
        pts = _clip(_clip(pts, pos[i], r, at_end=False), pos[j], r, at_end=True)
        lines.append(pts)
    tip = np.array([pts[-1] for pts in lines]).reshape(-1, 2)
    back = np.array([(pts[-2] - pts[-1]) / np.linalg.norm(pts[-2] - pts[-1]) for pts in lines])
    back = back.reshape(-1, 2)
    angle = np.degrees(np.arctan2(-back[:, 0], -back[:, 1]))
    label_at = None
    if labelled:
        label_px = GRAPH_LABEL_SIZE * font_scale
        sizes = np.array([((CHAR_EM * chars + 0.4) * label_px / ppu, (1.25 * rows) * label_px / ppu)
                          for chars, rows in label_sizes]).reshape(-1, 2)
        head_max = _head_px(np.array(1.0), font_scale) / ppu
        label_at = _place_labels(lines, loops, pos, r, tip + back * 0.5 * head_max,
                                 0.5 * head_max, sizes)
    # a walk's step numbers: on the loop's far side, or a quarter of the way along the arrow
    step_at = np.array([pos[lp[0]] + lp[1] * lp[2] if lp is not None else _along(pts, 0.25)[0]
                        for pts, lp in zip(lines, loops, strict=True)]).reshape(-1, 2)
    notes: list[tuple[float, float, str, float, float]] = []
    if not labelled:  # radial names: 64 of them fit round the circle at 14 px, level ones do not
        size = (GRAPH_NAME_SIZE if n <= 32 else GRAPH_LABEL_SIZE) * font_scale
        for (x, y), name in zip(pos, names, strict=True):
            theta = math.degrees(math.atan2(y, x))
            reach = r + (0.4 * size + 0.5 * CHAR_EM * size * len(name)) / ppu
            turn = -theta if x >= -1e-9 else 180 - theta  # left half: not upside down
            notes.append((float(x * (1 + reach)), float(y * (1 + reach)), name,
                          (turn + 180) % 360 - 180, size))  # in [-180, 180), as plotly keeps it
    return _Drawing(
        ppu=ppu, pos=pos, node_px=node_px, src=src, tok=tok, dst=dst,
        xs=tuple(pts[:-1, 0].tolist() for pts in lines),
        ys=tuple(pts[:-1, 1].tolist() for pts in lines), tip=tip, back=back, angle=angle,
        label_at=label_at, step_at=step_at, names=tuple(notes),
        edge_of={(int(i), int(j)): e for e, (i, _, j) in enumerate(arrows)})


def chain_figure(
    states: Sequence[State],
    probs: np.ndarray,
    context: int,
    transitions: Transitions | None = None,
    token_str: Callable[[int], str] = str,
    *,
    title: str = "",
    subtitle: str = "",
    selected: int | None = None,
    path: Sequence[int] | None = None,
    font_scale: float = 1.0,
    height: int | None = None,
    min_prob: float = 0.0,
    last_only: bool = False,
) -> go.Figure:
    """The Markov chain of a GPT with context `context`: states[i] -> next_state(states[i], t)
    for each token t, one arrow each, wider and darker with the model's probability probs[i, t].
    probs: (len(states), V), at whatever temperature the caller sampled (say so in subtitle).

    Up to MAX_LABELLED_STATES states (and MAX_LABELLED_EDGES arrows) every arrow is labelled
    `t(p%)`, with `data q%` under it where the data has the state (graph.state_graph's labels,
    and its words for states that are never scored); above, arrows carry their numbers on hover.
    transitions, last_only and min_prob as for graph.state_graph.

    Clickable: the nodes are the last trace, one point per state, customdata its index in
    `states` (clicked_state reads it back from st.plotly_chart's selection). selected: that
    state and its arrows are highlighted, the other arrows dimmed. path: state indices of a walk
    through the chain, drawn as a trail with its step numbers and the last state ringed.
    font_scale: every text and node grows by it (PRESENTER_SCALE for presenter mode); at 1 no
    text is under MIN_TEXT_SIZE px. height: px; by default the plot is square for a figure
    GRAPH_WIDTH_PX wide, and a given height assumes the figure is at least that wide.
    """
    n = len(states)
    if n == 0:
        raise ValueError("no states to draw")
    if n > MAX_GRAPH_STATES:
        raise ValueError(f"{n} states is too many to draw (limit {MAX_GRAPH_STATES})")
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape[0] != n:
        raise ValueError(f"probs has {probs.shape[0]} rows for {n} states")
    if selected is not None and not 0 <= selected < n:
        raise ValueError(f"selected state {selected} is not one of the {n} states")
    if font_scale <= 0:
        raise ValueError(f"font_scale must be positive, got {font_scale}")
    vocab = probs.shape[1]
    names = tuple(_name(s, token_str) for s in states)
    toks = [token_str(t) for t in range(vocab)]
    kinds: list[StateKind | None] = [
        None if transitions is None else state_kind(s, context, transitions, last_only)
        for s in states]
    data = [None if transitions is None else transitions.probs(s, vocab) for s in states]
    arrows = _arrows(tuple(states), context, vocab)
    labelled = n <= MAX_LABELLED_STATES and len(arrows) <= MAX_LABELLED_EDGES
    # the data's number goes under the model's on the arrow, except for states never scored
    two_rows = [data[i] is not None and kinds[i] != "not scored" for i in range(n)]
    label_sizes = tuple((max(len(toks[t]) + 6, 9 if two_rows[i] else 0), 1 + two_rows[i])
                        for i, t, _ in arrows) if labelled else None

    label_px = GRAPH_LABEL_SIZE * font_scale
    legend = _wrap(not_scored_legend(), int(PLOT_PX / (0.52 * label_px))) \
        if "not scored" in kinds else []
    top = round(16 + ((1.5 * TITLE_SIZE if title or subtitle else 0)
                      + (1.4 * GRAPH_LABEL_SIZE if subtitle else 0)) * font_scale)
    bottom = round(10 + 1.3 * label_px * len(legend))
    if height is None:
        height = PLOT_PX + top + bottom
    plot_px = height - top - bottom
    if plot_px < 100:
        raise ValueError(f"height {height} leaves no room for the plot")
    dr = _chain_drawing(names, arrows, label_sizes, float(font_scale), float(plot_px))

    p = probs[dr.src, dr.tok] if len(arrows) else np.zeros(0)
    shown = p >= min_prob
    mine = dr.src == selected if selected is not None else np.zeros(len(p), dtype=bool)
    head_px = _head_px(p, font_scale)
    head = dr.tip + dr.back * (0.5 * head_px / dr.ppu)[:, None]  # marker centres
    traces: list[dict] = []

    walk = [] if path is None else [int(k) for k in path]
    steps: dict[int, list[int]] = {}  # arrow -> the walk's steps along it
    for k, (a, b) in enumerate(itertools.pairwise(walk), start=1):
        if not (0 <= a < n and 0 <= b < n) or (a, b) not in dr.edge_of:
            raise ValueError(f"path step {k}: {a} -> {b} is not an arrow of the chain")
        steps.setdefault(dr.edge_of[(a, b)], []).append(k)
    if walk and not 0 <= walk[0] < n:
        raise ValueError(f"path starts at {walk[0]}, not one of the {n} states")
    if steps:  # the trail, under everything
        xs, ys = _polylines(dr, list(steps), dr.tip)
        traces.append(dict(type="scatter", mode="lines", name="trail", x=xs, y=ys,
                           hoverinfo="skip", opacity=0.35,
                           line=dict(color=PATH_COLOR, width=10 * font_scale)))

    # arrows: one trace per bin of probability (a trace has one width), the selected state's apart
    for highlight, group in ((False, ~mine), (True, mine)):
        for b in range(len(PROB_BINS) - 1):
            lo, hi = PROB_BINS[b], PROB_BINS[b + 1]
            es = np.flatnonzero(group & shown & (p >= lo) & (p < hi))
            if not len(es):
                continue
            mid = (lo + min(hi, 1.0)) / 2
            opacity = 0.15 + 0.85 * mid
            if selected is not None:
                opacity = max(opacity, 0.5) if highlight else opacity * DIM_OPACITY
            xs, ys = _polylines(dr, es, head)
            traces.append(dict(
                type="scatter", mode="lines", name="arrows", x=xs, y=ys, hoverinfo="skip",
                line=dict(color=HIGHLIGHT_COLOR if highlight else EDGE_COLOR,
                          width=(1.0 + 4.0 * mid + (1.0 if highlight else 0.0)) * font_scale),
                opacity=opacity))

    es = np.flatnonzero(shown)
    hover, labels = [], []
    arrow_text = _("{src} → {dst}: token {token}, model {p:.0%}")
    for e in es:
        i, t, j = int(dr.src[e]), int(dr.tok[e]), int(dr.dst[e])
        q = float(p[e])
        text = arrow_text.format(src=names[i], dst=names[j], token=toks[t], p=q)
        label = f"{toks[t]}({q * 100:.0f}%)"
        if data[i] is not None:
            text += ", " + data_note(kinds[i], data[i][t])
            if two_rows[i]:
                label += "<br>" + data_note(kinds[i], data[i][t])
        hover.append(text)
        labels.append(label)
    opacity = 0.25 + 0.75 * p[es]
    if selected is not None:
        opacity = np.where(mine[es], np.maximum(opacity, 0.6), opacity * DIM_OPACITY)
    traces.append(dict(
        type="scatter", mode="markers", name="arrowheads", x=head[es, 0], y=head[es, 1],
        hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>",
        marker=dict(symbol="triangle-up", angle=dr.angle[es], size=head_px[es],
                    opacity=opacity, line=dict(width=0),
                    color=np.where(mine[es], HIGHLIGHT_COLOR, EDGE_COLOR).tolist())))
    if dr.label_at is not None:
        colour = np.where(mine[es], HIGHLIGHT_COLOR,
                          EDGE_COLOR if selected is None else DIM_TEXT_COLOR).tolist()
        traces.append(dict(
            type="scatter", mode="text", name="labels", x=dr.label_at[es, 0],
            y=dr.label_at[es, 1], text=labels, hoverinfo="skip", textposition="middle center",
            textfont=dict(size=label_px, color=colour, shadow=LABEL_HALO)))

    if steps:
        at = dr.step_at[list(steps)]
        traces.append(dict(
            type="scatter", mode="text", name="steps", x=at[:, 0], y=at[:, 1],
            hoverinfo="skip", text=[_step_text(ks) for ks in steps.values()],
            textposition="middle center",
            textfont=dict(size=label_px, color=PATH_COLOR, shadow=LABEL_HALO)))
    if walk:  # the walk's last state: a ring round its node
        last = walk[-1]
        traces.append(dict(
            type="scatter", mode="markers", name="last state", x=[float(dr.pos[last, 0])],
            y=[float(dr.pos[last, 1])], hoverinfo="skip",
            marker=dict(size=dr.node_px + 16 * font_scale, color=PATH_COLOR, opacity=0.45,
                        line=dict(width=0))))

    styles = [KIND_STYLE[k] for k in kinds]
    line_colour = [HIGHLIGHT_COLOR if i == selected else line for i, (_, line, _) in
                   enumerate(styles)]
    line_width = [(4.0 if i == selected else 2.5 if k == "not scored" else 1.5) * font_scale
                  for i, k in enumerate(kinds)]
    tips = [_("state {name}").format(name=name) if transitions is None
            else state_tip(s, context, transitions, last_only, token_str)
            for name, s in zip(names, states, strict=True)]
    nodes = dict(
        type="scatter", mode="markers+text" if labelled else "markers", name="states",
        x=dr.pos[:, 0].tolist(), y=dr.pos[:, 1].tolist(), customdata=list(range(n)),
        hovertext=tips, hovertemplate="%{hovertext}<extra></extra>",
        marker=dict(size=dr.node_px, color=[fill for fill, _, _ in styles], opacity=1,
                    line=dict(color=line_colour, width=line_width)),
        # plotly dims the points a click did not select; the figure shows the selection itself
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)))
    if labelled:
        nodes.update(text=list(names), textposition="middle center",
                     textfont=dict(size=GRAPH_NAME_SIZE * font_scale, color="#111827"))
    traces.append(nodes)

    layout = _chain_layout(height, top, bottom, float(font_scale))
    layout["title"]["text"] = title
    if subtitle:
        layout["title"]["subtitle"] = dict(text=subtitle, font=dict(size=label_px))
    notes = [dict(x=x, y=y, xref="x", yref="y", text=name, showarrow=False, xanchor="center",
                  yanchor="middle", textangle=angle, font=dict(size=size))
             for x, y, name, angle, size in dr.names]
    if legend:  # under the circle, in the bottom margin
        notes.append(dict(
            text="<br>".join(legend), x=0.5, y=0.0, xref="paper", yref="paper",
            xanchor="center", yanchor="top", yshift=-4, showarrow=False, align="center",
            font=dict(size=label_px, color=NOT_SCORED_LINE)))
    if notes:
        layout["annotations"] = notes
    return fast.figure(traces, layout)


def _wrap(lines: Sequence[str], width: int) -> list[str]:
    """The legend's lines rewrapped to `width` narrow characters a line. English (no wide
    character) is joined with spaces and wrapped by textwrap; a text with wide characters
    (Chinese: about two narrow ones each, and no spaces between words) is joined as it is and
    broken anywhere, counting each wide character twice."""
    if all(c.isascii() for line in lines for c in line):
        return textwrap.wrap(" ".join(lines), width)
    out, line, used = [], "", 0
    for c in "".join(lines):
        w = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if used + w > width and line:
            out.append(line.rstrip())
            line, used = "", 0
            if c == " ":
                continue
        line += c
        used += w
    return [*out, line.rstrip()] if line.strip() else out


def clicked_state(points: Sequence[Mapping[str, Any]]) -> int | None:
    """The state a click on chain_figure chose, from the points of st.plotly_chart(fig,
    on_select="rerun", selection_mode="points")'s selection: only nodes carry a customdata."""
    for point in points:
        c = point.get("customdata")
        if isinstance(c, list | tuple) and c:
            c = c[0]
        if isinstance(c, int | float) and not isinstance(c, bool):
            return int(c)
    return None


def _polylines(dr: _Drawing, arrows: Sequence[int], ends: np.ndarray) -> tuple[list, list]:
    """The arrows' lines, each ending at its point in ends, separated by None (one trace)."""
    xs: list = []
    ys: list = []
    for e in arrows:
        xs += [*dr.xs[e], float(ends[e, 0]), None]
        ys += [*dr.ys[e], float(ends[e, 1]), None]
    return xs, ys


def _step_text(ks: list[int]) -> str:
    """A walk's step numbers on one arrow: all of them, or the last three after an ellipsis."""
    shown = ",".join(map(str, ks[-3:]))
    return f"<b>{'…,' if len(ks) > 3 else ''}{shown}</b>"


@layout_cache
def _chain_layout(height: int, top: int, bottom: int, font_scale: float) -> go.Figure:
    """Redrawn live: built once per size, see viz/fast.py."""
    fig = go.Figure()
    fig.update_layout(**base_layout("", height=height))
    fig.update_layout(
        margin=dict(l=SIDE_MARGIN, r=SIDE_MARGIN, t=top, b=bottom), hovermode="closest",
        showlegend=False, font=dict(size=FONT_SIZE * font_scale),
        title=dict(font=dict(size=TITLE_SIZE * font_scale), x=0.02, xanchor="left",
                   y=1.0, yref="container", yanchor="top", pad=dict(t=8)),
        hoverlabel=dict(font=dict(size=GRAPH_LABEL_SIZE * font_scale)))
    axis = dict(visible=False, range=[-CHAIN_RANGE, CHAIN_RANGE], fixedrange=True)
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis, scaleanchor="x", scaleratio=1)
    return fig
