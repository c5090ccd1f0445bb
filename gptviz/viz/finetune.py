"""Figures for GPT-1's fine-tuning: the comparison chart, and an example as a token sequence.

Pure builders: data in, a plotly Figure out. Plotly reads text labels as a small subset of
HTML, so every label is passed through esc: "<start>" and a user's "<b>" show as typed.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gptviz.gpt1.comparison import RunCurve
from gptviz.gpt1.finetune import (
    DELIM,
    EXTRACT,
    MULTIPLE_CHOICE,
    SIMILARITY,
    START,
    example_sequences,
)
from gptviz.gpt1.labelled import LabelledExample
from gptviz.i18n import N_, _
from gptviz.tokenizers import Tokenizer


def esc(text: str) -> str:
    """text with <, > and & written as entities that plotly decodes (it leaves &quot; as it
    is, so quotes stay quotes: they are not markup in plotly's text)."""
    return html.escape(text, quote=False)


COLORS = {"pretrained": "#1f77b4", "scratch": "#ff7f0e"}
NAMES = {"pretrained": N_("from the pre-trained GPT"),
         "scratch": N_("from scratch (random weights)")}
FONT = dict(size=16)


def comparison_figure(runs: Sequence[RunCurve], n_labelled: int | None = None,
                      chance: float = 0.5, title: str | None = None) -> go.Figure:
    """Two panels: validation accuracy over steps (at n_labelled examples), and final
    validation accuracy over the number of labelled examples; one curve per starting point.

    n_labelled None: the largest number of examples among the runs.
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
        _("Accuracy while fine-tuning"), _("Accuracy after fine-tuning")))
    counts = sorted({r.n_labelled for r in runs})
    if n_labelled is None and counts:
        n_labelled = counts[-1]
    if n_labelled is not None:
        fig.layout.annotations[0].text = _("Accuracy while fine-tuning, {n} labelled "
                                           "examples").format(n=n_labelled)
    for init in ("pretrained", "scratch"):
        mine = [r for r in runs if r.init == init]
        for r in mine:
            if r.n_labelled != n_labelled or not r.steps:
                continue
            fig.add_trace(go.Scatter(
                x=r.steps, y=r.val_accuracy, mode="lines+markers", name=_(NAMES[init]),
                legendgroup=init, line=dict(color=COLORS[init], width=3),
                hovertemplate=_("step %{x}<br>accuracy %{y:.1%}<extra></extra>"),
            ), row=1, col=1)
        finals = sorted((r.n_labelled, r.final_accuracy) for r in mine
                        if r.final_accuracy is not None)
        if finals:
            fig.add_trace(go.Scatter(
                x=[n for n, _a in finals], y=[a for _n, a in finals], mode="lines+markers",
                name=_(NAMES[init]), legendgroup=init, showlegend=not any(
                    r.n_labelled == n_labelled and r.steps for r in mine),
                line=dict(color=COLORS[init], width=3), marker=dict(size=10),
                hovertemplate=_("%{x} examples<br>accuracy %{y:.1%}<extra></extra>"),
            ), row=1, col=2)
    if not any(r.final_accuracy is not None for r in runs):
        fig.add_annotation(text=_("filled in as runs finish"), x=0.5, y=0.5, xref="x2 domain",
                           yref="y2 domain", showarrow=False, font=dict(color="grey", size=15))
    for col in (1, 2):
        fig.add_hline(y=chance, line=dict(color="grey", dash="dash"), row=1, col=col)
    fig.add_annotation(text=_("chance ({chance:.0%})").format(chance=chance), x=1,
                       xref="x domain", y=chance, yref="y",
                       yanchor="bottom", xanchor="right", showarrow=False,
                       font=dict(color="grey", size=14))
    fig.update_yaxes(title_text=_("validation accuracy"), range=[0.0, 1.02], tickformat=".0%",
                     row=1, col=1)
    fig.update_yaxes(range=[0.0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(title_text=_("fine-tuning step"), row=1, col=1)
    fig.update_xaxes(title_text=_("labelled training examples"), type="log",
                     tickvals=counts or None, row=1, col=2)
    fig.update_layout(
        title=esc(title) if title else None, font=FONT, height=460,
        margin=dict(l=70, r=20, t=90 if title else 60, b=60),
        legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
    )
    return fig


# --- an example as token sequences ----------------------------------------------------------

SPECIAL_COLORS = {"start": "#2ca02c", "delim": "#d62728", "extract": "#9467bd"}
# the texts' colours, by what they are (so text A keeps its colour when it comes second)
PART_COLORS = {"text A": "#dbe9f6", "text B": "#fde4cc", "context": "#dbe9f6",
               "choice": "#fde4cc"}
OTHER_PART_COLORS = ("#dbe9f6", "#fde4cc")  # any other part name: by its place
# the part names are shown (translated) in the legend; marked here for the catalogue
PART_NAMES = (N_("text A"), N_("text B"), N_("context"), N_("choice"))
KIND_NAMES = {"start": START, "delim": DELIM, "extract": EXTRACT}
SPECIAL_KINDS = {START: "start", DELIM: "delim", EXTRACT: "extract"}
ROW_GAP = 1.5  # y units from one row of boxes to the next
SEQUENCE_GAP = 0.5  # extra y units between two sequences


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
                          per_row: float = 24.0, title: str | None = None,
                          parts: tuple[str, str] = ("text A", "text B")) -> go.Figure:
    """The transformed example as coloured boxes, left to right, wrapping into rows.

    tokens: each token's text (tokenizer.token_str); ids: the token ids, shown on hover;
    parts: what the text before and after <delim> is called in the legend.
    A special token takes a wider box so its name fits; a space shows as a visible mark.
    """
    return token_sequences_figure([tokens], None if ids is None else [ids], per_row=per_row,
                                  title=title, parts=[parts])


def token_sequences_figure(sequences: Sequence[Sequence[str]],
                           ids: Sequence[Sequence[int]] | None = None,
                           labels: Sequence[str] | None = None, per_row: float = 24.0,
                           title: str | None = None,
                           parts: Sequence[tuple[str, str]] | None = None,
                           row_after_delim: bool = False) -> go.Figure:
    """Several token sequences of one example (similarity: both orders; multiple choice: one
    per choice), one under the other, each named at its left by labels.

    parts[k]: what the text before and after <delim> is in sequence k (default text A, text B);
    a part keeps its colour wherever it comes, so "text A" is the same colour in both orders.
    row_after_delim: the text after <delim> starts a new row, so that the choices (or the
    second texts) line up under each other.
    """
    if not sequences:
        raise ValueError("There is no sequence to draw.")
    n = len(sequences)
    for name, given in (("ids", ids), ("labels", labels), ("parts", parts)):
        if given is not None and len(given) != n:
            raise ValueError(f"{name} must have one entry per sequence")
    if ids is not None and any(len(i) != len(t) for i, t in zip(ids, sequences, strict=True)):
        raise ValueError("tokens and ids must have the same length")
    parts = list(parts or [("text A", "text B")] * n)
    xs, ys, texts, hovers, boxes, special = [], [], [], [], [], []
    legend: dict[str, str] = {}  # legend name -> colour, in order of appearance
    label_y: list[float] = []
    y, n_rows = 0.0, 0
    for k, tokens in enumerate(sequences):
        x, n_rows = 0.0, n_rows + 1
        label_y.append(y)
        for i, (tok, kind) in enumerate(zip(tokens, token_kinds(tokens), strict=True)):
            if kind in ("a", "b"):
                name = parts[k][0 if kind == "a" else 1]
                color = PART_COLORS.get(name, OTHER_PART_COLORS[kind == "b"])
                width = 1.0
            else:
                name, color = KIND_NAMES[kind], SPECIAL_COLORS[kind]
                width = 0.55 * len(tok) + 0.6
            legend.setdefault(name, color)
            after_delim = row_after_delim and i > 0 and tokens[i - 1] == DELIM
            if (x + width > per_row or after_delim) and x > 0:
                x, y, n_rows = 0.0, y - ROW_GAP, n_rows + 1
            boxes.append(dict(type="rect", x0=x + 0.04, x1=x + width - 0.04, y0=y - 0.5,
                              y1=y + 0.5, fillcolor=color, layer="below",
                              line=dict(color="#555", width=1)))
            xs.append(x + width / 2)
            ys.append(y)
            texts.append(esc(shown(tok)))
            hovers.append((f"{esc(labels[k])}<br>" if labels else "")
                          + _("position {i}<br>token {token}").format(i=i,
                                                                      token=esc(repr(tok)))
                          + (_("<br>id {id}").format(id=ids[k][i]) if ids is not None else ""))
            special.append(kind not in ("a", "b"))
            x += width
        y -= ROW_GAP + SEQUENCE_GAP
    bottom = y + ROW_GAP + SEQUENCE_GAP  # the last row's y
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="text", text=texts, hovertext=hovers, hoverinfo="text",
        textfont=dict(size=[15 if s else 20 for s in special],
                      color=["white" if s else "black" for s in special],
                      family="monospace"),
        showlegend=False,
    ))
    for name, color in legend.items():  # a legend entry per kind present, in order
        fig.add_trace(go.Scatter(
            x=[None], y=[None], mode="markers", name=esc(_(name)),
            marker=dict(symbol="square", size=16, color=color,
                        line=dict(color="#555", width=1)),
        ))
    fig.update_xaxes(visible=False, range=[-0.2, per_row + 0.2])
    if labels:  # each sequence's name at the left of its first row
        fig.update_yaxes(tickvals=label_y, ticktext=[esc(t) for t in labels],
                         showgrid=False, zeroline=False, showline=False, ticks="",
                         tickfont=dict(size=16))
    else:
        fig.update_yaxes(visible=False)
    fig.update_yaxes(range=[bottom - 0.7, 0.7], scaleanchor=None)
    fig.update_layout(
        shapes=boxes,  # all at once: add_shape one by one re-validates the list each time
        title=dict(text=esc(title), y=0.98, yanchor="top") if title else None,
        font=FONT, plot_bgcolor="white",
        height=110 + 62 * n_rows + 31 * (n - 1) + (40 if title else 0),
        margin=dict(l=10, r=10, t=90 if title else 50, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return fig


MANY_PER_ROW = 34.0  # several sequences: <start>, 24 characters and <delim> fit in one row


def example_figure(tokenizer: Tokenizer, example: LabelledExample, transformation: str,
                   title: str | None = None, per_row: float | None = None) -> go.Figure:
    """One example as the sequences the model reads (the paper's figure 1), drawn.

    Similarity draws both orders, each text in its own colour wherever it comes; multiple
    choice draws one sequence per choice, the right one (example.label) marked as such when
    the example has a label (label -1: none, for a typed example). per_row None: 24 boxes
    wide for one sequence, MANY_PER_ROW for several (narrower boxes, half the rows).
    """
    seqs = example_sequences(tokenizer, example, transformation)
    tokens = [[tokenizer.token_str(i) for i in s] for s in seqs]
    labels: list[str] | None = None
    parts = [("text A", "text B")] * len(seqs)
    if transformation == SIMILARITY:
        labels, parts = ["A, B", "B, A"], [("text A", "text B"), ("text B", "text A")]
    elif transformation == MULTIPLE_CHOICE:
        labels = [(_("choice {k} (right)") if k == example.label else _("choice {k}"))
                  .format(k=k + 1) for k in range(len(seqs))]
        parts = [("context", "choice")] * len(seqs)
    if per_row is None:
        per_row = 24.0 if len(seqs) == 1 else MANY_PER_ROW
    return token_sequences_figure(tokens, seqs, labels=labels, per_row=per_row, title=title,
                                  parts=parts, row_after_delim=len(seqs) > 1)
