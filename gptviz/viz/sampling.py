"""Pictures of generation, one token at a time (document 003).

`candidates_figure`: the most likely next tokens and their probabilities, the drawn one
highlighted. `context_html`: the text so far with the context window (the last block_size tokens,
all the model sees) highlighted; every piece of text is html.escape'd, so it renders as text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go

from gptviz.generate import GenerationStep
from gptviz.i18n import _
from gptviz.tokenizers import Tokenizer
from gptviz.viz.windows import plotly_text, visible_token

DRAWN_COLOUR = "#E45756"  # red: the token drawn
CANDIDATE_COLOUR = "#4C78A8"  # blue: other candidates
MODEL_COLOUR = "#222222"  # black marks: the model's own probability (temperature 1, no cuts)


def candidates_figure(step: GenerationStep, tokenizer: Tokenizer, n: int = 10,
                      name: str | None = None) -> go.Figure:
    """Horizontal bars: the top-n candidates under the distribution drawn from, best on top.

    Bars are the probabilities after temperature, top-k and top-p; black diamonds are the
    model's raw probabilities (softmax of its logits), so the effect of each setting is visible.
    The drawn token's bar is red; if it is not among the top n it is added as the last row.
    name titles the step (default: the position of the new token in the text).
    """
    top = list(step.top[:n])
    if step.token not in [c.token for c in top]:
        top.append(step.drawn)
    rows = list(range(len(top)))  # numeric rows: two tokens could share a label
    labels = [plotly_text(visible_token(tokenizer.token_str(c.token))) for c in top]
    colours = [DRAWN_COLOUR if c.token == step.token else CANDIDATE_COLOUR for c in top]
    fig = go.Figure()
    fig.add_bar(
        y=rows, x=[c.prob for c in top], orientation="h", marker_color=colours,
        name=_("probability drawn from"), text=[f"{c.prob:.1%}" for c in top],
        textposition="outside", cliponaxis=False,
        hovertemplate="%{customdata}: %{x:.2%}<extra></extra>", customdata=labels,
    )
    fig.add_scatter(
        y=rows, x=[c.model_prob for c in top], mode="markers", name=_("model's own probability"),
        marker=dict(symbol="diamond", size=12, color=MODEL_COLOUR),
        hovertemplate=_("%{customdata}: model %{x:.2%}<extra></extra>"), customdata=labels,
    )
    drawn = visible_token(tokenizer.token_str(step.token))
    fig.update_layout(
        title=plotly_text(_("{name}: drew '{token}' ({prob:.1%})").format(
            name=name or _("Token {position}").format(position=step.position), token=drawn,
            prob=step.drawn.prob)),
        yaxis=dict(tickmode="array", tickvals=rows, ticktext=labels, autorange="reversed",
                   tickfont=dict(size=20)),
        xaxis=dict(title=_("probability"), range=[0, 1.15], tickformat=".0%"),
        height=140 + 36 * len(rows), margin=dict(l=10, r=30, t=60, b=50),
        legend=dict(orientation="h", y=-0.25), font=dict(size=16), bargap=0.25,
    )
    return fig


def context_html(tokens: Sequence[str], window_start: int, prompt_len: int,
                 newest: int | None = None, window_end: int | None = None) -> str:
    """The whole text, token by token, as escaped HTML spans.

    tokens[window_start:window_end] is the context window (what the model reads): highlighted
    (window_end defaults to the end). Tokens before it have slid out of the window: greyed.
    Tokens from prompt_len on were generated: bold. tokens[newest] gets a red outline.
    """
    end = len(tokens) if window_end is None else window_end
    spans = []
    for i, tok in enumerate(tokens):
        style = ["white-space:pre-wrap"]
        if window_start <= i < end:
            style.append("background:#FFE8A3")  # inside the context window
        elif i < window_start:
            style.append("color:#9A9A9A")  # slid out of the window
        if i >= prompt_len:
            style.append("font-weight:700")  # generated
        if i == newest:
            style.append("outline:2px solid #E45756")
        text = tok if tok != "\n" else "↵\n"  # a newline stays visible when highlighted
        spans.append(f'<span style="{";".join(style)}">{html.escape(text)}</span>')
    return ('<div style="font-family:monospace;font-size:1.35rem;line-height:1.7;'
            'white-space:pre-wrap;word-break:break-all">' + "".join(spans) + "</div>")
