"""Document 003's picture of training data: a window slid over the text makes (input, target) pairs.

Each window of block_size tokens is an input; the same window shifted one token to the right is
its target, so position t of the input is trained to predict target t (the token after it).
Sliding the window by one token gives the next example. Builders here are pure: data in, a plotly
Figure or plain rows out; token text is always shown as text (escaped for plotly's pseudo-HTML).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from gptviz.i18n import _
from gptviz.tokenizers import Tokenizer

_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
INPUT_COLOUR = "#4C78A8"  # blue: what the model reads
TARGET_COLOUR = "#F58518"  # orange: what it must predict
TEXT_COLOUR = "#E8E8E8"  # grey: the corpus itself


def visible_token(s: str) -> str:
    """A token's text with whitespace and control characters made visible (for labels and cells)."""
    if s == "":
        return "∅"
    out = []
    for c in s:
        if c in _VISIBLE:
            out.append(_VISIBLE[c])
        elif not c.isprintable():
            out.append(repr(c)[1:-1])  # e.g. \x07
        else:
            out.append(c)
    return "".join(out)


def plotly_text(s: str) -> str:
    """Text that plotly shows literally: it reads <b>, <br>, <a href> in strings as markup,
    and decodes entities, so escaping &, < and > displays the characters themselves."""
    return html.escape(s, quote=False)


@dataclass(frozen=True)
class Window:
    start: int  # offset of the window's first token in the text
    inputs: list[int]  # block_size token ids: text[start : start + block_size]
    targets: list[int]  # the same window shifted by one: text[start + 1 : start + block_size + 1]


def training_windows(ids: Sequence[int], start: int, count: int, block_size: int) -> list[Window]:
    """`count` consecutive windows (sliding by one token) beginning at offset `start`."""
    if block_size < 1 or count < 1:
        raise ValueError("block_size and count must be at least 1.")
    last = start + count - 1 + block_size  # index of the last target token
    if start < 0 or last >= len(ids):
        raise ValueError(f"Windows from offset {start} need {last + 1} tokens; the text has "
                         f"{len(ids)}. Pick an earlier offset or fewer windows.")
    return [Window(s, list(ids[s: s + block_size]), list(ids[s + 1: s + block_size + 1]))
            for s in range(start, start + count)]


def window_pairs(window: Window, tokenizer: Tokenizer) -> list[dict[str, str]]:
    """Every position of one window as an example: what the model has seen -> what comes next.

    Causal attention means position t only sees inputs[: t + 1], so one window holds block_size
    examples of growing context (the rows returned here, shortest first).
    """
    rows = []
    for t in range(len(window.inputs)):
        seen = tokenizer.decode(window.inputs[: t + 1])
        rows.append({_("position"): str(t), _("the model has seen"): visible_token(seen),
                     _("it should predict"): visible_token(
                         tokenizer.token_str(window.targets[t]))})
    return rows


def windows_figure(windows: Sequence[Window], tokenizer: Tokenizer,
                   max_positions: int | None = None) -> go.Figure:
    """The text on top, then each window's input row and its target row one column to the right.

    Columns are positions in the text, so the windows visibly slide and every target sits under
    the input token that comes after it. max_positions cuts each window to its first tokens so a
    long context still fits on a projector.
    """
    if not windows:
        raise ValueError("No windows to draw.")
    width = len(windows[0].inputs) if max_positions is None else min(max_positions,
                                                                     len(windows[0].inputs))
    first = windows[0].start
    last = windows[-1].start + width  # the last target column drawn
    cols = list(range(first, last + 1))
    # the corpus row: the tokens under every column, read from the windows themselves
    corpus: dict[int, int] = {}
    for w in windows:
        for i in range(width):
            corpus[w.start + i] = w.inputs[i]
            corpus[w.start + i + 1] = w.targets[i]

    row_names = [_("text")]
    z: list[list[float | None]] = [[0.0] * len(cols)]
    text: list[list[str]] = [[plotly_text(visible_token(tokenizer.token_str(corpus[c])))
                              for c in cols]]
    for k, w in enumerate(windows, start=1):
        for name, ids, offset, value in ((_("window {k} input").format(k=k), w.inputs, 0, 1.0),
                                         (_("window {k} target").format(k=k), w.targets, 1, 2.0)):
            zrow: list[float | None] = [None] * len(cols)
            trow = [""] * len(cols)
            for i in range(width):
                c = w.start + offset + i - first
                zrow[c] = value
                trow[c] = plotly_text(visible_token(tokenizer.token_str(ids[i])))
            row_names.append(name)
            z.append(zrow)
            text.append(trow)

    fig = go.Figure(go.Heatmap(
        z=z, x=[str(c) for c in cols], y=row_names, text=text, texttemplate="%{text}",
        textfont=dict(size=20), zmin=0, zmax=2, showscale=False, xgap=2, ygap=2,
        colorscale=[[0.0, TEXT_COLOUR], [0.33, TEXT_COLOUR], [0.34, INPUT_COLOUR],
                    [0.66, INPUT_COLOUR], [0.67, TARGET_COLOUR], [1.0, TARGET_COLOUR]],
        hovertemplate=_("%{y}, text position %{x}: %{text}<extra></extra>"),
    ))
    if width == len(windows[0].inputs):
        title = _("{n} windows sliding by one character: blue = input, orange = target (input "
                  "shifted by one)").format(n=len(windows))
    else:
        title = _("{n} windows sliding by one character (first {width} of {positions} "
                  "positions): blue = input, orange = target (input shifted by one)").format(
            n=len(windows), width=width, positions=len(windows[0].inputs))
    fig.update_layout(
        title=plotly_text(title),
        yaxis=dict(autorange="reversed", tickfont=dict(size=16)),
        xaxis=dict(title=_("position in the text"), type="category"),
        height=120 + 60 * len(row_names), margin=dict(l=10, r=10, t=60, b=40),
        font=dict(size=16),
    )
    return fig
