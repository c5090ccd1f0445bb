"""The loss curve: training loss per step, evaluations, and the floor the data allows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from gptviz.train import EvalEvent
from gptviz.viz import fast
from gptviz.viz.fast import layout_cache
from gptviz.viz.style import FLOOR_COLOR, TRAIN_COLOR, VAL_COLOR, base_layout

MAX_DRAWN = 1000  # points per trace; more only costs the browser time


def _thin(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xa) > MAX_DRAWN:
        idx = np.linspace(0, len(xa) - 1, MAX_DRAWN).round().astype(int)
        xa, ya = xa[idx], ya[idx]
    return xa, ya


@layout_cache
def _loss_layout(floor: float | None, title: str, height: int) -> go.Figure:
    fig = go.Figure()
    if floor is not None:
        fig.add_hline(y=floor, line=dict(color=FLOOR_COLOR, dash="dash", width=2),
                      annotation_text=f"lowest possible: {floor:.3f}",
                      annotation_position="top right",
                      annotation_font=dict(color=FLOOR_COLOR, size=15))
    fig.update_layout(**base_layout(title, height))
    fig.update_xaxes(title_text="step", rangemode="tozero")
    fig.update_yaxes(title_text="cross-entropy (nats)", rangemode="tozero")
    return fig


def loss_figure(
    steps: Sequence[int],
    losses: Sequence[float],
    evals: Sequence[EvalEvent] = (),
    floor: float | None = None,
    title: str = "Loss",
    height: int = 380,
    train_name: str = "train loss",
) -> go.Figure:
    """Step losses (thin line), evaluated train/val losses (thick lines) and the entropy floor.

    train_name labels the evaluated training loss (Baby GPT: "loss on all windows").
    Redrawn live: the layout is cached and the traces are not validated (see viz/fast.py).
    """
    return fast.figure(*loss_parts(steps, losses, evals, floor, title, height, train_name))


def loss_parts(
    steps: Sequence[int],
    losses: Sequence[float],
    evals: Sequence[EvalEvent] = (),
    floor: float | None = None,
    title: str = "Loss",
    height: int = 380,
    train_name: str = "train loss",
) -> tuple[list[dict], dict]:
    """loss_figure's traces and layout, as dicts, for builders that add to them."""
    x, y = _thin(steps, losses)
    data = [dict(type="scatter", x=x, y=y, mode="lines", name="batch loss",
                 line=dict(color=TRAIN_COLOR, width=1.5), opacity=0.6)]
    if evals:
        ex, ey = _thin([e.step for e in evals], [e.train_loss for e in evals])
        data.append(dict(type="scatter", x=ex, y=ey, mode="lines", name=train_name,
                         line=dict(color=TRAIN_COLOR, width=3)))
        vals = [(e.step, e.val_loss) for e in evals if e.val_loss is not None]
        if vals:
            vx, vy = _thin([s for s, _ in vals], [v for _, v in vals])
            data.append(dict(type="scatter", x=vx, y=vy, mode="lines", name="validation loss",
                             line=dict(color=VAL_COLOR, width=3)))
    return data, _loss_layout(floor, title, height)
