"""The loss curve: training loss per step, evaluations, and the floor the data allows; on request
the timeline's current step as a vertical line, and the learning rate in a panel under it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gptviz.i18n import N_, _
from gptviz.train import EvalEvent
from gptviz.viz import fast
from gptviz.viz.fast import layout_cache
from gptviz.viz.style import (
    FLOOR_COLOR,
    LR_COLOR,
    MARKER_COLOR,
    TRAIN_COLOR,
    VAL_COLOR,
    base_layout,
)

MAX_DRAWN = 1000  # points per trace; more only costs the browser time
LR_PANEL_PX = 120  # the learning-rate panel adds this much height under the loss curve


def _thin(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xa) > MAX_DRAWN:
        idx = np.linspace(0, len(xa) - 1, MAX_DRAWN).round().astype(int)
        xa, ya = xa[idx], ya[idx]
    return xa, ya


@layout_cache
def _loss_layout(floor: float | None, title: str, height: int, lr_panel: bool = False) -> go.Figure:
    """lr_panel: a second plot under the loss (x2, y2) for the learning rate, sharing its steps."""
    if lr_panel:
        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                            row_heights=[height - 110, LR_PANEL_PX - 30])
    else:
        fig = go.Figure()
    if floor is not None:
        fig.add_hline(y=floor, line=dict(color=FLOOR_COLOR, dash="dash", width=2),
                      annotation_text=_("lowest possible: {floor:.3f}").format(floor=floor),
                      annotation_position="top right",
                      annotation_font=dict(color=FLOOR_COLOR, size=15),
                      **(dict(row=1, col=1, exclude_empty_subplots=False) if lr_panel else {}))
    fig.update_layout(**base_layout(title, height + (LR_PANEL_PX if lr_panel else 0)))
    if lr_panel:
        fig.update_xaxes(rangemode="tozero")
        fig.update_xaxes(title_text=_("step"), row=2, col=1)
        fig.update_yaxes(title_text=_("cross-entropy (nats)"), rangemode="tozero", row=1, col=1)
        fig.update_yaxes(title_text=_("learning rate"), rangemode="tozero", nticks=3,
                         exponentformat="e", row=2, col=1)
    else:
        fig.update_xaxes(title_text=_("step"), rangemode="tozero")
        fig.update_yaxes(title_text=_("cross-entropy (nats)"), rangemode="tozero")
    return fig


def loss_figure(
    steps: Sequence[int],
    losses: Sequence[float],
    evals: Sequence[EvalEvent] = (),
    floor: float | None = None,
    title: str = N_("Loss"),
    height: int = 380,
    train_name: str = N_("train loss"),
    *,
    marker_step: int | None = None,
    lrs: Sequence[float] | None = None,
) -> go.Figure:
    """Step losses (thin line), evaluated train/val losses (thick lines) and the entropy floor.

    train_name labels the evaluated training loss (Baby GPT: "loss on all windows").
    marker_step: a vertical line at that step (the timeline's current step). lrs: the learning
    rate at each of `steps`, drawn in a panel LR_PANEL_PX high under the loss, on the same steps.
    Redrawn live: the layout is cached and the traces are not validated (see viz/fast.py).
    """
    return fast.figure(*loss_parts(steps, losses, evals, floor, title, height, train_name,
                                   marker_step=marker_step, lrs=lrs))


def loss_parts(
    steps: Sequence[int],
    losses: Sequence[float],
    evals: Sequence[EvalEvent] = (),
    floor: float | None = None,
    title: str = N_("Loss"),
    height: int = 380,
    train_name: str = N_("train loss"),
    *,
    marker_step: int | None = None,
    lrs: Sequence[float] | None = None,
) -> tuple[list[dict], dict]:
    """loss_figure's traces and layout, as dicts, for builders that add to them. title and
    train_name are shown in the reader's language where the catalogue has them."""
    title, train_name = _(title), _(train_name)
    if lrs is not None and len(lrs) != len(steps):
        raise ValueError(f"{len(lrs)} learning rates for {len(steps)} steps: need one per step")
    x, y = _thin(steps, losses)
    data = [dict(type="scatter", x=x, y=y, mode="lines", name=_("batch loss"),
                 line=dict(color=TRAIN_COLOR, width=1.5), opacity=0.6)]
    if evals:
        ex, ey = _thin([e.step for e in evals], [e.train_loss for e in evals])
        data.append(dict(type="scatter", x=ex, y=ey, mode="lines", name=train_name,
                         line=dict(color=TRAIN_COLOR, width=3)))
        vals = [(e.step, e.val_loss) for e in evals if e.val_loss is not None]
        if vals:
            vx, vy = _thin([s for s, _ in vals], [v for _, v in vals])
            data.append(dict(type="scatter", x=vx, y=vy, mode="lines", name=_("validation loss"),
                             line=dict(color=VAL_COLOR, width=3)))
    if lrs is None:
        layout = _loss_layout(floor, title, height)
    else:
        layout = _loss_layout(floor, title, height, True)
        lx, ly = _thin(steps, lrs)
        data.append(dict(type="scatter", x=lx, y=ly, mode="lines", name=_("learning rate"),
                         xaxis="x2", yaxis="y2", showlegend=False,
                         line=dict(color=LR_COLOR, width=2),
                         # %{x}, %{y:.3g}: plotly's, kept as they are in the translation
                         hovertemplate=_("step %{x}: learning rate %{y:.3g}")
                         + "<extra></extra>"))
    if marker_step is not None:  # through both panels
        layout["shapes"] = [*layout.get("shapes", ()), dict(
            type="line", xref="x", yref="paper", x0=marker_step, x1=marker_step, y0=0, y1=1,
            line=dict(color=MARKER_COLOR, width=2, dash="dot"))]
    return data, layout
