"""Figures for induction heads: the two halves' losses, every head's scores, the best head's
attention with the stripe an induction head draws.

They read the task's metrics from each EvalEvent (gptviz/induction.py's Scores.metrics()).
Redrawn live: layouts are cached, traces added as plain dicts (see viz/fast.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gptviz.i18n import N_, _
from gptviz.induction import head_name
from gptviz.train import EvalEvent
from gptviz.viz import fast
from gptviz.viz.attention import attention_figure, panel_title
from gptviz.viz.fast import layout_cache
from gptviz.viz.style import FLOOR_COLOR, base_layout

FIRST_COLOR = "#7f7f7f"  # the first half: nothing to learn
REPEAT_COLOR = "#d62728"  # the repeated half: the crash
ALL_COLOR = "#1f77b4"
ABLATED_COLOR = "#9467bd"
GUESS_COLOR = "#8c564b"
# one colour per head, layer by layer: layer 1 blue-green, layer 2 orange-red
HEAD_COLORS = ["#1f77b4", "#17becf", "#2ca02c", "#bcbd22", "#ff7f0e", "#d62728", "#e377c2",
               "#9467bd", "#8c564b", "#7f7f7f"]
STRIPE_COLOR = "#dc2626"


def _metric(evals: Sequence[EvalEvent], key: str) -> tuple[np.ndarray, np.ndarray]:
    pts = [(e.step, e.metrics[key]) for e in evals if key in e.metrics]
    if not pts:
        return np.zeros(0), np.zeros(0)
    x, y = zip(*pts, strict=True)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


@layout_cache
def _loss_layout(ln_v: float, floor: float, title: str, height: int) -> go.Figure:
    fig = go.Figure()
    layout = base_layout(title, height)
    # ln V labelled above its line on the right; the floor below its line on the left, where
    # the curves are still high (on the right a switched-off head's marker may sit there)
    lines = [(ln_v, _("ln V = {ln_v:.2f}: guessing").format(ln_v=ln_v), GUESS_COLOR, "bottom",
              1, "right"),
             (floor, _("lowest possible, all targets: {floor:.2f}").format(floor=floor),
              FLOOR_COLOR, "top", 0, "left")]
    layout["shapes"] = [dict(type="line", xref="paper", x0=0, x1=1, y0=ln[0], y1=ln[0],
                             line=dict(color=ln[2], dash="dash", width=2)) for ln in lines]
    layout["annotations"] = [dict(xref="paper", x=x, y=y, text=text, showarrow=False,
                                  xanchor=xa, yanchor=ya, font=dict(color=c, size=14))
                             for y, text, c, ya, x, xa in lines]
    fig.update_layout(**layout, xaxis=dict(title=dict(text=_("step")), rangemode="tozero"),
                      yaxis=dict(title=dict(text=_("loss (nats)")),
                                 range=[0, math.ceil(ln_v * 1.1 * 2) / 2]))
    return fig


def half_loss_figure(evals: Sequence[EvalEvent], vocab_size: int, floor: float,
                     title: str | None = None, height: int = 340,
                     ablated: tuple[int, float, str] | None = None) -> go.Figure:
    """The first half's and the repeated half's loss at each evaluation, the loss over every
    target, and two lines: ln V (a uniform guess) and `floor` (the lowest the loss over every
    target can go). ablated: (step, repeated-half loss, which part is off), drawn as a marker.
    title: "Loss on each half" (in the run's language) by default."""
    title = _("Loss on each half") if title is None else title
    data = []
    hover = _("step %{x}<br>{name}: %{y:.3f}<extra></extra>")  # {name}: replaced, not .format
    for key, name, color, width in (("first_half_loss", N_("first half"), FIRST_COLOR, 3),
                                    ("repeat_loss", N_("repeated half"), REPEAT_COLOR, 3)):
        x, y = _metric(evals, key)
        data.append(dict(type="scatter", x=x, y=y, mode="lines", name=_(name),
                         line=dict(color=color, width=width),
                         hovertemplate=hover.replace("{name}", _(name))))
    vals = [(e.step, e.val_loss) for e in evals if e.val_loss is not None]
    if vals:
        x, y = (np.asarray(v, dtype=float) for v in zip(*vals, strict=True))
        data.append(dict(type="scatter", x=x, y=y, mode="lines", name=_("all targets"),
                         line=dict(color=ALL_COLOR, width=2, dash="dot"),
                         hovertemplate=_("step %{x}<br>all targets: %{y:.3f}<extra></extra>")))
    if ablated is not None:
        step, loss, what = ablated
        data.append(dict(type="scatter", x=[step], y=[loss], mode="markers+text",
                         name=_("{part} off").format(part=what),
                         marker=dict(color=ABLATED_COLOR, size=16, symbol="x"),
                         text=[_("{part} off: {loss:.2f}").format(part=what, loss=loss)],
                         textposition="bottom left",
                         textfont=dict(color=ABLATED_COLOR, size=15),
                         # {part}: replaced, not .format (the template's %{y} stays)
                         hovertemplate=_("{part} switched off<br>repeated half: %{y:.3f}"
                                         "<extra></extra>").replace("{part}", what)))
    return fast.figure(data, _loss_layout(math.log(vocab_size), floor, title, height))


@layout_cache
def _scores_layout(title: str, height: int) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.1,
                        subplot_titles=[_("induction score"), _("previous-token score")])
    for ann in fig.layout.annotations:
        ann.font.size = 15
    fig.update_layout(**base_layout(title, height))
    fig.update_xaxes(title_text=_("step"), rangemode="tozero")
    fig.update_yaxes(range=[0, 1.02])
    fig.update_yaxes(title_text=_("mean attention"), col=1)
    return fig


def head_scores_figure(evals: Sequence[EvalEvent], n_layer: int, n_head: int,
                       title: str | None = None, height: int = 340,
                       best: tuple[int, int] | None = None) -> go.Figure:
    """Per head, its induction score (left) and previous-token score (right) at each
    evaluation; one colour per head, the same in both panels. best: that head drawn thicker.
    title: "What each head does" (in the run's language) by default."""
    title = _("What each head does") if title is None else title
    hover = _("{head} step %{x}<br>%{y:.2f}<extra></extra>")  # {head}: replaced, not .format
    data = []
    for layer in range(n_layer):
        for h in range(n_head):
            name = head_name(layer, h)
            color = HEAD_COLORS[(layer * n_head + h) % len(HEAD_COLORS)]
            width = 5 if best == (layer, h) else 2.5
            for col, kind in ((1, "induction"), (2, "prev_token")):
                x, y = _metric(evals, f"{kind}_{name}")
                data.append(dict(type="scatter", x=x, y=y, mode="lines", name=name,
                                 legendgroup=name, showlegend=col == 1,
                                 line=dict(color=color, width=width,
                                           dash="solid" if layer == n_layer - 1 else "dot"),
                                 xaxis="x" if col == 1 else "x2",
                                 yaxis="y" if col == 1 else "y2",
                                 hovertemplate=hover.replace("{head}", name)))
    return fast.figure(data, _scores_layout(title, height))


def stripe_attention_figure(att: np.ndarray, tokens: Sequence[str], layer: int, head: int,
                            first: int, copy: int, n: int, title: str,
                            height: int = 420) -> go.Figure:
    """One head's attention (T, T) on one sequence, with hollow squares where an induction
    head looks: from each repeated token (copy .. copy+n-2) to the token after its earlier
    copy (query - (copy - first) + 1). first, copy, n: the sequence's gptviz.induction.Layout;
    layer, head: 0-based, titled from 1."""
    if att.ndim != 2:
        raise ValueError(f"expected one head's (T, T) attention, got shape {att.shape}")
    fig = attention_figure(att[None, None], tokens, title=title, height=height)
    fig.layout.annotations[0].text = panel_title(layer, head)  # the head shown, not "1 · 1"
    labels = fig.data[0].x
    queries = [q for q in range(copy, copy + n - 1) if q < len(labels)]
    fig.add_trace(go.Scatter(
        x=[labels[q - (copy - first) + 1] for q in queries], y=[labels[q] for q in queries],
        mode="markers",
        name=_("where an induction head looks"), showlegend=True,
        marker=dict(symbol="square-open", size=14, color=STRIPE_COLOR, line=dict(width=2)),
        hovertemplate=_("query %{y} → key %{x}: the token after the earlier copy"
                        "<extra></extra>")))
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right",
                                  x=1.0, font=dict(size=14)), showlegend=True)
    return fig

