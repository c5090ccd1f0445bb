"""The loss curve of a text model, with its milestones drawn as reference lines."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from gptviz.train import EvalEvent
from gptviz.viz import fast
from gptviz.viz.loss import loss_parts

REFERENCE_COLOURS = ("#7F7F7F", "#2CA02C", "#9467BD")


def text_loss_figure(steps: Sequence[int], losses: Sequence[float],
                     evals: Sequence[EvalEvent], references: Mapping[str, float],
                     title: str = "Loss (cross-entropy per character)",
                     lrs: Sequence[float] | None = None) -> go.Figure:
    """loss_figure plus one dotted horizontal line per reference value, labelled (lrs: the
    learning rate at each step, in a panel under the loss, as loss_figure draws it).

    Redrawn live: the lines are built (by plotly's validated add_hline, ~5 ms each) once per
    set of references, and the figure is assembled without validation (see viz/fast.py).
    """
    data, layout = loss_parts(steps, losses, evals, floor=None, title=title, lrs=lrs)
    shapes, annotations = _reference_lines(tuple(references.items()))
    layout["shapes"] = [*layout.get("shapes", ()), *copy.deepcopy(shapes)]
    layout["annotations"] = [*layout.get("annotations", ()), *copy.deepcopy(annotations)]
    return fast.figure(data, layout)


@functools.lru_cache(maxsize=16)
def _reference_lines(references: tuple[tuple[str, float], ...]) -> tuple[list, list]:
    fig = go.Figure()
    for (label, value), colour in zip(references, REFERENCE_COLOURS, strict=False):
        fig.add_hline(y=value, line=dict(color=colour, dash="dot", width=2),
                      annotation_text=f"{label}: {value:.2f}", annotation_position="top right",
                      annotation_font=dict(color=colour, size=15))
    layout = fig.to_plotly_json()["layout"]
    return layout.get("shapes", []), layout.get("annotations", [])
