"""The chain's long run: how often the model's chain visits each state, against the data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from gptviz.i18n import N_, _
from gptviz.viz.style import TRAIN_COLOR, VAL_COLOR, base_layout


def stationary_figure(names: Sequence[str], chain: np.ndarray, data: np.ndarray,
                      title: str = N_("In the long run"), height: int = 340,
                      font_scale: float = 1.0) -> go.Figure:
    """Bars per state: the chain's stationary distribution beside the data's frequencies.

    chain, data: (S,) shares summing to 1 (data: how often each state occurs in the training
    windows)."""
    chain, data = np.asarray(chain, dtype=float), np.asarray(data, dtype=float)
    if not len(names) == len(chain) == len(data):
        raise ValueError(f"{len(names)} names for {len(chain)} and {len(data)} shares")
    fig = go.Figure([
        go.Bar(x=list(names), y=chain, name=_("the model's chain (exact)"),
               marker_color=TRAIN_COLOR,  # %{x}, %{y:.1%}: plotly's, kept in the translation
               hovertemplate=_("%{x}: %{y:.1%} of the time") + "<extra>" + _("chain")
               + "</extra>"),
        go.Bar(x=list(names), y=data, name=_("the training data"), marker_color=VAL_COLOR,
               hovertemplate=_("%{x}: %{y:.1%} of the windows") + "<extra>" + _("data")
               + "</extra>"),
    ])
    layout = base_layout(_(title), height)
    layout["font"]["size"] = round(layout["font"]["size"] * font_scale)
    fig.update_layout(**layout, barmode="group")
    fig.update_yaxes(title_text=_("share of the time"), tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(title_text=_("state"), type="category")
    return fig
