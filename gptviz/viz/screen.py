"""Fitting a figure to the screen it is shown on: its height, larger type, a replayed step."""

from __future__ import annotations

import plotly.graph_objects as go

from gptviz.i18n import _
from gptviz.viz.style import FONT_SIZE, MARKER_COLOR

MIN_SIZE = 14  # px: the smallest text a class reads from the back of a room
LEGEND_ROW = 34  # px under the x axis for a one-row legend


def _scaled(size: float | None, scale: float) -> int | None:
    return None if size is None else round(size * scale)


def scale_fonts(fig: go.Figure, scale: float = 1.0) -> go.Figure:
    """Every text of the figure at least the figure's font size (tick labels, axis titles, the
    legend, annotations: Streamlit's theme draws ticks at 12.75 px), then times `scale`
    (presenter mode). Changes fig and returns it."""
    lay = fig.layout
    base = lay.font.size or FONT_SIZE
    size = _scaled(base, scale)
    fig.update_layout(font_size=size, legend_font_size=_scaled(
        max(lay.legend.font.size or base, base), scale))
    if lay.title.font.size:
        fig.update_layout(title_font_size=_scaled(lay.title.font.size, scale))
    fig.for_each_annotation(lambda a: a.update(
        font_size=_scaled(max(a.font.size or base, MIN_SIZE), scale)))
    for axis in (*fig.select_xaxes(), *fig.select_yaxes()):
        axis.title.font.size = _scaled(max(axis.title.font.size or base, base), scale)
        axis.tickfont.size = _scaled(max(axis.tickfont.size or base, MIN_SIZE), scale)
    for trace in fig.data:
        bar = getattr(trace, "colorbar", None)
        if bar is not None:
            bar.tickfont.size = _scaled(max(bar.tickfont.size or base, MIN_SIZE), scale)
    return fig


def mark_step(fig: go.Figure, step: int | None, label: str | None = None) -> go.Figure:
    """A vertical line at `step` (a replayed step, drawn as loss_figure's marker_step), labelled
    at the bottom. Changes fig."""
    if step is None:
        return fig
    fig.add_vline(x=step, line=dict(color=MARKER_COLOR, dash="dot", width=2),
                  annotation_text=label or _("step {step:,}").format(step=step),
                  annotation_position="bottom right",
                  annotation_font=dict(color=MARKER_COLOR, size=15))
    return fig


def legend_below(fig: go.Figure, font_scale: float = 1.0) -> go.Figure:
    """The legend in one row under the x axis, so that in a half-width figure it does not run
    into the title; shown even for one curve, so that figures side by side keep their axes
    level. Changes fig."""
    margin = fig.layout.margin.b if fig.layout.margin.b is not None else 50
    fig.update_layout(legend=dict(orientation="h", yref="container", y=0, yanchor="bottom",
                                  xref="container", xanchor="left", x=0,
                                  font_size=_scaled(MIN_SIZE, font_scale)),
                      showlegend=True, margin_b=margin + LEGEND_ROW)
    return fig


def fit(fig: go.Figure, height: int | None = None, font_scale: float = 1.0,
        marker_step: int | None = None, legend_under: bool = False) -> go.Figure:
    """The figure at `height` px, a marker at `marker_step`, the legend under it (legend_under),
    no text under MIN_SIZE px and all of it times `font_scale`. Changes fig and returns it."""
    if height is not None:
        fig.update_layout(height=height)
    scale_fonts(mark_step(fig, marker_step), font_scale)
    if legend_under:  # at the smallest size, so that it takes one row in a half-width figure
        legend_below(fig, font_scale)
    return fig
