"""Plotly figures for live redraws: the layout built (and validated) once, the data not at all.

plotly.py checks every property it is given. For figures redrawn twice a second in the process
that trains, that checking was most of the cost: 28 ms to set a layout with a template, 160 ms
for a 4 x 4 make_subplots, 130 ms for the attention heatmaps and 50 ms for the loss curve on this
machine, against 1 to 3 ms for the same figures unvalidated. And a live page's drawing runs in
the training process: every millisecond of it holding Python's GIL is taken from training.

So each builder caches the part that does not change between redraws (axes, titles, subplot
grid, template), made once by plotly's validated API, and adds the changing traces as plain
dicts without validation. tests/test_viz_fast.py checks that plotly's own validation of each
result gives back the same figure.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go


def figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """A Figure from trace and layout dicts, skipping plotly's property validation."""
    return go.Figure(data=data, layout=layout, _validate=False)


def layout_cache(build: Callable[..., go.Figure]) -> Callable[..., dict[str, Any]]:
    """Decorate a function that builds a (validated) figure from hashable arguments: the result
    returns a fresh copy of that figure's layout, as a dict, built only once per arguments."""
    cached = functools.lru_cache(maxsize=64)(lambda *a: build(*a).to_plotly_json()["layout"])

    @functools.wraps(build)
    def get(*args: Any) -> dict[str, Any]:
        return copy.deepcopy(cached(*args))

    return get


@functools.lru_cache(maxsize=16)
def colorscale(name: str) -> list[list[Any]]:
    """A named colorscale as plotly.py resolves it (its stops, not plotly.js's own of the name)."""
    return [list(stop) for stop in go.Heatmap(colorscale=name).colorscale]
