"""forward_diagram, the forward pass as a clickable block diagram: one box per part of the model
(counted for several sizes), every clickable point naming a real stage of trace_forward's
output, clicks landing inside their own box, switched-off parts drawn differently, and text a
projector can show."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gptviz.ablate import Ablation
from gptviz.config import GPTConfig
from gptviz.tokenizers import CharTokenizer
from gptviz.trace import trace_forward
from gptviz.train import build_model
from gptviz.viz.diagram import (
    COLORS,
    MAX_DIAGRAM_HEIGHT,
    OFF_FILL,
    Part,
    clicked_stage,
    default_part,
    diagram_parts,
    forward_diagram,
    is_off,
    parse_part,
    part_boxes,
)
from gptviz.viz.forward import stage_figure
from gptviz.viz.style import HIGHLIGHT_COLOR, MIN_TEXT_SIZE
from tests.test_viz_fast import assert_valid
from tests.test_viz_network_click import as_json, font_sizes, one

TOK = CharTokenizer("Hello, I am a prompt.")
PROMPT = "Hello, I am"
SIZES = [(1, 1), (2, 2), (3, 4), (6, 6), (2, 16)]


def config(n_layer: int, n_head: int) -> GPTConfig:
    return GPTConfig(vocab_size=TOK.vocab_size, block_size=32, n_layer=n_layer, n_head=n_head,
                     n_embd=4 * n_head * 2, bias=True)


def tokens(text: str = PROMPT) -> list[str]:
    return [TOK.token_str(i) for i in TOK.encode(text)]


def clickable(fig) -> dict:
    return one(fig, "parts")


def shape_name_counts(fig) -> dict[str, int]:
    return {k: len(v) for k, v in part_boxes(fig).items()}


@pytest.mark.parametrize(("n_layer", "n_head"), SIZES)
def test_one_box_per_part_of_the_model(n_layer, n_head):
    fig = forward_diagram(config(n_layer, n_head), tokens(), next_token="x")
    assert_valid(fig)
    counts = shape_name_counts(fig)
    heads = [k for k in counts if k.startswith("attn_weights:")]
    assert len(heads) == n_layer * n_head
    assert sorted(heads) == sorted(f"attn_weights:{la}:{h}" for la in range(n_layer)
                                   for h in range(n_head))
    for key in ("ln_1", "attn_out", "resid_attn", "ln_2", "mlp_hidden", "resid_mlp"):
        assert sorted(k for k in counts if k.startswith(key + ":")) == \
            sorted(f"{key}:{la}" for la in range(n_layer)), key
    for key in ("tok_emb", "pos_emb", "embed", "ln_f", "logits", "probs", "next_token"):
        assert counts[key] == 1, key
    assert counts["ids"] == len(tokens())  # one chip per token of a short prompt
    # every box is one of the parts, and every part has its box, all at distinct places
    assert set(counts) == {p.id for p in diagram_parts(n_layer, n_head)}
    adds = [s for s in fig.layout.shapes if s.type == "circle"]
    assert len(adds) == 2 * n_layer + 1  # embeddings, then attention and MLP in each block
    assert len(one(fig, "adds")["x"]) == len(adds)


def boxes_of(fig) -> list[tuple[str, float, float, float, float]]:
    return [(s.name, s.x0, s.y0, s.x1, s.y1) for s in fig.layout.shapes if s.name]


@pytest.mark.parametrize(("n_layer", "n_head"), SIZES)
def test_every_click_names_a_real_stage_and_lands_in_its_own_box(n_layer, n_head):
    cfg = config(n_layer, n_head)
    trace = trace_forward(build_model(cfg, 0).eval(), TOK.encode(PROMPT), TOK)
    fig = forward_diagram(cfg, trace.tokens, next_token=trace.next_text)
    pts = clickable(fig)
    boxes = boxes_of(fig)
    seen = set()
    for x, y, (pid, tip) in zip(pts["x"], pts["y"], pts["customdata"], strict=True):
        part = parse_part(pid)
        assert part is not None, pid
        stage = trace.get(part.key, part.layer)  # KeyError if the trace has no such stage
        if part.head is not None:
            assert stage.axes[0] == "head" and part.head < stage.shape[0]
        for step in part.steps:  # what the box opens is in the trace too
            trace.get(step, part.layer)
        assert clicked_stage({"selection": {"points": [{"customdata": [pid, tip]}]}},
                             trace.stages) == pid
        assert part.label.split(" · ")[-1].lower()[:4] in tip.lower()
        # the point is inside a box of its own part and inside no other part's box
        inside = {name for name, x0, y0, x1, y1 in boxes if x0 <= x <= x1 and y0 <= y <= y1}
        assert inside == {pid}, (pid, inside)
        seen.add(pid)
    assert seen == {p.id for p in diagram_parts(n_layer, n_head)}  # every box is clickable
    # boxes never overlap, so a click reads as one part
    for i, (a, ax0, ay0, ax1, ay1) in enumerate(boxes):
        for b, bx0, by0, bx1, by1 in boxes[i + 1:]:
            assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, (a, b)
    lay = as_json(fig)["layout"]
    assert all(0 <= x0 and x1 <= lay["width"] and 0 <= y0 and y1 <= lay["height"]
               for _, x0, y0, x1, y1 in boxes)


def test_clicked_stage_reads_clicks_and_refuses_junk():
    cfg = config(2, 2)
    stages = trace_forward(build_model(cfg, 0).eval(), TOK.encode(PROMPT), TOK).stages

    def event(*customdata):
        return {"selection": {"points": [{"customdata": c} for c in customdata]}}

    assert clicked_stage(event(["attn_weights:1:0", "tip"]), stages) == "attn_weights:1:0"
    assert clicked_stage(event(["ln_f", "tip"]), stages) == "ln_f"
    assert clicked_stage(event("mlp_hidden:0"), stages) == "mlp_hidden:0"  # a bare string
    # a list of points, the first without customdata (a text trace), as plotly may send
    assert clicked_stage([{"x": 1}, {"customdata": ["resid_mlp:1", ""]}], stages) \
        == "resid_mlp:1"
    for junk in (None, {}, {"selection": {}}, {"selection": {"points": []}}, event(7),
                 event([3, "tip"]), event(["attn_weights:2:0"]),  # no block 3
                 event(["attn_weights:0:2"]),  # no head 3
                 event(["ln_1"]), event(["tok_emb:0"]), event(["ln_1:0:1"]),
                 event(["nonsense"]), event([""]), event(["ln_1:-1"]), event([None]),
                 {"selection": "points"}, "attn_weights:0:0"):
        assert clicked_stage(junk, stages) is None, junk


def test_part_ids_round_trip_and_junk_parses_to_none():
    for p in diagram_parts(3, 4):
        assert parse_part(p.id) == p
        assert p.steps[0] == p.key or p.head is not None
    assert Part("attn_weights", 0, 1).label == "Block 1 · head 2"
    assert Part("attn_weights", 0, 1).steps[5] == "attn_weights"
    for junk in ("", ":", "q:0", "attn_weights:0", "ln_1:x", "ids:0", "ln_1:0:0:0"):
        assert parse_part(junk) is None, junk
    assert default_part(2, 2) == Part("attn_weights", 0, 0)


def label_of(fig, part_id: str) -> str:
    labels = one(fig, "labels")
    names = [s.name for s in fig.layout.shapes if s.name]
    return labels["text"][names.index(part_id)]


def box(fig, part_id: str):
    return part_boxes(fig)[part_id][0]


def test_switched_off_parts_are_drawn_grey_and_say_off():
    cfg = config(3, 2)
    ablation = Ablation(heads=frozenset({(0, 1)}), mlps=frozenset({1}), blocks=frozenset({2}))
    plain = forward_diagram(cfg, tokens())
    fig = forward_diagram(cfg, tokens(), ablation=ablation)
    assert_valid(fig)
    off = {p.id for p in diagram_parts(3, 2) if is_off(p, ablation)}
    assert off == {"attn_weights:0:1", "mlp_hidden:1", "ln_1:2", "attn_weights:2:0",
                   "attn_weights:2:1", "attn_out:2", "ln_2:2", "mlp_hidden:2"}
    for pid in (p.id for p in diagram_parts(3, 2)):
        drawn = box(fig, pid)
        if pid in off:
            assert drawn.fillcolor == OFF_FILL and drawn.line.dash == "dash", pid
            assert "off" in label_of(fig, pid) and "off" not in label_of(plain, pid)
        else:  # as without the ablation
            assert drawn.fillcolor == box(plain, pid).fillcolor, pid
            assert label_of(fig, pid) == label_of(plain, pid)
    assert box(fig, "attn_weights:0:0").fillcolor == COLORS["head"][0]
    # the hatching: one closed outline per switched-off box
    hatch = one(fig, "off")
    assert hatch["fillpattern"]["shape"] == "/"
    assert hatch["x"].count(None) == len(off)
    assert "block 3 · off" in one(fig, "notes")["text"]
    assert "off" not in " ".join(one(plain, "notes")["text"])
    tips = {c[0]: c[1] for c in clickable(fig)["customdata"]}
    assert "switched off (zero ablation)" in tips["attn_weights:0:1"]
    assert "switched off" not in tips["attn_weights:0:0"]
    # nothing switched off: the same drawing as no ablation at all
    assert as_json(forward_diagram(cfg, tokens(), ablation=Ablation())) == as_json(plain)


def test_the_selected_box_is_ringed_and_a_bad_selection_refused():
    cfg = config(2, 2)
    fig = forward_diagram(cfg, tokens(), selected="attn_weights:1:1")
    red = [s.name for s in fig.layout.shapes if s.name and s.line.color == HIGHLIGHT_COLOR]
    assert red == ["attn_weights:1:1"]
    chips = forward_diagram(cfg, tokens(), selected="ids")
    red = [s.name for s in chips.layout.shapes if s.name and s.line.color == HIGHLIGHT_COLOR]
    assert red == ["ids"] * len(tokens())
    add = forward_diagram(cfg, tokens(), selected="resid_attn:0")
    adds = one(add, "adds")
    assert adds["marker"]["line"]["color"].count(HIGHLIGHT_COLOR) == 1
    with pytest.raises(ValueError, match="names no part"):
        forward_diagram(cfg, tokens(), selected="attn_weights:0")
    with pytest.raises(ValueError, match="at least one token"):
        forward_diagram(cfg, [])


@pytest.mark.parametrize(("n_layer", "n_head"), SIZES)
def test_text_is_projector_sized_and_the_drawing_fits_its_screen(n_layer, n_head):
    fig = forward_diagram(config(n_layer, n_head), tokens(), ablation=Ablation(
        heads=frozenset({(0, 0)})))
    sizes = font_sizes(as_json(fig))
    assert sizes and min(sizes) >= MIN_TEXT_SIZE
    lay = as_json(fig)["layout"]
    # px coordinates: the axes span exactly the figure, so boxes and text keep their px size
    assert lay["xaxis"]["range"] == [0, lay["width"]]
    assert lay["yaxis"]["range"] == [lay["height"], 0]
    assert lay["margin"] == {"l": 0, "r": 0, "t": 0, "b": 0}
    if n_layer <= 2 and n_head <= 4:  # a 1280x720 screen shows it whole
        assert lay["height"] <= MAX_DIAGRAM_HEIGHT
    assert lay["width"] <= 700  # beside the stage, in the page's main column


def test_long_prompts_fit_and_user_text_is_escaped():
    cfg = config(2, 2)
    many = tokens("Hello, I am a prompt. " * 4)
    fig = forward_diagram(cfg, many)
    chips = part_boxes(fig)["ids"]
    assert 3 < len(chips) < len(many)
    assert max(c.x1 for c in chips) <= fig.layout.width
    texts = one(fig, "labels")["text"]
    assert f"+{len(many) - (len(chips) - 1)}" in texts  # the rest, counted
    odd = forward_diagram(cfg, ["<b>", "&", " "], next_token="<i>")
    texts = one(odd, "labels")["text"]
    assert "&lt;b&gt;" in texts and "&amp;" in texts and "␣" in texts
    assert any("“&lt;i&gt;”" in t for t in texts)
    assert "<b>" not in texts and not any("<i>" in t for t in texts)


def test_stage_figure_of_one_head_draws_that_head():
    cfg = config(2, 4)
    trace = trace_forward(build_model(cfg, 0).eval(), TOK.encode(PROMPT), TOK)
    for key in ("attn_weights", "scores", "q", "context"):
        stage = trace.get(key, 1)
        fig = stage_figure(stage, trace.tokens, TOK.token_str, head=2, title=stage.name)
        assert len(fig.data) == 1
        z = np.asarray(fig.data[0].z, dtype=float)
        want = stage.tensor[2].numpy()
        if key == "scores" or key == "attn_weights":
            assert z.shape == (len(trace.tokens),) * 2
        assert np.allclose(np.nan_to_num(z), np.nan_to_num(want), atol=1e-6)
        assert fig.layout.title.text == stage.name
        assert fig.layout.annotations[0].text == "head 3"
        default = stage_figure(stage, trace.tokens, TOK.token_str, head=2)
        assert default.layout.title.text == f"Block 2 · {stage.name} · head 3"
    weights = trace.get("attn_weights", 1)
    assert torch.allclose(weights.tensor[2].sum(-1), torch.ones(len(trace.tokens)))
    with pytest.raises(ValueError, match="does not exist"):
        stage_figure(weights, trace.tokens, TOK.token_str, head=4)
    with pytest.raises(ValueError, match="no heads"):
        stage_figure(trace.get("ln_1", 0), trace.tokens, TOK.token_str, head=0)
