"""The forward pass as a block diagram: every stage of `trace_forward` is a box to click.

Drawn top to bottom in the order the numbers flow: the prompt's tokens, the token embedding
(wte) and the position embedding (wpe) added at ⊕; then each block: LayerNorm 1, one box per
attention head, the heads' output projection, added to the residual stream at ⊕; LayerNorm 2,
the MLP, added again; then the final LayerNorm, the output layer (lm_head), the softmax and
the next token. The residual stream is the thick vertical line on the left; each sublayer
reads it where its branch leaves the line and writes back at its ⊕. Each box names what it is
and the shape of what flows out of it (T tokens, C = n_embd, V = vocabulary; a head's box shows
its T×T attention pattern).

Coordinates are pixels of the figure at its design width (y grows downward), so text sizes and
boxes are known in px. The clickable points are invisible square markers tiling each box, one
trace, each carrying `customdata = [part id, hover text]`; `clicked_stage` reads a click on
st.plotly_chart(..., on_select=..., selection_mode="points") back to a part id.

A part is one box: a stage key and its block (`Part`); a head's box also names its head, and
opens the steps inside that head (queries to context vectors), the MLP's opens its hidden layer
and its output. Part ids are strings: "tok_emb", "ln_1:0" (block 1), "attn_weights:0:1"
(block 1, head 2); all indices are 0-based, as in `Stage.layer`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from gptviz.ablate import Ablation, mode_text
from gptviz.config import GPTConfig
from gptviz.i18n import N_, _
from gptviz.trace import Stage
from gptviz.viz.style import HIGHLIGHT_COLOR, MIN_TEXT_SIZE
from gptviz.viz.tokens import visible

# --- the parts: what a box opens ---------------------------------------------------------------
HEAD_STEPS = ("q", "k", "v", "scores", "masked_scores", "attn_weights", "context")
MLP_STEPS = ("mlp_hidden", "mlp_out")
STEP_NAMES = {  # short, for a row of buttons; shown with _()
    "q": "Q", "k": "K", "v": "V", "scores": N_("scores"), "masked_scores": N_("mask"),
    "attn_weights": "softmax", "context": N_("context"), "mlp_hidden": N_("hidden (GELU)"),
    "mlp_out": N_("output"),
}
_LAYER_KEYS = ("ln_1", "attn_weights", "attn_out", "resid_attn", "ln_2", "mlp_hidden",
               "resid_mlp")
_TOP_KEYS = ("ids", "tok_emb", "pos_emb", "embed")
_END_KEYS = ("ln_f", "logits", "probs", "next_token")


@dataclass(frozen=True)
class Part:
    """One box of the diagram: the stage a click opens (key, 0-based layer) and, for an
    attention head's box, the head (0-based)."""

    key: str
    layer: int | None = None
    head: int | None = None

    @property
    def id(self) -> str:
        if self.layer is None:
            return self.key
        return f"{self.key}:{self.layer}" + ("" if self.head is None else f":{self.head}")

    @property
    def steps(self) -> tuple[str, ...]:
        """The stage keys this box opens, the one it opens first among them."""
        if self.head is not None:
            return HEAD_STEPS
        if self.key == "mlp_hidden":
            return MLP_STEPS
        return (self.key,)

    @property
    def label(self) -> str:
        """For people, e.g. "Block 1 · head 2" (in the reader's language)."""
        name = (_(_PART_NAMES[self.key]) if self.head is None
                else _("head {n}").format(n=self.head + 1))
        if self.layer is None:
            return name
        return _("Block {block} · {name}").format(block=self.layer + 1, name=name)


_PART_NAMES = {  # shown with _()
    "ids": N_("Prompt: token ids"), "tok_emb": N_("Token embedding (wte)"),
    "pos_emb": N_("Position embedding (wpe)"), "embed": N_("⊕ token + position"),
    "ln_1": "LayerNorm 1", "attn_out": N_("attention output (proj)"),
    "resid_attn": N_("⊕ residual + attention"), "ln_2": "LayerNorm 2", "mlp_hidden": "MLP",
    "resid_mlp": N_("⊕ residual + MLP"), "ln_f": N_("Final LayerNorm"),
    "logits": N_("Output layer (lm_head): logits"), "probs": N_("Softmax: probabilities"),
    "next_token": N_("Next token"),
}


def parse_part(part_id: str) -> Part | None:
    """The Part an id names, or None when it names none (never raises)."""
    bits = part_id.split(":") if isinstance(part_id, str) else []
    if not bits or not 1 <= len(bits) <= 3:
        return None
    key, nums = bits[0], bits[1:]
    if not all(n.isdigit() for n in nums):
        return None
    layer, head = (int(nums[0]) if nums else None), (int(nums[1]) if len(nums) > 1 else None)
    if layer is None:
        return Part(key) if key in _TOP_KEYS + _END_KEYS else None
    if key not in _LAYER_KEYS or (head is not None) != (key == "attn_weights"):
        return None
    return Part(key, layer, head)


def diagram_parts(n_layer: int, n_head: int) -> list[Part]:
    """Every box of the diagram of a model with n_layer blocks of n_head heads, top to bottom."""
    parts = [Part(k) for k in _TOP_KEYS]
    for layer in range(n_layer):
        parts.append(Part("ln_1", layer))
        parts += [Part("attn_weights", layer, h) for h in range(n_head)]
        parts += [Part(k, layer) for k in ("attn_out", "resid_attn", "ln_2", "mlp_hidden",
                                           "resid_mlp")]
    return parts + [Part(k) for k in _END_KEYS]


# The first head's attention pattern is opened first: of all the stages it is the one picture
# that reads at a glance even in an untrained model (the causal triangle, rows summing to one).
def default_part(n_layer: int, n_head: int) -> Part:
    return Part("attn_weights", 0, 0) if n_layer and n_head else Part("tok_emb")


def clicked_stage(selection_event: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
                  stages: Sequence[Stage]) -> str | None:
    """The part id a click on forward_diagram chose, if it names a stage among `stages` (a
    trace_forward output; a head's id also needs that head), else None.

    selection_event: st.plotly_chart(..., on_select=..., selection_mode="points")'s value
    ({"selection": {"points": [...]}}) or its list of points.
    """
    if selection_event is None:
        return None
    if isinstance(selection_event, Mapping):
        selection = selection_event.get("selection") or {}
        points = selection.get("points", []) if isinstance(selection, Mapping) else []
    else:
        points = selection_event
    have = {(s.key, s.layer): s for s in stages}
    for point in points if isinstance(points, Sequence) else []:
        c = point.get("customdata") if isinstance(point, Mapping) else None
        if isinstance(c, list | tuple) and c:
            c = c[0]
        part = parse_part(c) if isinstance(c, str) else None
        stage = None if part is None else have.get((part.key, part.layer))
        if stage is None:
            continue
        if part.head is not None and not (stage.tensor.dim() == 3
                                          and part.head < stage.tensor.shape[0]):
            continue
        return part.id
    return None


# --- switched-off parts ---------------------------------------------------------------------
def is_off(part: Part, ablation: Ablation | None) -> bool:
    """Whether the ablation switches this box off. A whole block switches off its LayerNorms,
    heads, projection and MLP; the ⊕ stay (the stream passes through, with nothing added, or
    with the block's mean change in mean ablation)."""
    if ablation is None or part.layer is None:
        return False
    if part.layer in ablation.blocks:
        return part.key not in ("resid_attn", "resid_mlp")
    if part.head is not None:
        return ablation.head_off(part.layer, part.head)
    return part.key == "mlp_hidden" and ablation.mlp_off(part.layer)


# --- geometry (px) ------------------------------------------------------------------------------
PAD = 8
STREAM_X = 62  # the residual stream's line
BRANCH_X0 = STREAM_X + 26  # where a block's first box starts
BOX_H = 40
ARROW = 16  # gap between two boxes in a row, an arrow long
LANE = 13  # from a row's boxes down to its ⊕
R = 11  # a ⊕'s radius
HEAD_GAP = 6
GROUP_PAD = 5  # the heads' frame around them
HEADS_PER_LINE = 4  # more heads wrap onto more lines: the stage beside needs the room
CHIP_H = 26
TILE = 22  # clickable markers every TILE px over a box
NAME_SIZE = 15
SHAPE_SIZE = MIN_TEXT_SIZE
CHAR_PX = 8.6  # a 14-15 px character, wide side (for fitting text in boxes)
MAX_DIAGRAM_HEIGHT = 620  # px: what the caller's 1280x720 screen shows of it at once
STAGE_ROW_PX = 22  # a token's row in the stage's heatmap beside the diagram


def stage_height(n_tokens: int, height: float) -> int:
    """The height (px) of a stage's figure (`height` as built) beside the diagram: rows a little
    denser than in the list, so that with its controls it fits a 1280x720 screen."""
    return int(min(height, max(300, STAGE_ROW_PX * n_tokens + 150)))

COLORS = {  # (fill, line) by kind of box
    "embed": ("#dcfce7", "#15803d"), "ln": ("#f1f5f9", "#475569"),
    "head": ("#fef3c7", "#b45309"), "proj": ("#ffedd5", "#c2410c"),
    "mlp": ("#dbeafe", "#1d4ed8"), "out": ("#fae8ff", "#a21caf"),
    "add": ("#ffffff", "#334155"), "chip": ("#ffffff", "#64748b"),
}
OFF_FILL, OFF_LINE, OFF_TEXT = "#e5e7eb", "#9ca3af", "#6b7280"
SELECTED_FILL = "#fee2e2"
STREAM_COLOR, FLOW_COLOR, FRAME_FILL, FRAME_LINE = "#334155", "#64748b", "#f8fafc", "#cbd5e1"


@dataclass
class _Box:
    part: Part
    x0: float
    y0: float
    x1: float
    y1: float
    name: str
    shape: str
    kind: str
    round: bool = False  # a ⊕

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass
class _Drawing:
    boxes: list[_Box] = field(default_factory=list)
    lines: list[list[tuple[float, float]]] = field(default_factory=list)
    off_lines: list[list[tuple[float, float]]] = field(default_factory=list)
    stream: list[tuple[float, float]] = field(default_factory=list)
    arrows: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, symbol
    frames: list[tuple[float, float, float, float, str]] = field(default_factory=list)
    texts: list[tuple[float, float, str, str, int, str]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def _text_px(text: str, size: float = SHAPE_SIZE) -> float:
    return len(text) * CHAR_PX * size / 15


def _head_width(n_head: int) -> tuple[float, str]:
    """A head box's width and its name's form: "head 1" up to 2 heads, "h1" above."""
    return (60.0, _("head {n}")) if n_head <= 2 else (44.0, "h{n}")


def _chips(tokens: Sequence[str], room: float) -> list[tuple[str, float]]:
    """The prompt's tokens as (text, width) chips fitting in `room` px: the last ones give way
    to one "+N" chip when they do not all fit."""
    chips = [(html.escape(visible(t)) or "∅", max(22.0, _text_px(visible(t)) + 12))
             for t in tokens]
    if sum(w + 4 for _, w in chips) <= room:
        return chips
    out: list[tuple[str, float]] = []
    used = 0.0
    for i, (t, w) in enumerate(chips):
        rest = f"+{len(chips) - i}"
        more = _text_px(rest) + 12
        if used + w + 4 + more + 4 > room:
            return out + [(rest, more)]
        out.append((t, w))
        used += w + 4
    return out


def _layout(cfg: GPTConfig, tokens: Sequence[str], next_token: str | None,
            ablation: Ablation | None) -> _Drawing:
    nh, L = cfg.n_head, cfg.n_layer
    hw, head_name = _head_width(nh)
    per_line = min(nh, HEADS_PER_LINE)
    lines_of_heads = math.ceil(nh / per_line)
    group_w = 2 * GROUP_PAD + per_line * hw + (per_line - 1) * HEAD_GAP
    group_h = 2 * GROUP_PAD + lines_of_heads * BOX_H + (lines_of_heads - 1) * HEAD_GAP
    ln_w, proj_w, mlp_w = 56.0, 56.0, 64.0
    nxt = html.escape(visible(next_token)) if next_token is not None else "?"
    next_w = max(64.0, _text_px(f"“{nxt}”", NAME_SIZE) + 16)
    legend = _("T = {T} tokens · C = {C} · hs = {hs} · V = {V:,}").format(
        T=len(tokens), C=cfg.n_embd, hs=cfg.n_embd // nh, V=cfg.vocab_size)
    out_x0 = STREAM_X - ln_w / 2
    width = max(BRANCH_X0 + ln_w + ARROW + group_w + ARROW + proj_w + 8 + PAD,
                out_x0 + ln_w + 80 + 76 + next_w + 3 * ARROW + PAD,
                PAD + _text_px(legend) + PAD, 380.0)
    d = _Drawing(width=width)

    def box(part: Part, x0: float, y0: float, w: float, h: float, name: str, shape: str,
            kind: str, round_: bool = False) -> _Box:
        b = _Box(part, x0, y0, x0 + w, y0 + h, name, shape, kind, round_)
        d.boxes.append(b)
        return b

    def add(part: Part, y: float) -> _Box:  # a ⊕ on the stream, centred at y
        b = box(part, STREAM_X - R, y - R, 2 * R, 2 * R, "+", "T×C", "add", True)
        d.texts.append((STREAM_X - R - 5, y, "T×C", "middle left", SHAPE_SIZE, FLOW_COLOR))
        return b

    y = PAD
    d.texts.append((PAD, y + 9, legend, "middle right", SHAPE_SIZE, STREAM_COLOR))
    y += 22
    # the prompt's tokens, entering at the top
    x = PAD
    for text, w in _chips(tokens, width - 2 * PAD):
        box(Part("ids"), x, y, w, CHIP_H, text, "", "chip")
        x += w + 4
    y += CHIP_H
    d.lines.append([(STREAM_X, y), (STREAM_X, y + ARROW)])
    d.arrows.append((STREAM_X, y + ARROW - 4, "triangle-down"))
    y += ARROW
    wte = box(Part("tok_emb"), STREAM_X - 36, y, 72, BOX_H, "wte", "T×C", "embed")
    wpe = box(Part("pos_emb"), wte.x1 + 40, y, 72, BOX_H, "wpe", "T×C", "embed")
    y = wte.y1 + ARROW + R
    add(Part("embed"), y)
    d.arrows.append((STREAM_X, y - R - 4, "triangle-down"))
    d.lines.append([(wpe.cx, wpe.y1), (wpe.cx, y), (STREAM_X + R, y)])
    d.arrows.append((STREAM_X + R + 4, y, "triangle-left"))
    stream_top, y = wte.y1, y + R

    def branch(boxes: list[tuple[float, float]], row_y: float, back_x: float, off: bool,
               right_of_last: float) -> float:
        """Lines from the stream through the row's boxes, then down and back to its ⊕."""
        (d.off_lines if off else d.lines).append([(STREAM_X, row_y), (boxes[0][0], row_y)])
        d.arrows.append((boxes[0][0] - 4, row_y, "triangle-right"))
        for (_left, right), (left, _right) in zip(boxes, boxes[1:], strict=False):
            (d.off_lines if off else d.lines).append([(right, row_y), (left, row_y)])
            d.arrows.append((left - 4, row_y, "triangle-right"))
        lane_y = right_of_last + LANE + R
        (d.off_lines if off else d.lines).append(
            [(back_x, right_of_last), (back_x, lane_y), (STREAM_X + R, lane_y)])
        d.arrows.append((STREAM_X + R + 4, lane_y, "triangle-left"))
        return lane_y

    for layer in range(L):
        block_off = ablation is not None and layer in ablation.blocks
        y += 8
        top = y
        block_name = (_("block {block} · off") if block_off else _("block {block}")).format(
            block=layer + 1)
        d.texts.append((STREAM_X + 10, y + 10, block_name,
                        "middle right", SHAPE_SIZE, OFF_TEXT if block_off else STREAM_COLOR))
        y += 19
        # attention: LayerNorm 1, the heads side by side in their frame, the projection
        row_y = y + group_h / 2
        ln1 = box(Part("ln_1", layer), BRANCH_X0, row_y - BOX_H / 2, ln_w, BOX_H, "LN 1", "T×C",
                  "ln")
        gx0 = ln1.x1 + ARROW
        d.frames.append((gx0, y, gx0 + group_w, y + group_h, "heads"))
        for h in range(nh):
            line, col = divmod(h, per_line)
            box(Part("attn_weights", layer, h), gx0 + GROUP_PAD + col * (hw + HEAD_GAP),
                y + GROUP_PAD + line * (BOX_H + HEAD_GAP), hw, BOX_H, head_name.format(n=h + 1),
                "T×T", "head")
        proj = box(Part("attn_out", layer), gx0 + group_w + ARROW, row_y - BOX_H / 2, proj_w,
                   BOX_H, "proj", "T×C", "proj")
        lane = branch([(ln1.x0, ln1.x1), (gx0, gx0 + group_w), (proj.x0, proj.x1)], row_y,
                      proj.cx, block_off, max(proj.y1, y + group_h))
        add(Part("resid_attn", layer), lane)
        y = lane + R + 8
        # MLP: LayerNorm 2, the MLP
        row_y = y + BOX_H / 2
        ln2 = box(Part("ln_2", layer), BRANCH_X0, y, ln_w, BOX_H, "LN 2", "T×C", "ln")
        mlp = box(Part("mlp_hidden", layer), ln2.x1 + ARROW, y, mlp_w, BOX_H, "MLP", "T×C",
                  "mlp")
        mlp_off = block_off or (ablation is not None and layer in ablation.mlps)
        lane = branch([(ln2.x0, ln2.x1), (mlp.x0, mlp.x1)], row_y, mlp.cx, mlp_off, mlp.y1)
        add(Part("resid_mlp", layer), lane)
        y = lane + R + 6
        d.frames.append((PAD, top, width - PAD, y, "block"))
    # out: the final LayerNorm on the stream, then the output layer, softmax, the next token
    y += ARROW
    d.arrows.append((STREAM_X, y - 4, "triangle-down"))
    d.stream = [(STREAM_X, stream_top), (STREAM_X, y)]
    row = [("ln_f", "LN f", "T×C", "ln", ln_w), ("logits", "lm_head", "T×V", "out", 80.0),
           ("probs", "softmax", "T×V", "out", 76.0), ("next_token", f"“{nxt}”", _("next"), "out",
                                                     next_w)]
    x = out_x0
    for i, (key, name, shape, kind, w) in enumerate(row):
        if i:
            d.lines.append([(x - ARROW, y + BOX_H / 2), (x, y + BOX_H / 2)])
            d.arrows.append((x - 4, y + BOX_H / 2, "triangle-right"))
        box(Part(key), x, y, w, BOX_H, name, shape, kind)
        x += w + ARROW
    d.height = y + BOX_H + PAD
    return d


def _hover(part: Part, b: _Box, cfg: GPTConfig, off: bool, mode: str | None) -> str:
    hs = cfg.n_embd // cfg.n_head
    if part.key == "ids":
        what = _("the prompt's token ids (T)")
    elif part.key == "attn_weights":
        what = _("its T×T attention pattern; queries, keys and values of {hs}").format(hs=hs)
    elif part.key == "mlp_hidden":
        what = _("T×4C hidden ({hidden}), then T×C out").format(hidden=4 * cfg.n_embd)
    elif part.key == "next_token":
        what = _("the most probable next token")
    else:
        what = _("out: {shape}").format(shape=b.shape)
    click = _("click to open")
    tip = f"<b>{html.escape(part.label)}</b><br>{what}<br>{click}"

    if off:
        tip += "<br>" + _("switched off ({ablation})").format(ablation=mode_text(str(mode)))
    return tip


def forward_diagram(config: GPTConfig, tokens: Sequence[str], *, selected: str | None = None,
                    ablation: Ablation | None = None, next_token: str | None = None
                    ) -> go.Figure:
    """The block diagram of `config`'s GPT reading `tokens` (their text, in order).

    selected: a part id (see Part.id), drawn ringed in red. ablation: the heads, MLPs and
    blocks switched off, drawn grey and hatched with "off" in their label. next_token: the
    chosen token's text, shown in the last box. Every clickable point's customdata is
    [part id, hover text]; clicked_stage reads a click back.
    """
    if not tokens:
        raise ValueError("the diagram needs at least one token")
    if selected is not None and parse_part(selected) is None:
        raise ValueError(f"{selected!r} names no part of the diagram")
    d = _layout(config, tokens, next_token, ablation)
    fig = go.Figure()
    for x0, y0, x1, y1, kind in sorted(d.frames, key=lambda f: f[4] != "block"):
        heads = kind == "heads"
        fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, layer="below",
                      fillcolor="rgba(0,0,0,0)" if heads else FRAME_FILL,
                      line=dict(color=COLORS["head"][1] if heads else FRAME_LINE, width=1,
                                dash="dot" if heads else "solid"))

    def polyline(segments: list[list[tuple[float, float]]], name: str, **line: Any) -> None:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for seg in segments:
            xs += [p[0] for p in seg] + [None]
            ys += [p[1] for p in seg] + [None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line=line,
                                 hoverinfo="skip", showlegend=False))

    polyline([d.stream], "residual stream", color=STREAM_COLOR, width=4)
    polyline(d.lines, "flow", color=FLOW_COLOR, width=2)
    if d.off_lines:
        polyline(d.off_lines, "flow off", color=OFF_LINE, width=2, dash="dot")
    fig.add_trace(go.Scatter(
        x=[a[0] for a in d.arrows], y=[a[1] for a in d.arrows], mode="markers", name="arrows",
        marker=dict(symbol=[a[2] for a in d.arrows], size=9, color=FLOW_COLOR),
        hoverinfo="skip", showlegend=False))

    mode = ablation.mode if ablation is not None else None
    off_xs: list[float | None] = []
    off_ys: list[float | None] = []
    label_x, label_y, label_text, label_color = [], [], [], []
    tiles_x, tiles_y, tiles_data = [], [], []
    for b in d.boxes:
        off = is_off(b.part, ablation)
        sel = selected == b.part.id
        fill, line = COLORS[b.kind]
        if off:
            fill, line = OFF_FILL, OFF_LINE
        common = dict(x0=b.x0, y0=b.y0, x1=b.x1, y1=b.y1, name=b.part.id,
                      fillcolor=SELECTED_FILL if sel and not off else fill,
                      line=dict(color=HIGHLIGHT_COLOR if sel else line, width=3 if sel else 1.5,
                                dash="dash" if off else "solid"))
        fig.add_shape(type="circle" if b.round else "rect", layer="below", **common)
        if off:
            off_xs += [b.x0, b.x1, b.x1, b.x0, b.x0, None]
            off_ys += [b.y0, b.y0, b.y1, b.y1, b.y0, None]
        if b.round:
            text = ""  # the ⊕ marker says it
        elif b.kind == "chip":
            text = b.name
        else:
            under = _("off") if off else b.shape
            text = f"<b>{b.name}</b><br>{under}"


        label_x.append(b.cx)
        label_y.append(b.cy)
        label_text.append(text)
        label_color.append(OFF_TEXT if off else "#111827")
        tip = _hover(b.part, b, config, off, mode)
        nx, ny = max(1, round((b.x1 - b.x0) / TILE)), max(1, round((b.y1 - b.y0) / TILE))
        for i in range(nx):
            for j in range(ny):
                tiles_x.append(b.x0 + (i + 0.5) * (b.x1 - b.x0) / nx)
                tiles_y.append(b.y0 + (j + 0.5) * (b.y1 - b.y0) / ny)
                tiles_data.append([b.part.id, tip])
    adds = [b for b in d.boxes if b.round]
    fig.add_trace(go.Scatter(  # ⊕ over the stream line
        x=[b.cx for b in adds], y=[b.cy for b in adds], mode="markers", name="adds",
        marker=dict(symbol="circle-cross", size=2 * R, color="#ffffff",
                    line=dict(width=[3 if selected == b.part.id else 2 for b in adds],
                              color=[HIGHLIGHT_COLOR if selected == b.part.id else STREAM_COLOR
                                     for b in adds])),
        hoverinfo="skip", showlegend=False))
    if off_xs:
        fig.add_trace(go.Scatter(
            x=off_xs, y=off_ys, mode="lines", fill="toself", name="off",
            fillcolor="rgba(0,0,0,0)", line=dict(width=0, color=OFF_LINE),
            fillpattern=dict(shape="/", fgcolor=OFF_LINE, bgcolor="rgba(0,0,0,0)", size=8,
                             solidity=0.15),
            hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(
        x=label_x, y=label_y, mode="text", text=label_text, name="labels",
        textfont=dict(size=SHAPE_SIZE, color=label_color), hoverinfo="skip",
        showlegend=False))
    xs, ys, txt, pos, sizes, colors = zip(*d.texts, strict=True)
    fig.add_trace(go.Scatter(
        x=list(xs), y=list(ys), mode="text", text=list(txt), textposition=list(pos),
        name="notes", textfont=dict(size=list(sizes), color=list(colors)), hoverinfo="skip",
        showlegend=False))
    fig.add_trace(go.Scatter(  # last, on top: what a click lands on
        x=tiles_x, y=tiles_y, mode="markers", name="parts", customdata=tiles_data,
        marker=dict(symbol="square", size=TILE, color="rgba(0,0,0,0)"),
        hovertemplate="%{customdata[1]}<extra></extra>", showlegend=False,
        selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0))))
    fig.update_layout(
        width=round(d.width), height=round(d.height), margin=dict(l=0, r=0, t=0, b=0),
        template="plotly_white", plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)",
        font=dict(size=SHAPE_SIZE), hovermode="closest", hoverdistance=TILE,
        hoverlabel=dict(font=dict(size=SHAPE_SIZE)), showlegend=False, dragmode=False,
        clickmode="event+select")
    fig.update_xaxes(visible=False, range=[0, d.width], fixedrange=True)
    fig.update_yaxes(visible=False, range=[d.height, 0], fixedrange=True)
    return fig


def part_boxes(fig: go.Figure) -> dict[str, list[Any]]:
    """The figure's box shapes by part id (a part drawn as several chips has several)."""
    out: dict[str, list[Any]] = {}
    for s in fig.layout.shapes:
        if s.name:
            out.setdefault(s.name, []).append(s)
    return out


def part_of(part_id: str) -> Part:
    """The Part an id names; ValueError if none."""
    part = parse_part(part_id)
    if part is None:
        raise ValueError(f"{part_id!r} names no part of the diagram")
    return part


def stage_options(parts: Iterable[Part]) -> dict[str, str]:
    """Part id -> label, in the diagram's order (for a selectbox)."""
    return {p.id: p.label for p in parts}
