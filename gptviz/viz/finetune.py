"""Figures for GPT-1's fine-tuning: the comparison chart, and an example as a token sequence.

Pure builders: data in, a plotly Figure out. Plotly reads text labels as a small subset of
HTML, so every label is passed through html.escape: "<start>" and a user's "<b>" show as typed.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gptviz.gpt1.comparison import RunCurve
from gptviz.gpt1.finetune import DELIM, EXTRACT, START

COLORS = {"pretrained": "#1f77b4", "scratch": "#ff7f0e"}
NAMES = {"pretrained": "from the pre-trained GPT", "scratch": "from scratch (random weights)"}
FONT = dict(size=16)


def comparison_figure(runs: Sequence[RunCurve], n_labelled: int | None = None,
                      chance: float = 0.5, title: str | None = None) -> go.Figure:
    """Two panels: validation accuracy over steps (at n_labelled examples), and final
    validation accuracy over the number of labelled examples; one curve per starting point.

    n_labelled None: the largest number of examples among the runs.
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
        "Accuracy while fine-tuning", "Accuracy after fine-tuning"))
    counts = sorted({r.n_labelled for r in runs})
    if n_labelled is None and counts:
        n_labelled = counts[-1]
    if n_labelled is not None:
        fig.layout.annotations[0].text = (f"Accuracy while fine-tuning, {n_labelled} labelled "
                                          f"examples")
    for init in ("pretrained", "scratch"):
        mine = [r for r in runs if r.init == init]
        for r in mine:
            if r.n_labelled != n_labelled or not r.steps:
                continue
            fig.add_trace(go.Scatter(
                x=r.steps, y=r.val_accuracy, mode="lines+markers", name=NAMES[init],
                legendgroup=init, line=dict(color=COLORS[init], width=3),
                hovertemplate="step %{x}<br>accuracy %{y:.1%}<extra></extra>",
            ), row=1, col=1)
        finals = sorted((r.n_labelled, r.final_accuracy) for r in mine
                        if r.final_accuracy is not None)
        if finals:
            fig.add_trace(go.Scatter(
                x=[n for n, _ in finals], y=[a for _, a in finals], mode="lines+markers",
                name=NAMES[init], legendgroup=init, showlegend=not any(
                    r.n_labelled == n_labelled and r.steps for r in mine),
                line=dict(color=COLORS[init], width=3), marker=dict(size=10),
                hovertemplate="%{x} examples<br>accuracy %{y:.1%}<extra></extra>",
            ), row=1, col=2)
    if not any(r.final_accuracy is not None for r in runs):
        fig.add_annotation(text="filled in as runs finish", x=0.5, y=0.5, xref="x2 domain",
                           yref="y2 domain", showarrow=False, font=dict(color="grey", size=15))
    for col in (1, 2):
        fig.add_hline(y=chance, line=dict(color="grey", dash="dash"), row=1, col=col)
    fig.add_annotation(text=f"chance ({chance:.0%})", x=1, xref="x domain", y=chance, yref="y",
                       yanchor="bottom", xanchor="right", showarrow=False,
                       font=dict(color="grey", size=14))
    fig.update_yaxes(title_text="validation accuracy", range=[0.0, 1.02], tickformat=".0%",
                     row=1, col=1)
    fig.update_yaxes(range=[0.0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(title_text="fine-tuning step", row=1, col=1)
    fig.update_xaxes(title_text="labelled training examples", type="log",
                     tickvals=counts or None, row=1, col=2)
    fig.update_layout(
        title=html.escape(title) if title else None, font=FONT, height=460,
        margin=dict(l=70, r=20, t=90 if title else 60, b=60),
        legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
    )
    return fig


# --- an example as one token sequence -------------------------------------------------------

TOKEN_COLORS = {
    "start": "#2ca02c", "delim": "#d62728", "extract": "#9467bd",
    "a": "#dbe9f6", "b": "#fde4cc",
}
KIND_NAMES = {"start": START, "delim": DELIM, "extract": EXTRACT, "a": "text A", "b": "text B"}
SPECIAL_KINDS = {START: "start", DELIM: "delim", EXTRACT: "extract"}


def token_kinds(tokens: Sequence[str]) -> list[str]:
    """For each token: "start", "delim", "extract", or "a"/"b" (which input it came from)."""
    kinds, part = [], "a"
    for t in tokens:
        kind = SPECIAL_KINDS.get(t)
        if kind == "delim":
            part = "b"
        kinds.append(kind or part)
    return kinds


def shown(token: str) -> str:
    """A token as it is drawn: a space as a visible mark, a newline as an arrow."""
    return {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5"}.get(token, token)


def token_sequence_figure(tokens: Sequence[str], ids: Sequence[int] | None = None,
                          per_row: float = 24.0, title: str | None = None) -> go.Figure:
    """The transformed example as coloured boxes, left to right, wrapping into rows.

    tokens: each token's text (tokenizer.token_str); ids: the token ids, shown on hover.
    A special token takes a wider box so its name fits; a space shows as a visible mark.
    """
    if ids is not None and len(ids) != len(tokens):
        raise ValueError("tokens and ids must have the same length")
    kinds = token_kinds(tokens)
    fig = go.Figure()
    x, row = 0.0, 0
    xs, ys, labels, hovers, boxes = [], [], [], [], []
    for i, (tok, kind) in enumerate(zip(tokens, kinds, strict=True)):
        width = 1.0 if kind in ("a", "b") else 0.55 * len(tok) + 0.6
        if x + width > per_row and x > 0:
            x, row = 0.0, row + 1
        y = -row * 1.5
        boxes.append(dict(type="rect", x0=x + 0.04, x1=x + width - 0.04, y0=y - 0.5,
                          y1=y + 0.5, fillcolor=TOKEN_COLORS[kind], layer="below",
                          line=dict(color="#555", width=1)))
        xs.append(x + width / 2)
        ys.append(y)
        labels.append(html.escape(shown(tok)))
        hovers.append(f"position {i}<br>token {html.escape(repr(tok))}"
                      + (f"<br>id {ids[i]}" if ids is not None else ""))
        x += width
    special = [k not in ("a", "b") for k in kinds]
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="text", text=labels, hovertext=hovers, hoverinfo="text",
        textfont=dict(size=[15 if s else 20 for s in special],
                      color=["white" if s else "black" for s in special],
                      family="monospace"),
        showlegend=False,
    ))
    for kind in dict.fromkeys(kinds):  # a legend entry per kind present, in order of appearance
        fig.add_trace(go.Scatter(
            x=[None], y=[None], mode="markers", name=html.escape(KIND_NAMES[kind]),
            marker=dict(symbol="square", size=16, color=TOKEN_COLORS[kind],
                        line=dict(color="#555", width=1)),
        ))
    n_rows = row + 1
    fig.update_xaxes(visible=False, range=[-0.2, per_row + 0.2])
    fig.update_yaxes(visible=False, range=[-(n_rows - 1) * 1.5 - 0.7, 0.7], scaleanchor=None)
    fig.update_layout(
        shapes=boxes,  # all at once: add_shape one by one re-validates the list each time
        title=dict(text=html.escape(title), y=0.98, yanchor="top") if title else None,
        font=FONT, height=110 + 62 * n_rows + (40 if title else 0), plot_bgcolor="white",
        margin=dict(l=10, r=10, t=90 if title else 50, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return fig
