"""Figures for the prompt -> answer tasks: held-out accuracy over training, and where each
answer token looks.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gptviz.tasks.problems import AttentionExample
from gptviz.train import EvalEvent
from gptviz.viz.style import FLOOR_COLOR, HEAT_SCALE, VAL_COLOR, base_layout

ACCURACY_COLOR = "#9467bd"


def accuracy_figure(evals: Sequence[EvalEvent], target: float | None = 0.99,
                    title: str = "Held-out accuracy", height: int = 380) -> go.Figure:
    """Exact-match accuracy on the held-out problems (EvalEvent.metrics["accuracy"]) per step.

    target draws the line the presets aim for (99%); evaluations without an accuracy are skipped.
    """
    points = [(e.step, 100 * e.metrics["accuracy"]) for e in evals if "accuracy" in e.metrics]
    fig = go.Figure()
    if points:
        x, y = (np.asarray(v, dtype=float) for v in zip(*points, strict=True))
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines+markers", name="whole answer right",
            line=dict(color=ACCURACY_COLOR, width=3), marker=dict(size=6),
            hovertemplate="step %{x}<br>%{y:.1f}% right<extra></extra>"))
    if target is not None:
        fig.add_hline(y=100 * target, line=dict(color=FLOOR_COLOR, dash="dash", width=2),
                      annotation_text=f"{100 * target:g}%", annotation_position="bottom right",
                      annotation_font=dict(color=FLOOR_COLOR, size=15))
    fig.update_layout(**base_layout(title, height))
    fig.update_xaxes(title_text="step", rangemode="tozero")
    fig.update_yaxes(title_text="% of held-out problems", range=[0, 102])
    return fig


def answer_attention_figure(example: AttentionExample, head: int | None = None,
                            title: str = "Where each answer digit looks") -> go.Figure:
    """One panel per layer: rows are the answer digits being written, columns the tokens read.

    Row r is the position whose output is answer digit r (it reads everything up to and
    including itself). head=None averages the heads of each layer; an int shows that head.
    Columns are grouped by example.segments (e.g. a | b | sum so far) with separators.
    """
    att = example.attention.detach().float().cpu().numpy()  # [layer, head, query, key]
    n_layer, n_head, T, _ = att.shape
    if len(example.tokens) != T:
        raise ValueError(f"{len(example.tokens)} tokens for attention over {T} positions")
    if head is not None and not 0 <= head < n_head:
        raise ValueError(f"head {head} does not exist: the model has {n_head} per layer")
    per_layer = att.mean(axis=1) if head is None else att[:, head]  # (n_layer, T, T)
    rows = example.answer_rows
    # repeated digits ("1", "1") need distinct labels: subscript the position
    cols = [f"{html.escape(t)}<sub>{i}</sub>" for i, t in enumerate(example.tokens)]
    row_labels = [f"writes {html.escape(tok)} ({html.escape(name)})"
                  for tok, name in zip(example.answer_tokens, example.answer_names, strict=True)]
    which = "mean of the heads" if head is None else f"head {head}"
    fig = make_subplots(rows=n_layer, cols=1, vertical_spacing=0.12 if n_layer > 1 else 0.0,
                        subplot_titles=[f"layer {li} · {which}" for li in range(n_layer)])
    future = np.arange(T)[None, :] > np.asarray(rows)[:, None]  # keys a row cannot see
    for li in range(n_layer):
        z = per_layer[li][rows].astype(float)  # (A, T)
        z[future] = np.nan  # causal mask: drawn empty
        fig.add_trace(go.Heatmap(
            z=z, x=cols, y=row_labels, zmin=0, zmax=1, colorscale=HEAT_SCALE,
            showscale=li == 0, colorbar=dict(title="weight"),
            hovertemplate="%{y}<br>looks at %{x}<br>weight %{z:.2f}<extra></extra>"),
            row=li + 1, col=1)
        for _, start, _end in example.segments[1:]:  # a line between each pair of spans
            fig.add_vline(x=start - 0.5, line=dict(color=VAL_COLOR, width=3), row=li + 1, col=1)
    for name, start, end in example.segments:
        fig.add_annotation(x=(start + end - 1) / 2, y=1.0, xref="x", yref="paper",
                           text=f"<b>{html.escape(name)}</b>", showarrow=False, yanchor="bottom",
                           yshift=28, font=dict(size=14, color=VAL_COLOR))
    fig.update_yaxes(autorange="reversed")
    for ann in fig.layout.annotations:
        if ann.text and ann.text.startswith("layer"):
            ann.font.size = 14
    layout = base_layout(title, height=max(260, (40 * len(rows) + 90) * n_layer + 80))
    layout["margin"] = dict(l=170, r=20, t=110, b=40)
    fig.update_layout(**layout)
    return fig
