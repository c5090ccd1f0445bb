"""Figures for ablation: what each part does, and which of Baby GPT's arrows an ablation moved."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import plotly.graph_objects as go

from gptviz.ablate import PartEffect
from gptviz.ablation_report import ArrowChange
from gptviz.i18n import _
from gptviz.viz.screen import legend_below
from gptviz.viz.style import (
    HIGHLIGHT_COLOR,
    MIN_TEXT_SIZE,
    TRAIN_COLOR,
    UNSEEN_LINE,
    VAL_COLOR,
    base_layout,
)

HEAD_COLOR = TRAIN_COLOR
MLP_COLOR = VAL_COLOR
MAX_BARS = 40  # beyond this the bars are too thin to read: the largest are shown
MAX_BAR_LABELS = 24  # numbers on the bars up to this many bars
LAYER_LINE = "#d1d5db"


def part_effects_figure(effects: Sequence[PartEffect], *, title: str | None = None,
                        height: int = 380, max_bars: int = MAX_BARS,
                        font_scale: float = 1.0) -> go.Figure:
    """One bar per head and per MLP: how much the loss rises when that part alone is switched
    off (PartEffect.increase, nats per scored token), in layer order (a layer's heads, then its
    MLP). Heads and MLPs are two traces (two colours). With more than max_bars parts only the
    max_bars largest increases are drawn, largest first, and the subtitle says so."""
    if not effects:
        raise ValueError("no parts to draw")
    if font_scale <= 0:
        raise ValueError(f"font_scale must be positive, got {font_scale}")
    title = _("What each part does") if title is None else title
    shown = list(effects)
    subtitle = ""
    if len(shown) > max_bars:
        shown = sorted(shown, key=lambda e: -e.increase)[:max_bars]
        subtitle = _("the {shown} parts whose loss rose most, of {total}; largest first").format(
            shown=max_bars, total=len(effects))
    order = [e.name for e in shown]
    labelled = len(shown) <= MAX_BAR_LABELS
    size = round(MIN_TEXT_SIZE * font_scale)
    fig = go.Figure()
    for kind, colour, parts in (
            (_("attention head"), HEAD_COLOR, [e for e in shown if e.head is not None]),
            ("MLP", MLP_COLOR, [e for e in shown if e.head is None])):
        if not parts:
            continue
        fig.add_trace(go.Bar(
            x=[e.name for e in parts], y=[e.increase for e in parts], name=kind,
            marker_color=colour, customdata=[[e.loss, e.base_loss] for e in parts],
            text=[f"{e.increase:+.2f}" for e in parts] if labelled else None,
            textposition="outside", cliponaxis=False, textfont=dict(size=size),
            hovertemplate=_("%{x} off: loss %{customdata[1]:.3f} → %{customdata[0]:.3f} "
                            "(%{y:+.3f})") + "<extra></extra>"))
    layout = base_layout(title, height)
    layout["font"]["size"] = round(layout["font"]["size"] * font_scale)
    layout["title"]["font"]["size"] = round(layout["title"]["font"]["size"] * font_scale)
    if subtitle:
        layout["title"]["subtitle"] = dict(text=subtitle, font=dict(size=size))
    if not subtitle:  # a thin line between layers
        bounds = [i - 0.5 for i in range(1, len(shown)) if shown[i].layer != shown[i - 1].layer]
        layout["shapes"] = [dict(type="line", xref="x", yref="paper", x0=b, x1=b, y0=0, y1=1,
                                 line=dict(color=LAYER_LINE, width=1)) for b in bounds]
    layout["legend"]["font"] = dict(size=size)
    fig.update_layout(**layout, barmode="relative", bargap=0.25)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order,
                     tickfont=dict(size=size))
    fig.update_yaxes(title_text=_("loss increase (nats)"), tickfont=dict(size=size),
                     zeroline=True, zerolinecolor="#6b7280", zerolinewidth=2)
    return fig


def arrow_changes_figure(changes: Sequence[ArrowChange], token_str: Callable[[int], str] = str,
                         *, top: int = 8, title: str | None = None,
                         height: int = 360, font_scale: float = 1.0) -> go.Figure:
    """The `top` arrows of `changes` (arrow_changes' order: most moved first), one row each,
    the most moved at the top, labelled 'from → to  p% to q%': a grey dot at the probability
    with every part on, a red dot at the probability with the parts off, a line between."""
    if not changes:
        raise ValueError("no arrows to draw")
    if font_scale <= 0:
        raise ValueError(f"font_scale must be positive, got {font_scale}")
    title = _("Arrows that moved most") if title is None else title
    start = _("(start)")
    rows = list(changes[:top])[::-1]  # plotly draws the first row at the bottom

    def name(s: tuple[int, ...]) -> str:
        return "".join(token_str(t) for t in s) or start

    label = _("{state} → {next}   {before:.0%} to {after:.0%}")
    labels = [label.format(state=name(c.state), next=name(c.next), before=c.before,
                           after=c.after) for c in rows]
    size = round(MIN_TEXT_SIZE * font_scale)
    xs: list[float | None] = []
    ys: list[str | None] = []
    for c, label in zip(rows, labels, strict=True):
        xs += [100 * c.before, 100 * c.after, None]
        ys += [label, label, None]
    dot = 14 * font_scale
    fig = go.Figure([
        go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=UNSEEN_LINE, width=3),
                   hoverinfo="skip", showlegend=False),
        go.Scatter(x=[100 * c.before for c in rows], y=labels, mode="markers",
                   name=_("every part on"), marker=dict(color="#6b7280", size=dot),
                   hovertemplate=_("%{x:.1f}% with every part on") + "<extra></extra>"),
        go.Scatter(x=[100 * c.after for c in rows], y=labels, mode="markers",
                   name=_("with the parts off"), marker=dict(color=HIGHLIGHT_COLOR, size=dot),
                   hovertemplate=_("%{x:.1f}% with the parts off") + "<extra></extra>"),
    ])
    layout = base_layout(title, height)
    layout["font"]["size"] = round(layout["font"]["size"] * font_scale)
    layout["title"]["font"]["size"] = round(layout["title"]["font"]["size"] * font_scale)
    layout["margin"] = dict(l=10, r=30, t=50, b=50)
    fig.update_layout(**layout)
    fig.update_xaxes(title_text=_("probability (%)"), range=[-4, 104],
                     tickvals=[0, 25, 50, 75, 100], tickfont=dict(size=size))
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels,
                     tickfont=dict(size=size), automargin=True)
    return legend_below(fig, font_scale)
