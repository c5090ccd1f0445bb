"""The loss curve of a text model, with its milestones drawn as reference lines."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from gptviz.i18n import _
from gptviz.train import EvalEvent
from gptviz.viz import fast
from gptviz.viz.loss import loss_parts

REFERENCE_COLOURS = ("#7F7F7F", "#2CA02C", "#9467BD")


def text_loss_figure(steps: Sequence[int], losses: Sequence[float],
                     evals: Sequence[EvalEvent], references: Mapping[str, float],
                     title: str | None = None,
                     lrs: Sequence[float] | None = None) -> go.Figure:
    """loss_figure plus one dotted horizontal line per reference value, labelled (lrs: the
    learning rate at each step, in a panel under the loss, as loss_figure draws it; title:
    "Loss (cross-entropy per character)" in the reader's language unless given; the reference
    labels are shown with _(label), marked with N_ where they are made).

    Redrawn live: the lines are built (by plotly's validated add_hline, ~5 ms each) once per
    set of references, and the figure is assembled without validation (see viz/fast.py).
    """
    if title is None:
        title = _("Loss (cross-entropy per character)")
    data, layout = loss_parts(steps, losses, evals, floor=None, title=title, lrs=lrs)
    # written before the cache, in the reader's language: the key holds the words shown
    shapes, annotations = _reference_lines(tuple(
        (_("{label}: {value:.2f}").format(label=_(k), value=v), v) for k, v in references.items()))
    layout["shapes"] = [*layout.get("shapes", ()), *copy.deepcopy(shapes)]
    layout["annotations"] = [*layout.get("annotations", ()), *copy.deepcopy(annotations)]
    return fast.figure(data, layout)


@functools.lru_cache(maxsize=16)
def _reference_lines(references: tuple[tuple[str, float], ...]) -> tuple[list, list]:
    """references: (the line's annotation, its value)."""
    fig = go.Figure()
    for (text, value), colour in zip(references, REFERENCE_COLOURS, strict=False):
        fig.add_hline(y=value, line=dict(color=colour, dash="dot", width=2),
                      annotation_text=text, annotation_position="top right",
                      annotation_font=dict(color=colour, size=15))
    layout = fig.to_plotly_json()["layout"]
    return layout.get("shapes", []), layout.get("annotations", [])
