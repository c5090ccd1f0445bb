"""The loss curve of a text model, with its milestones drawn as reference lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from gptviz.train import EvalEvent
from gptviz.viz.loss import loss_figure

REFERENCE_COLOURS = ("#7F7F7F", "#2CA02C", "#9467BD")


def text_loss_figure(steps: Sequence[int], losses: Sequence[float],
                     evals: Sequence[EvalEvent], references: Mapping[str, float],
                     title: str = "Loss (cross-entropy per character)") -> go.Figure:
    """loss_figure plus one dotted horizontal line per reference value, labelled."""
    fig = loss_figure(steps, losses, evals, floor=None, title=title)
    for (label, value), colour in zip(references.items(), REFERENCE_COLOURS, strict=False):
        fig.add_hline(y=value, line=dict(color=colour, dash="dot", width=2),
                      annotation_text=f"{label}: {value:.2f}", annotation_position="top right",
                      annotation_font=dict(color=colour, size=15))
    return fig
