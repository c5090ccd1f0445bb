"""Figures for the prompt -> answer tasks: held-out accuracy over training, and where each
answer token looks.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from gptviz.i18n import _
from gptviz.tasks.problems import AttentionExample
from gptviz.train import EvalEvent
from gptviz.viz.style import FLOOR_COLOR, HEAT_SCALE, VAL_COLOR, base_layout

ACCURACY_COLOR = "#9467bd"


def accuracy_figure(evals: Sequence[EvalEvent], target: float | None = 0.99,
                    title: str | None = None, height: int = 380) -> go.Figure:
    """Exact-match accuracy on the held-out problems (EvalEvent.metrics["accuracy"]) per step.

    target draws the line the presets aim for (99%); evaluations without an accuracy are skipped.
    title: "Held-out accuracy" (in the run's language) by default.
    """
    title = _("Held-out accuracy") if title is None else title
    points = [(e.step, 100 * e.metrics["accuracy"]) for e in evals if "accuracy" in e.metrics]
    fig = go.Figure()
    if points:
        x, y = (np.asarray(v, dtype=float) for v in zip(*points, strict=True))
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines+markers", name=_("whole answer right"),
            line=dict(color=ACCURACY_COLOR, width=3), marker=dict(size=6),
            hovertemplate=_("step %{x}<br>%{y:.1f}% right<extra></extra>")))
    layout = base_layout(title, height)
    if target is not None:  # as layout items: add_hline costs ~10x more, redrawn while training
        layout["shapes"] = [dict(type="line", xref="paper", x0=0, x1=1, y0=100 * target,
                                 y1=100 * target,
                                 line=dict(color=FLOOR_COLOR, dash="dash", width=2))]
        layout["annotations"] = [dict(xref="paper", x=1, y=100 * target, text=f"{100 * target:g}%",
                                      showarrow=False, xanchor="right", yanchor="top",
                                      font=dict(color=FLOOR_COLOR, size=15))]
    fig.update_layout(**layout, xaxis=dict(title=dict(text=_("step")), rangemode="tozero"),
                      yaxis=dict(title=dict(text=_("% of held-out problems")), range=[0, 102]))
    return fig


def answer_attention_figure(example: AttentionExample, head: int | None = None,
                            title: str | None = None) -> go.Figure:
    """One panel per layer: rows are the answer digits being written, columns the tokens read.

    Row r is the position whose output is answer digit r (it reads everything up to and
    including itself). head=None averages the heads of each layer; an int (0-based) shows that
    head. Panel titles count layers and heads from 1: "layer 1 · head 1" for head=0.
    Columns are grouped by example.segments (e.g. a | b | sum so far) with separators.
    title: "Where each answer digit looks" (in the run's language) by default.
    """
    title = _("Where each answer digit looks") if title is None else title
    att = example.attention.detach().float().cpu().numpy()  # [layer, head, query, key]
    n_layer, n_head, T, _keys = att.shape
    if len(example.tokens) != T:
        raise ValueError(f"{len(example.tokens)} tokens for attention over {T} positions")
    if head is not None and not 0 <= head < n_head:
        raise ValueError(f"head index {head} does not exist: the model has {n_head} per layer "
                         f"(indices 0 to {n_head - 1})")
    per_layer = att.mean(axis=1) if head is None else att[:, head]  # (n_layer, T, T)
    rows = example.answer_rows
    # repeated digits ("1", "1") need distinct labels: subscript the position
    cols = [f"{html.escape(t)}<sub>{i}</sub>" for i, t in enumerate(example.tokens)]
    row_labels = [_("writes {token} ({place})").format(token=html.escape(tok),
                                                       place=html.escape(name))
                  for tok, name in zip(example.answer_tokens, example.answer_names, strict=True)]
    which = _("mean of the heads") if head is None else _("head {n}").format(n=head + 1)
    # panels stacked by hand (one pass through plotly's validation: make_subplots, add_vline
    # and friends cost ~10x more, and this is redrawn while training)
    gap = 0.12 if n_layer > 1 else 0.0
    height = (1.0 - gap * (n_layer - 1)) / n_layer
    future = np.arange(T)[None, :] > np.asarray(rows)[:, None]  # keys a row cannot see
    traces, shapes, annotations, axes = [], [], [], {}
    for li in range(n_layer):
        n = "" if li == 0 else str(li + 1)
        top = 1.0 - li * (height + gap)
        axes[f"xaxis{n}"] = dict(domain=[0, 1], anchor=f"y{n}", tickangle=0)
        axes[f"yaxis{n}"] = dict(domain=[max(0.0, top - height), min(1.0, top)], anchor=f"x{n}",
                                 autorange="reversed")
        z = per_layer[li][rows].astype(float)  # (A, T)
        z[future] = np.nan  # causal mask: drawn empty
        traces.append(go.Heatmap(
            z=z, x=cols, y=row_labels, zmin=0, zmax=1, colorscale=HEAT_SCALE,
            showscale=li == 0, colorbar=dict(title=dict(text=_("weight"))), xaxis=f"x{n}",
            yaxis=f"y{n}",
            hovertemplate=_("%{y}<br>looks at %{x}<br>weight %{z:.2f}<extra></extra>")))
        annotations.append(dict(text=_("layer {n} · {which}").format(n=li + 1, which=which),
                                x=0.5, y=top, xref="paper",
                                yref="paper", showarrow=False, yanchor="bottom",
                                font=dict(size=14)))
        for _name, start, _end in example.segments[1:]:  # a line between each pair of spans
            shapes.append(dict(type="line", x0=start - 0.5, x1=start - 0.5, y0=0, y1=1,
                               xref=f"x{n}", yref=f"y{n} domain",
                               line=dict(color=VAL_COLOR, width=3)))
    for name, start, end in example.segments:
        annotations.append(dict(x=(start + end - 1) / 2, y=1.0, xref="x", yref="paper",
                                text=f"<b>{html.escape(name)}</b>", showarrow=False,
                                yanchor="bottom", yshift=24, font=dict(size=14, color=VAL_COLOR)))
    layout = base_layout(title, height=max(260, (40 * len(rows) + 90) * n_layer + 80))
    layout["margin"] = dict(l=170, r=20, t=110, b=40)
    fig = go.Figure(data=traces, layout=dict(**layout, **axes, shapes=shapes,
                                             annotations=annotations))
    return fig
