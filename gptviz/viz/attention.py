"""Attention heatmaps: one panel per layer and head, queries down, keys across.

Cells above the diagonal are left empty: the causal mask forbids a token to look ahead.
Panels are titled for people, counting from 1 ("layer 1 · head 1" is att[0, 0]), as every page
of the app numbers layers and heads.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from gptviz.i18n import N_, _
from gptviz.viz import fast
from gptviz.viz.fast import layout_cache
from gptviz.viz.style import HEAT_SCALE, base_layout

MAX_PANELS = 64


def format_attention(attention: Sequence[torch.Tensor], batch_index: int = 0) -> np.ndarray:
    """Per-layer (B, nh, T, T) tensors -> one array [layer, head, query_pos, key_pos]."""
    return torch.stack([a[batch_index].detach().float().cpu() for a in attention]).numpy()


def attention_figure(
    att: np.ndarray, tokens: Sequence[str], title: str = N_("Attention weights"),
    max_layers: int | None = None, height: int | None = None,
) -> go.Figure:
    """att: [layer, head, query_pos, key_pos] weights; tokens label both axes. height: px
    (default: 160 a layer). A title the catalogue has is shown in the reader's language."""
    title = _(title)
    if att.ndim != 4 or att.shape[2] != att.shape[3] or att.shape[2] != len(tokens):
        raise ValueError(f"expected [layer, head, T, T] with T={len(tokens)}, got {att.shape}")
    n_layer, n_head, T, _keys = att.shape
    if max_layers is not None:
        n_layer = min(n_layer, max_layers)
    n_head = min(n_head, max(1, MAX_PANELS // n_layer))
    # tokens can repeat ("1", "1", "1"): subscript the position so each row and column is its own
    labels = [f"{html.escape(t)}<sub>{i}</sub>" for i, t in enumerate(tokens)]
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    scale = fast.colorscale(HEAT_SCALE)
    # %{y}, %{x}, %{z:.2f}: plotly's placeholders, kept as they are in the translation
    hover = _("query %{y}<br>key %{x}<br>weight %{z:.2f}") + "<extra></extra>"
    data = []
    for li in range(n_layer):
        for h in range(n_head):
            z = att[li, h].astype(float).copy()
            z[future] = np.nan  # masked: drawn as empty
            k = li * n_head + h + 1  # make_subplots numbers the axes row by row: x, x2, x3, ...
            data.append(dict(
                type="heatmap", z=z, x=labels, y=labels, zmin=0, zmax=1, colorscale=scale,
                showscale=(li == 0 and h == n_head - 1),
                hovertemplate=hover,
                xaxis="x" if k == 1 else f"x{k}", yaxis="y" if k == 1 else f"y{k}"))
    return fast.figure(data, _attention_layout(n_layer, n_head, title, height))


def panel_title(layer: int, head: int) -> str:
    """The title of the panel of 0-based (layer, head): counted from 1, "layer 1 · head 1"."""
    return _("layer {layer} · head {head}").format(layer=layer + 1, head=head + 1)


@layout_cache
def _attention_layout(n_layer: int, n_head: int, title: str, height: int | None) -> go.Figure:
    """The grid of panels, one per layer and head (redrawn live: built once, see viz/fast.py)."""
    fig = make_subplots(rows=n_layer, cols=n_head, horizontal_spacing=0.03,
                        vertical_spacing=0.08 if n_layer > 1 else 0.0,
                        subplot_titles=[panel_title(li, h) for li in range(n_layer)
                                        for h in range(n_head)])
    # Every panel has the same tokens on both axes: label them once, on the left column and the
    # bottom row, so tick labels never run into the neighbouring panel or the title above.
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_yaxes(showticklabels=True, col=1)
    fig.update_xaxes(tickangle=0, showticklabels=False)
    fig.update_xaxes(showticklabels=True, row=n_layer)
    for ann in fig.layout.annotations:
        ann.font.size = 14  # the smallest text that reads on a projector
    layout = base_layout(title, height=height or max(240, 160 * n_layer + 80))
    layout["font"] = dict(size=14)
    fig.update_layout(**layout)
    return fig
