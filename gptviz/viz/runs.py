"""Compare runs: the loss curves (or held-out accuracy) of several runs of one task, overlaid.

One colour per run (the record's own, so a run keeps its colour while others come and go); its
training loss solid, its validation loss dotted; the legend names the runs, with the settings
that tell them apart. Runs of different tasks are refused (gptviz/live/runs.py says why).
Run names are user text: plotly reads a little HTML in text, so they are HTML-escaped here.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Literal

import numpy as np
import plotly.graph_objects as go

from gptviz.i18n import _
from gptviz.live.runs import (
    Curve,
    RunRecord,
    differing_settings,
    group_runs,
    incomparable_message,
    legend_label,
)
from gptviz.viz import fast
from gptviz.viz.fast import layout_cache
from gptviz.viz.style import FLOOR_COLOR, MIN_TEXT_SIZE, base_layout

LEGEND_SIZE = 15  # px
MARKERS_UNDER = 40  # a curve with fewer points than this also gets markers (a single evaluation)


def _mode(curve: Curve) -> str:
    return "lines" if len(curve) >= MARKERS_UNDER else "lines+markers"


@layout_cache
def _layout(title: str, subtitle: str, height: int, metric: str, log_y: bool,
            floor: float | None, empty: bool) -> go.Figure:
    """Everything but the curves, built (and validated) once per arguments."""
    fig = go.Figure()
    fig.update_layout(**base_layout(title, height))
    fig.update_layout(
        title_subtitle=dict(text=html.escape(subtitle), font=dict(size=LEGEND_SIZE)),
        margin_t=80, margin_b=60, showlegend=True, hoverlabel=dict(font_size=LEGEND_SIZE),
        legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0,
                    font=dict(size=LEGEND_SIZE)))
    fig.update_xaxes(title_text=_("step"), rangemode="tozero")
    if metric == "accuracy":
        fig.update_yaxes(title_text=_("held-out accuracy (%)"), range=[0, 101])
    else:
        fig.update_yaxes(title_text=_("cross-entropy (nats)"),
                         **(dict(type="log") if log_y else dict(rangemode="tozero")))
        if floor is not None and (floor > 0 or not log_y):
            fig.add_hline(y=floor, line=dict(color=FLOOR_COLOR, dash="dash", width=2),
                          annotation_text=_("lowest possible: {floor:.3f}").format(floor=floor),
                          annotation_position="top right",
                          annotation_font=dict(color=FLOOR_COLOR, size=LEGEND_SIZE))
    if empty:
        fig.add_annotation(text=_("No run to draw: tick Show for a run in the table."),
                           showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                           font=dict(size=max(MIN_TEXT_SIZE, 16)))
    return fig


def _trace(curve: Curve, y: np.ndarray, name: str, group: str, colour: str, hover: str,
           dotted: bool = False, legend: bool = True) -> dict:
    return dict(type="scatter", x=curve.steps, y=y, mode=_mode(curve), name=name,
                legendgroup=group, showlegend=legend, hovertemplate=hover,
                line=dict(color=colour, width=3, **(dict(dash="dot") if dotted else {})))


def runs_figure(
    records: Sequence[RunRecord],
    *,
    metric: Literal["loss", "accuracy"] = "loss",
    title: str | None = None,
    train_name: str | None = None,
    height: int = 420,
    log_y: bool = False,
) -> go.Figure:
    """The visible (not hidden) records' curves in one chart.

    metric "loss": per run its training loss (`train_name`, solid: the evaluations' or, for a
    run not yet evaluated, its batch losses) and its validation loss (dotted), with the lowest
    loss the task allows where it is known. "accuracy": per run its held-out accuracy in %.
    title: instead of "Loss by run" / "Held-out accuracy by run"; a subtitle says which line
    is which. ValueError when the visible records trained on different tasks (their losses are
    not comparable). Redrawn live: the layout is cached and the traces are not validated (see
    viz/fast.py).
    """
    train_name = _("training loss") if train_name is None else train_name
    shown = [r for r in records if not r.hidden]
    groups = group_runs(shown)
    if len(groups) > 1:
        raise ValueError(incomparable_message(groups))
    differing = differing_settings(shown)
    data = []
    for r in shown:
        name = html.escape(legend_label(r, differing))
        group = f"run{r.run_id}"
        if metric == "accuracy":
            data.append(_trace(r.accuracy, r.accuracy.values * 100, name, group, r.colour,
                               _("step %{x:,}: %{y:.1f}%")))
            continue
        curve = r.loss_curve
        label = (name if len(r.train) or not len(r.batch)
                 else _("{name}, batch loss").format(name=name))
        data.append(_trace(curve, curve.values, label, group, r.colour,
                           _("step %{x:,}: ") + html.escape(train_name) + " %{y:.4f}"))
        if len(r.val):
            data.append(_trace(r.val, r.val.values, label, group, r.colour,
                               _("step %{x:,}: validation loss %{y:.4f}"), dotted=True,
                               legend=False))
    if metric == "accuracy":
        subtitle = _("problems never trained on, answered exactly right")
        title = title or _("Held-out accuracy by run")
    else:
        any_val = any(len(r.val) for r in shown)
        subtitle = (_("solid: {train}, dotted: validation loss") if any_val
                    else _("solid: {train}")).format(train=train_name)
        title = title or _("Loss by run")
    floor = shown[0].task.floor if shown and metric == "loss" else None
    return fast.figure(data, _layout(title, subtitle, height, metric, log_y, floor, not shown))
