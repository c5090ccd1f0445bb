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
import inspect
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go


def figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """A Figure from trace and layout dicts, skipping plotly's property validation."""
    return go.Figure(data=data, layout=layout, _validate=False)


def layout_cache(build: Callable[..., go.Figure]) -> Callable[..., dict[str, Any]]:
    """Decorate a function that builds a (validated) figure from hashable arguments: the result
    returns a fresh copy of that figure's layout, as a dict, built only once per arguments.

    A `title` argument is not part of the key: live pages put the step in their titles ("...
    at step 1,234"), and a cache keyed by it missed on every redraw (a 4 x 4 attention grid then
    cost 190 ms a redraw instead of 10, in the process that trains). The layout is built once
    with an empty title and each copy gets its own title text (base_layout puts the title
    nowhere else)."""
    cached = functools.lru_cache(maxsize=64)(lambda *a: build(*a).to_plotly_json()["layout"])
    params = list(inspect.signature(build).parameters)
    at = params.index("title") if "title" in params else None

    @functools.wraps(build)
    def get(*args: Any) -> dict[str, Any]:
        if at is None or at >= len(args):
            return copy.deepcopy(cached(*args))
        title = args[at]
        layout = copy.deepcopy(cached(*args[:at], "", *args[at + 1:]))
        layout.setdefault("title", {})["text"] = title
        return layout

    return get


@functools.lru_cache(maxsize=16)
def colorscale(name: str) -> list[list[Any]]:
    """A named colorscale as plotly.py resolves it (its stops, not plotly.js's own of the name)."""
    return [list(stop) for stop in go.Heatmap(colorscale=name).colorscale]
