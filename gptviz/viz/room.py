"""A class room's runs of one task on one chart: each student's curve, named by the caller.

Names are user text: plotly reads a little HTML in text (<b>, <a href>), so every name and
the title are HTML-escaped here, whatever the caller checked before.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from gptviz.i18n import _
from gptviz.viz.style import RUN_COLORS, base_layout

LEGEND_SIZE = 15  # px: reads on a projector


def room_figure(curves: Sequence[tuple[str, Sequence[tuple[int, float]]]], *, title: str,
                y_title: str, height: int = 420, highlight: str | None = None) -> go.Figure:
    """One line per (name, [(step, value), ...]); `highlight` (a name) drawn thicker."""
    fig = go.Figure()
    fig.update_layout(**base_layout(html.escape(title), height))
    fig.update_layout(showlegend=True, legend=dict(
        orientation="v", yanchor="top", y=1.0, xanchor="left", x=1.02,
        font=dict(size=LEGEND_SIZE)), margin_r=180, hoverlabel=dict(font_size=LEGEND_SIZE))
    fig.update_xaxes(title_text=_("step"), rangemode="tozero")
    fig.update_yaxes(title_text=html.escape(y_title))
    for i, (name, points) in enumerate(curves):
        steps = np.asarray([p[0] for p in points], dtype=np.int64)
        values = np.asarray([p[1] for p in points], dtype=np.float64)
        label = html.escape(name)
        fig.add_trace(go.Scatter(
            x=steps, y=values, name=label, mode="lines" if len(steps) > 1 else "markers",
            line=dict(color=RUN_COLORS[i % len(RUN_COLORS)],
                      width=4 if name == highlight else 2),
            hovertemplate=label + _("<br>step %{x}: %{y:.4f}<extra></extra>")))
    if not curves:
        fig.add_annotation(text=_("No runs yet"), showarrow=False, font=dict(size=20),
                           xref="paper", yref="paper", x=0.5, y=0.5)
    return fig
