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
from _plotly_utils.basevalidators import is_homogeneous_array
from _plotly_utils.utils import is_skipped_key, to_typed_array_spec

from gptviz.i18n import language


def figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """A Figure from trace and layout dicts, skipping plotly's property validation: a
    ReadyFigure, made into plotly's objects only if something reads it as a figure."""
    return ReadyFigure(data, layout)


# what a ReadyFigure answers without becoming a full figure: what st.plotly_chart reads, and
# the lookups of pickle and copy (object.__reduce_ex__ then calls our __reduce__)
_READY = frozenset({"to_dict", "to_plotly_json", "_ready", "__class__", "__dict__",
                    "__reduce__", "__reduce_ex__"})


class ReadyFigure(go.Figure):
    """A go.Figure that holds its trace and layout dicts as they are until it is read.

    Even unvalidated, go.Figure(data, layout) builds an object for every trace and layout
    property, and st.plotly_chart then asks it for to_dict(), which deep-copies them back:
    for Baby GPT's 16 attention heatmaps 6 ms and 4.5 ms a redraw, about half of what its live
    view cost the process that trains. A ReadyFigure gives to_dict() straight from its dicts
    (copied, so that plotly's conversion of arrays in that copy leaves them as they are), and
    becomes an ordinary go.Figure, built from the same dicts, the first time anything else of
    it is used (fig.data, fig.layout, update_layout, show, ...): tests and notebooks see a
    plotly figure, and tests/test_viz_fast.py checks that both give the same dict.
    """

    def __init__(self, data: list[dict[str, Any]], layout: dict[str, Any]) -> None:
        object.__setattr__(self, "_ready", (data, layout))  # go.Figure.__init__ not yet

    def __getattribute__(self, name: str) -> Any:
        if name not in _READY:
            ready = object.__getattribute__(self, "_ready")
            if ready is not None:
                object.__setattr__(self, "_ready", None)
                go.Figure.__init__(self, data=ready[0], layout=ready[1], _validate=False)
        return object.__getattribute__(self, name)

    def to_dict(self) -> dict[str, Any]:
        ready = object.__getattribute__(self, "_ready")
        if ready is None:
            return go.Figure.to_dict(self)
        # the layout's values came from plotly's own to_plotly_json() (layout_cache): no arrays
        # to convert; its template, most of its size, is shared, as plotly never changes it
        return {"data": _encoded(ready[0]), "layout": _tree(ready[1], shared=("template",))}

    def to_plotly_json(self) -> dict[str, Any]:
        return self.to_dict()

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:
        """A pickle or deep copy is a plain go.Figure of the same dict, as plotly's own is
        rebuilt from its to_dict()."""
        return go.Figure, (self.to_dict(),)


def _tree(x: Any, shared: tuple[str, ...] = ()) -> Any:
    """A copy of the dicts and lists in x; everything else (arrays, strings, numbers) shared,
    and so are the values of x's own keys named in `shared`."""
    if isinstance(x, dict):
        return {k: v if k in shared else _tree(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_tree(v) for v in x]
    return x


def _encoded(x: Any) -> Any:
    """A copy of x as plotly's to_dict() makes it: _tree's copy, with every array that is a
    dict's value (outside the keys plotly skips) as plotly.js's typed-array spec, exactly as
    plotly's convert_to_base64 does it, in one pass that asks about arrays only of what is
    not a dict, list, string or number (plotly asks numpy, pandas and narwhals of every value:
    4 ms a redraw of the attention grid)."""
    if isinstance(x, dict):
        return {k: _tree(v) if is_skipped_key(k) else _value(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_encoded(v) if isinstance(v, dict | list | tuple) else v for v in x]
    return x


def _value(v: Any) -> Any:
    if isinstance(v, dict | list | tuple):
        return _encoded(v)
    if isinstance(v, str | int | float | None):
        return v
    return to_typed_array_spec(v) if is_homogeneous_array(v) else v


def layout_cache(build: Callable[..., go.Figure]) -> Callable[..., dict[str, Any]]:
    """Decorate a function that builds a (validated) figure from hashable arguments: the result
    returns a fresh copy of that figure's layout, as a dict, built only once per arguments.

    A `title` argument is not part of the key: live pages put the step in their titles ("...
    at step 1,234"), and a cache keyed by it missed on every redraw (a 4 x 4 attention grid then
    cost 190 ms a redraw instead of 10, in the process that trains). The layout is built once
    with an empty title and each copy gets its own title text (base_layout puts the title
    nowhere else).

    The layout holds words (axis titles, annotations) in the language of the run that built it:
    the cache is keyed by the language too, so two sessions in two languages never share one."""
    # the first argument is the language: only the key, build reads it from the context
    cached = functools.lru_cache(maxsize=64)(
        lambda _lang, *a: build(*a).to_plotly_json()["layout"])
    params = list(inspect.signature(build).parameters)
    at = params.index("title") if "title" in params else None

    @functools.wraps(build)
    def get(*args: Any) -> dict[str, Any]:
        if at is None or at >= len(args):
            return _copy_layout(cached(language(), *args))
        title = args[at]
        layout = _copy_layout(cached(language(), *args[:at], "", *args[at + 1:]))
        layout.setdefault("title", {})["text"] = title
        return layout

    return get


def _copy_layout(layout: dict[str, Any]) -> dict[str, Any]:
    """A copy a builder may change, but for the resolved template (most of a layout's size),
    which no builder changes: shared with the cache, as plotly's own figures share theirs."""
    return {k: v if k == "template" else copy.deepcopy(v) for k, v in layout.items()}


@functools.lru_cache(maxsize=16)
def colorscale(name: str) -> list[list[Any]]:
    """A named colorscale as plotly.py resolves it (its stops, not plotly.js's own of the name)."""
    return [list(stop) for stop in go.Heatmap(colorscale=name).colorscale]
