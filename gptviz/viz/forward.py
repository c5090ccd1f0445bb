"""Figures for the forward pass: one stage's numbers, the final top-k, and the logit lens.

Rows are labelled by tokens with their position ("3 ␣am"), because a token can occur twice and
plotly merges equal category labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from gptviz.i18n import N_, _
from gptviz.trace import Stage
from gptviz.viz.style import HEAT_SCALE, base_layout
from gptviz.viz.tokens import visible

SIGNED_SCALE = "RdBu_r"  # blue negative, white zero, red positive
MAX_COLS = 96  # more columns than this are cut (and the title says so)
TOP_K = 10
# column names the callers pass (as identifiers), shown with _(): singular and plural
COL_NAMES = {"dimension": (N_("dimension"), N_("dimensions")), "key": (N_("key"), N_("keys")),
             "hidden unit": (N_("hidden unit"), N_("hidden units"))}


def _col(col_name: str, plural: bool = False) -> str:
    """A column name in the reader's language (an unknown one as it is, "s" for its plural)."""
    if col_name in COL_NAMES:
        return _(COL_NAMES[col_name][plural])
    return f"{col_name}s" if plural else col_name


def position_labels(tokens: Sequence[str]) -> list[str]:
    """Unique, readable axis labels: "position token" with whitespace made visible."""
    return [f"{i} {visible(t)}" for i, t in enumerate(tokens)]


def _heat(z: np.ndarray, x: Sequence[str], y: Sequence[str], signed: bool,
          hover: str, showscale: bool = True) -> go.Heatmap:
    z = z.astype(float)
    finite = z[np.isfinite(z)]
    kw: dict = dict(zmin=0.0, zmax=1.0, colorscale=HEAT_SCALE)
    if signed:
        lim = float(np.abs(finite).max()) if finite.size else 1.0
        kw = dict(zmin=-lim, zmax=lim, zmid=0.0, colorscale=SIGNED_SCALE)
    z = np.where(np.isfinite(z), z, np.nan)  # −∞ (masked) becomes an empty cell
    return go.Heatmap(z=z, x=list(x), y=list(y), hovertemplate=hover + "<extra></extra>",
                      showscale=showscale, **kw)


def matrix_heatmap(m: torch.Tensor | np.ndarray, row_labels: Sequence[str], title: str,
                   col_name: str = "dimension", signed: bool = True,
                   max_cols: int = MAX_COLS) -> go.Figure:
    """A (rows, cols) matrix: one row per token, hover shows the exact value."""
    z = np.asarray(m.detach().float().cpu() if isinstance(m, torch.Tensor) else m, dtype=float)
    if z.ndim != 2 or z.shape[0] != len(row_labels):
        raise ValueError(f"expected ({len(row_labels)}, n), got {z.shape}")
    n_cols = z.shape[1]
    if n_cols > max_cols:
        z = z[:, :max_cols]
        title = _("{title} (first {shown} of {total} {cols})").format(
            title=title, shown=max_cols, total=n_cols, cols=_col(col_name, plural=True))
    x = [str(j) for j in range(z.shape[1])]
    # %{y} etc. are plotly's; {col} is ours (replaced, not .format()ted)
    fig = go.Figure(_heat(z, x, row_labels, signed,
                          _("token %{y}<br>{col} %{x}<br>value %{z:.4f}").replace(
                              "{col}", _col(col_name))))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text=_col(col_name), type="category",
                     showticklabels=z.shape[1] <= 32)
    fig.update_layout(**base_layout(title, height=max(260, 26 * len(row_labels) + 140)))
    return fig


def heads_heatmap(t: torch.Tensor | np.ndarray, row_labels: Sequence[str], title: str,
                  col_labels: Sequence[str] | None = None, col_name: str = "dimension",
                  signed: bool = True, max_heads: int = 8, first_head: int = 0) -> go.Figure:
    """(nh, T, X) per-head data side by side: Q/K/V/context (X = hs) or attention (X = T).
    first_head: the 0-based number of t's first head (t[0] is head first_head + 1 in titles)."""
    z = np.asarray(t.detach().float().cpu() if isinstance(t, torch.Tensor) else t, dtype=float)
    if z.ndim != 3 or z.shape[1] != len(row_labels):
        raise ValueError(f"expected (heads, {len(row_labels)}, n), got {z.shape}")
    nh = min(z.shape[0], max_heads)
    x = list(col_labels) if col_labels is not None else [str(j) for j in range(z.shape[2])]
    fig = make_subplots(rows=1, cols=nh, horizontal_spacing=0.03,
                        subplot_titles=[_("head {n}").format(n=first_head + h + 1)
                                        for h in range(nh)])
    lim = None
    if signed:  # one colour scale for all heads, so heads can be compared
        finite = z[np.isfinite(z)]
        lim = float(np.abs(finite).max()) if finite.size else 1.0
    for h in range(nh):
        # %{y} etc. are plotly's; {head} and {col} are ours (replaced, not .format()ted)
        tr = _heat(z[h], x, row_labels, signed,
                   _("head {head}<br>row %{y}<br>{col} %{x}<br>value %{z:.4f}")
                   .replace("{head}", str(first_head + h + 1)).replace("{col}", _col(col_name)),
                   showscale=(h == nh - 1))
        if lim is not None:
            tr.update(zmin=-lim, zmax=lim)
        fig.add_trace(tr, row=1, col=h + 1)
    fig.update_yaxes(autorange="reversed", type="category", showticklabels=False)
    fig.update_yaxes(showticklabels=True, row=1, col=1)
    fig.update_xaxes(type="category", showticklabels=col_labels is not None or z.shape[2] <= 32)
    if z.shape[0] > nh:
        title = _("{title} (first {shown} of {total} heads)").format(title=title, shown=nh,
                                                                     total=z.shape[0])
    fig.update_layout(**base_layout(title, height=max(300, 26 * len(row_labels) + 160)))
    return fig


def _unique_token_labels(ids: Sequence[int], token_str: Callable[[int], str]) -> list[str]:
    labels = [visible(token_str(int(i))) for i in ids]
    seen: dict[str, int] = {}
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
    # two different ids can read the same ("\ufffd"): keep them apart with the id
    return [f"{lab} ({int(i)})" if seen[lab] > 1 else lab for lab, i in zip(labels, ids,
                                                                           strict=True)]


def vocab_heatmap(values: torch.Tensor, row_labels: Sequence[str],
                  token_str: Callable[[int], str], title: str, k: int = TOP_K,
                  probabilities: bool = False) -> go.Figure:
    """(T, V) logits or probabilities, for the k tokens that score highest at the last position
    (a whole vocabulary does not fit on a screen)."""
    if values.dim() != 2 or values.size(0) != len(row_labels):
        raise ValueError(f"expected ({len(row_labels)}, V), got {tuple(values.shape)}")
    k = min(k, values.size(1))
    top = torch.topk(values[-1].float(), k).indices
    z = values[:, top].float().cpu().numpy()
    x = _unique_token_labels(top.tolist(), token_str)
    what = _("probability") if probabilities else "logit"
    # %{y} etc. are plotly's; {what} is ours (replaced, not .format()ted)
    fig = go.Figure(_heat(z, x, row_labels, signed=not probabilities,
                          hover=_("after %{y}<br>next token %{x}<br>{what} %{z:.4f}").replace(
                              "{what}", what)))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", title_text=_("candidate next token"))
    fig.update_layout(**base_layout(_("{title} (top {k} tokens at the last position)").format(
                                        title=title, k=k),
                                    height=max(260, 26 * len(row_labels) + 160)))
    return fig


def top_k_bar(probs: torch.Tensor, token_str: Callable[[int], str], k: int = TOP_K,
              title: str | None = None) -> go.Figure:
    """Horizontal bars: the k most probable next tokens, the most probable on top (title:
    "Next-token probabilities" unless given)."""
    if title is None:
        title = _("Next-token probabilities")
    if probs.dim() != 1:
        raise ValueError(f"expected (V,) probabilities, got {tuple(probs.shape)}")
    k = min(k, probs.numel())
    p, ix = torch.topk(probs.float(), k)
    labels = _unique_token_labels(ix.tolist(), token_str)
    fig = go.Figure(go.Bar(
        x=p.tolist(), y=labels, orientation="h", text=[f"{v:.1%}" for v in p.tolist()],
        textposition="outside", marker_color="#1f77b4",
        customdata=ix.tolist(),
        hovertemplate=_("token %{y}<br>id %{customdata}<br>p = %{x:.4f}") + "<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", type="category")
    top = float(p[0])
    fig.update_xaxes(range=[0, min(1.0, top * 1.25 + 1e-9)],
                     tickformat=".0%" if top >= 0.1 else ".1%" if top >= 0.01 else ".2%")
    fig.update_layout(**base_layout(title, height=max(260, 34 * k + 120)))
    fig.update_layout(showlegend=False)
    return fig


def logit_lens_figure(lens: torch.Tensor, tokens: Sequence[str],
                      token_str: Callable[[int], str],
                      title: str | None = None) -> go.Figure:
    """lens (n_layer + 1, T, V): rows = depth (embeddings, block 1, ...), columns = positions.
    Each cell shows the most probable next token there and is coloured by its probability.
    title: "Logit lens: the next-token guess after each block" unless given."""
    if title is None:
        title = _("Logit lens: the next-token guess after each block")
    if lens.dim() != 3 or lens.size(1) != len(tokens):
        raise ValueError(f"expected (layers, {len(tokens)}, V), got {tuple(lens.shape)}")
    p, ix = lens.float().max(dim=-1)  # (L+1, T)
    text = [[visible(token_str(int(i))) for i in row] for row in ix.tolist()]
    rows = [_("embeddings")] + [_("after block {block}").format(block=li)
                                for li in range(1, lens.size(0))]
    cols = position_labels(tokens)
    fig = go.Figure(go.Heatmap(
        z=p.numpy(), x=cols, y=rows, zmin=0.0, zmax=1.0, colorscale=HEAT_SCALE,
        text=text, texttemplate="%{text}", textfont=dict(size=14),
        colorbar=dict(title=dict(text="p")),
        hovertemplate=_("after %{x}<br>%{y}<br>top guess %{text}<br>p = %{z:.3f}")
        + "<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category",
                     title_text=_("input position (the guess is for the next one)"))
    fig.update_layout(**base_layout(title, height=max(260, 48 * lens.size(0) + 160)))
    return fig


def stage_figure(stage: Stage, tokens: Sequence[str], token_str: Callable[[int], str],
                 head: int | None = None, title: str | None = None) -> go.Figure | None:
    """The right picture for a stage, or None for stages shown as text (ids, chosen token).

    head: for a per-head stage (its first axis "head"), that head (0-based) alone, named over
    its heatmap (and after the stage's own title, when no title is given). title: instead of
    the stage's own ("Block 1 · Keys K")."""
    rows = position_labels(tokens)
    t = stage.tensor
    first = 0
    if head is not None:
        if not stage.axes or stage.axes[0] != "head":
            raise ValueError(f"{stage.key} has no heads")
        if not 0 <= head < t.size(0):
            raise ValueError(f"head {head} of {t.size(0)} (0-based) does not exist")
        t, first = t[head:head + 1], head
        title = title or _("{title} · head {head}").format(title=stage.title, head=head + 1)

    title = title or stage.title
    if stage.key in ("ids", "next_token"):
        return None
    if stage.key in ("logits", "probs"):
        return vocab_heatmap(t, rows, token_str, title, probabilities=stage.key == "probs")
    if stage.key in ("scores", "masked_scores", "attn_weights"):
        return heads_heatmap(t, rows, title, col_labels=rows, col_name="key",
                             signed=stage.key != "attn_weights", first_head=first)
    if t.dim() == 3:
        return heads_heatmap(t, rows, title, first_head=first)
    col = "hidden unit" if stage.key == "mlp_hidden" else "dimension"
    return matrix_heatmap(t, rows, title, col_name=col)
