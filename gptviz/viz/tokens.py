"""Token spans: the text as the tokenizer cut it, one coloured box per token, with its id.

The builders return data (TokenSpan records, table rows) and an escaped HTML string; nothing
here renders. User text goes through `html.escape` before it reaches any HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from gptviz.i18n import _
from gptviz.tokenizers import BPETokenizer, Tokenizer

# pastel backgrounds that keep black text readable on a projector; neighbours always differ
PALETTE = ("#fde68a", "#bbf7d0", "#bfdbfe", "#fbcfe8", "#ddd6fe", "#fed7aa", "#a5f3fc",
           "#d9f99d")

VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


def visible(text: str) -> str:
    """Whitespace made visible (␣ ↵ ⇥), for table cells and axis labels."""
    return "".join(VISIBLE.get(c, c) for c in text)


@dataclass(frozen=True)
class TokenSpan:
    text: str  # the token's own text (partial UTF-8 bytes shown as \\xNN)
    id: int
    colour: str


def token_spans(tokenizer: Tokenizer, ids: Sequence[int]) -> list[TokenSpan]:
    return [TokenSpan(tokenizer.token_str(i), int(i), PALETTE[n % len(PALETTE)])
            for n, i in enumerate(ids)]


def _span_text(text: str) -> str:
    """Escaped token text; a new line shows as ↵ and then breaks the line."""
    out = []
    for c in text:
        if c == "\n":
            out.append("↵<br>")
        elif c == "\t":
            out.append("⇥")
        else:
            out.append(html.escape(c))
    return "".join(out)


def spans_html(spans: Sequence[TokenSpan], show_ids: bool = True, font_px: int = 22) -> str:
    """One coloured box per token, its id underneath (hover shows it too). Safe to render:
    every piece of user text is escaped, and the colours come from our own palette.
    """
    boxes = []
    for s in spans:
        label = _span_text(s.text) if s.text else "&nbsp;"
        tip = html.escape(_("token {id}: {text}").format(id=s.id, text=repr(s.text)),
                          quote=True)
        idline = (f'<span style="display:block;font-size:0.55em;color:#374151;'
                  f'font-family:monospace">{s.id}</span>') if show_ids else ""
        boxes.append(
            f'<span title="{tip}" style="display:inline-block;vertical-align:top;'
            f'background:{html.escape(s.colour, quote=True)};border-radius:4px;'
            f'padding:1px 3px;margin:2px 1px;white-space:pre;text-align:center">'
            f'{label}{idline}</span>'
        )
    return (f'<div style="font-size:{int(font_px)}px;line-height:1.9;'
            f'font-family:ui-monospace,monospace;color:#111827">{"".join(boxes)}</div>')


def merges_table(tokenizer: BPETokenizer, limit: int | None = None) -> list[dict[str, object]]:
    """The merges in the order they were learned: rank, pair, new token and how often it
    occurred in the corpus when it was chosen (whitespace shown as ␣ ↵)."""
    rows = []
    # the column headers, in the reader's language
    order, left, right, new = _("order"), _("left"), _("right"), _("new token")
    pairs = _("pairs in corpus")
    for m in tokenizer.merges[:limit]:
        rows.append({
            order: m.rank + 1,
            left: visible(tokenizer.token_str(m.left)),
            right: visible(tokenizer.token_str(m.right)),
            new: visible(tokenizer.token_str(m.new)),
            "id": m.new,
            pairs: m.count,
        })

    return rows
