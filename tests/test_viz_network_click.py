"""chain_figure, the clickable Markov chain: checked on its JSON against the model's own
probabilities (document 000's 8 states, seed 1337), the geometry it promises (arrows end at their
next state, labels clear of arrowheads and nodes, self-loops stick out) and the sizes a projector
needs (no text under 14 px, larger with font_scale)."""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pytest

from gptviz.analysis import all_states, model_transition_probs, next_state, window_transitions
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE
from gptviz.tasks import SequenceTask
from gptviz.train import build_model
from gptviz.viz.graph import data_note
from gptviz.viz.network import CHAIN_RANGE, chain_figure, clicked_state
from gptviz.viz.style import MIN_TEXT_SIZE, PRESENTER_SCALE
from tests.test_viz_fast import assert_valid

STATES = all_states(2, 3)  # 000, 001, ..., 111
NAMES = ["".join(map(str, s)) for s in STATES]


@pytest.fixture(scope="module")
def doc000():
    probs = model_transition_probs(build_model(DOC000_MODEL, 1337), STATES).numpy()
    task = SequenceTask(DOC000_SEQUENCE, 2, 3)
    return probs, window_transitions(*task.examples["train"])


def plain(obj):
    """The figure's JSON with plotly's typed arrays ({"dtype", "bdata"}, numpy data) as lists."""
    if isinstance(obj, dict):
        if set(obj) >= {"dtype", "bdata"}:
            a = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
            return a.reshape(obj["shape"]).tolist() if "shape" in obj else a.tolist()
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def as_json(fig) -> dict:
    return plain(fig.to_plotly_json())


def traces(fig, name: str) -> list[dict]:
    return [t for t in as_json(fig)["data"] if t.get("name") == name]


def one(fig, name: str) -> dict:
    found = traces(fig, name)
    assert len(found) == 1, f"{len(found)} traces named {name}"
    return found[0]


def polylines(trace: dict) -> list[np.ndarray]:
    """A lines trace's polylines (separated by None), as (n, 2) arrays."""
    out, cur = [], []
    for x, y in zip(trace["x"], trace["y"], strict=True):
        if x is None:
            out.append(np.array(cur))
            cur = []
        else:
            cur.append((x, y))
    return out


def px_per_unit(fig) -> float:
    """The plot is square: its height in px over the axes' span."""
    lay = as_json(fig)["layout"]
    return (lay["height"] - lay["margin"]["t"] - lay["margin"]["b"]) / (2 * CHAIN_RANGE)


def node_geometry(fig) -> tuple[np.ndarray, float]:
    nodes = as_json(fig)["data"][-1]
    return np.stack([nodes["x"], nodes["y"]], 1), nodes["marker"]["size"] / 2 / px_per_unit(fig)


def arrows(fig) -> list[tuple[str, str, str, float]]:
    """(from, to, token, model probability) of each arrowhead, from its hover text."""
    out = []
    for h in one(fig, "arrowheads")["hovertext"]:
        m = re.match(r"(\w+) → (\w+): token (\w+), model (\d+)%", h)
        assert m, h
        out.append((m[1], m[2], m[3], int(m[4]) / 100))
    return out


def test_every_arrow_of_doc000_is_labelled_with_the_models_probability(doc000):
    probs, tr = doc000
    fig = chain_figure(STATES, probs, 3, tr)
    assert_valid(fig)
    labels = one(fig, "labels")["text"]
    heads = arrows(fig)
    assert len(labels) == len(heads) == 16  # labels and arrowheads in the same order
    expected = {}
    for i, s in enumerate(STATES):
        data = tr.probs(s, 2)
        for t in range(2):
            label = f"{t}({probs[i, t] * 100:.0f}%)"
            if data is not None:  # the data's number under the model's, as graph.state_graph
                label += "<br>" + data_note("trained", data[t])
            expected[(NAMES[i], "".join(map(str, next_state(s, t, 3))), str(t))] = label
    assert {(a, b, t): lab for (a, b, t, _), lab in zip(heads, labels, strict=True)} == expected
    assert "0(" in labels[0] and "data" not in expected[("000", "000", "0")]  # 000 is unseen


def test_arrowheads_sit_on_their_next_state_and_labels_clear_heads_and_nodes(doc000):
    probs, tr = doc000
    fig = chain_figure(STATES, probs, 3, tr)
    pos, r = node_geometry(fig)
    ppu = px_per_unit(fig)
    heads = one(fig, "arrowheads")
    for k, (_, b, _, _) in enumerate(arrows(fig)):
        centre = np.array([heads["x"][k], heads["y"][k]])
        target = pos[NAMES.index(b)]
        # the triangle's tip (half its size ahead of its centre) touches the target's rim
        gap = np.linalg.norm(centre - target) - r
        assert gap == pytest.approx(heads["marker"]["size"][k] / 2 / ppu, abs=0.02)
        a = math.radians(heads["marker"]["angle"][k])
        assert np.dot([math.sin(a), math.cos(a)], (target - centre) / np.linalg.norm(
            target - centre)) > 0.95  # it points at the target
    lab = one(fig, "labels")
    size = lab["textfont"]["size"]
    boxes = []
    for x, y, text in zip(lab["x"], lab["y"], lab["text"], strict=True):
        rows = text.split("<br>")
        w, h = 0.55 * size * max(map(len, rows)) / ppu, 1.2 * size * len(rows) / ppu
        boxes.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    for x0, y0, x1, y1 in boxes:
        for hx, hy in zip(heads["x"], heads["y"], strict=True):
            assert not (x0 < hx < x1 and y0 < hy < y1), "a label covers an arrowhead"
        for cx, cy in pos:  # nor a node
            assert math.hypot(np.clip(cx, x0, x1) - cx, np.clip(cy, y0, y1) - cy) > r
        assert max(abs(x0), abs(x1), abs(y0), abs(y1)) < CHAIN_RANGE  # inside the plot
    overlapping = [(a, b) for a in range(16) for b in range(a)
                   if boxes[a][0] < boxes[b][2] and boxes[b][0] < boxes[a][2]
                   and boxes[a][1] < boxes[b][3] and boxes[b][1] < boxes[a][3]]
    assert not overlapping


def test_self_loops_000_and_111_are_drawn_outside_their_nodes(doc000):
    probs, tr = doc000
    fig = chain_figure(STATES, probs, 3, tr)
    assert {("000", "000", "0"), ("111", "111", "1")} <= {a[:3] for a in arrows(fig)}
    pos, r = node_geometry(fig)
    lines = [pl for t in traces(fig, "arrows") for pl in polylines(t)]
    for name in ("000", "111"):
        c = pos[NAMES.index(name)]
        loops = [pl for pl in lines
                 if np.all(np.linalg.norm(pl - c, axis=1) < 3.5 * r)
                 and np.all(np.linalg.norm(pl - c, axis=1) > 0.99 * r)]
        assert len(loops) == 1, name
        reach = np.linalg.norm(loops[0] - c, axis=1).max()
        assert reach > 1.8 * r  # sticks out of the node by most of a node's radius: visible


def test_nodes_are_one_clickable_trace_in_the_order_of_states(doc000):
    probs, tr = doc000
    fig = chain_figure(STATES, probs, 3, tr)
    nodes = as_json(fig)["data"][-1]
    assert nodes["name"] == "states"
    assert list(nodes["customdata"]) == list(range(8))
    assert list(nodes["text"]) == NAMES
    assert nodes["hovertext"][7].startswith("state 111: seen 6 times in the data")
    # no other trace carries customdata: a click on an arrowhead selects no state
    assert all("customdata" not in t for t in as_json(fig)["data"][:-1])
    # what st.plotly_chart(on_select="rerun", selection_mode="points") gives back
    assert clicked_state([{"curve_number": 3, "point_index": 5, "x": 0.1, "y": 0.2}]) is None
    assert clicked_state([{"curve_number": len(fig.data) - 1, "point_index": 5,
                           "customdata": 5}]) == 5
    assert clicked_state([{"customdata": [2]}]) == 2 and clicked_state([]) is None


def test_a_selected_state_and_its_arrows_stand_out_and_the_rest_dim(doc000):
    probs, tr = doc000
    plain = chain_figure(STATES, probs, 3, tr)
    fig = chain_figure(STATES, probs, 3, tr, selected=NAMES.index("011"))
    assert_valid(fig)
    pos, r = node_geometry(fig)
    start = pos[NAMES.index("011")]

    def styles(f):  # (from 011?, colour, width, opacity) of each arrow line
        return [(bool(np.linalg.norm(pl[0] - start) < 1.01 * r), t["line"]["color"],
                 t["line"]["width"], t["opacity"])
                for t in traces(f, "arrows") for pl in polylines(t)]

    mine = {s[1:3] for s in styles(fig) if s[0]}
    rest = {s[1:3] for s in styles(fig) if not s[0]}
    assert len([s for s in styles(fig) if s[0]]) == 2  # 011 -> 110 and 011 -> 111
    assert mine and rest and not mine & rest  # colour or width sets them apart
    assert {c for c, _ in mine}.isdisjoint({c for c, _ in rest})
    before = {(c, w): o for _, c, w, o in styles(plain)}
    for _, c, w, o in styles(fig):
        if (c, w) in before:
            assert o < before[(c, w)]  # the other arrows are dimmed
    heads = one(fig, "arrowheads")
    own = [k for k, a in enumerate(arrows(fig)) if a[0] == "011"]
    colours = heads["marker"]["color"]
    assert {colours[k] for k in own}.isdisjoint(
        {c for k, c in enumerate(colours) if k not in own})
    nodes = as_json(fig)["data"][-1]
    line = nodes["marker"]["line"]
    i = NAMES.index("011")
    assert line["width"][i] > max(w for k, w in enumerate(line["width"]) if k != i)
    assert line["color"][i] not in {c for k, c in enumerate(line["color"]) if k != i}
    with pytest.raises(ValueError, match="selected"):
        chain_figure(STATES, probs, 3, tr, selected=8)


def test_a_walk_is_drawn_in_order_with_its_step_numbers_and_last_state(doc000):
    probs, tr = doc000
    walk = ["000", "001", "011", "111", "111", "110"]
    path = [NAMES.index(s) for s in walk]
    fig = chain_figure(STATES, probs, 3, tr, path=path, selected=path[-1])
    assert_valid(fig)
    pos, r = node_geometry(fig)
    trail = polylines(one(fig, "trail"))
    assert len(trail) == 5  # one piece per step (no arrow is walked twice here)
    for k, pl in enumerate(trail):  # in the walk's order, from each state to the next
        a, b = pos[path[k]], pos[path[k + 1]]
        assert np.linalg.norm(pl[0] - a) == pytest.approx(r, abs=1e-3)
        assert np.linalg.norm(pl[-1] - b) == pytest.approx(r, abs=1e-3)
    steps = one(fig, "steps")
    numbers = [re.sub(r"</?b>", "", t) for t in steps["text"]]
    assert numbers == ["1", "2", "3", "4", "5"]
    for k, (x, y) in enumerate(zip(steps["x"], steps["y"], strict=True)):
        d = np.linalg.norm(trail[k] - [x, y], axis=1).min()
        assert d < 0.05  # each number sits on its step's piece of trail
    last = one(fig, "last state")
    assert (last["x"][0], last["y"][0]) == pytest.approx(tuple(pos[path[-1]]))
    assert last["marker"]["size"] > as_json(fig)["data"][-1]["marker"]["size"]
    # a walk round 111's loop three times: one number per step, the latest ones shown
    loops = as_json(chain_figure(STATES, probs, 3, tr, path=[7, 7, 7, 7, 7]))
    texts = [t for t in loops["data"] if t.get("name") == "steps"][0]["text"]
    assert texts == ["<b>…,2,3,4</b>"]
    with pytest.raises(ValueError, match="not an arrow"):
        chain_figure(STATES, probs, 3, tr, path=[0, 7])  # 000 cannot go to 111 in one step


def font_sizes(obj, key: str = "") -> list[float]:
    """Every font size in a figure's JSON, the template excepted (the figure sets its own)."""
    out: list[float] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "template":
                continue
            if "font" in k.lower() and isinstance(v, dict) and "size" in v:
                sizes = v["size"]
                out += list(sizes) if isinstance(sizes, list | tuple | np.ndarray) else [sizes]
            out += font_sizes(v, k)
    elif isinstance(obj, list | tuple):
        for v in obj:
            out += font_sizes(v, key)
    return out


@pytest.mark.parametrize("n_states", [8, 14, 64])
def test_no_text_is_under_14_px_and_presenter_mode_is_larger(doc000, n_states):
    if n_states == 8:
        states, probs, ctx, last = STATES, doc000[0], 3, True
    elif n_states == 14:  # document 000 with its prefixes, not scored: legend under the circle
        states = all_states(2, 3, include_prefixes=True)
        probs, ctx, last = np.full((14, 2), 0.5), 3, True
    else:
        states, probs, ctx, last = all_states(2, 6), np.full((64, 2), 0.5), 6, False
    task = SequenceTask(DOC000_SEQUENCE, 2, ctx)
    tr = window_transitions(*task.examples["train"])
    step = states.index(next_state(states[0], 1, ctx))
    kw = dict(title="Baby GPT", subtitle="temperature 0.7", path=[0, step], selected=step,
              last_only=last)
    fig = chain_figure(states, probs, ctx, tr, **kw)
    big = chain_figure(states, probs, ctx, tr, font_scale=PRESENTER_SCALE, **kw)
    assert_valid(fig)
    # keys in one order for both (a figure read as a figure, as assert_valid reads it, gives
    # plotly's order; one only drawn gives the builder's), so sizes pair up text by text
    sizes, bigger = (font_sizes(json.loads(json.dumps(as_json(f), sort_keys=True)))
                     for f in (fig, big))
    assert len(sizes) == len(bigger) > 5
    assert min(sizes) >= MIN_TEXT_SIZE
    assert bigger == pytest.approx([PRESENTER_SCALE * s for s in sizes])
    lay = as_json(fig)["layout"]
    assert lay["title"]["subtitle"]["text"] == "temperature 0.7"
    if n_states == 14:
        legend = " ".join(a["text"].replace("<br>", " ") for a in lay["annotations"])
        assert "the model is never trained on them" in legend
    nodes, big_nodes = as_json(fig)["data"][-1], as_json(big)["data"][-1]
    assert big_nodes["marker"]["size"] > nodes["marker"]["size"]


def test_64_states_draw_every_arrow_without_labels_and_name_every_state():
    states = all_states(2, 6)
    probs = np.random.default_rng(0).dirichlet([1, 1], size=64)
    fig = chain_figure(states, probs, 6, selected=5, path=[0, 1, 2])
    assert_valid(fig)
    assert not traces(fig, "labels")
    assert len(arrows(fig)) == 128  # every arrow still there, its numbers on hover
    assert sum(len(polylines(t)) for t in traces(fig, "arrows")) == 128
    nodes = as_json(fig)["data"][-1]
    assert list(nodes["customdata"]) == list(range(64))
    names = [a["text"] for a in as_json(fig)["layout"]["annotations"]]
    assert names == ["".join(map(str, s)) for s in states]  # radial, outside the circle
    # self-loops 000000 and 111111 inside the circle, clear of the names outside
    assert {("000000", "000000"), ("111111", "111111")} <= {a[:2] for a in arrows(fig)}
    with pytest.raises(ValueError, match="too many"):
        chain_figure(all_states(2, 7), np.full((128, 2), 0.5), 7)


def test_redraws_share_geometry_but_never_each_others_figures(doc000):
    probs, tr = doc000
    fig = chain_figure(STATES, probs, 3, tr, title="step 1")
    fig.data[-1].x = [0.0] * 8  # a caller's change must not reach the next redraw
    fig.layout.title.text = "changed"
    again = chain_figure(STATES, probs * 0 + 0.5, 3, tr, title="step 2")
    assert again.layout.title.text == "step 2"
    assert list(again.data[-1].x) != [0.0] * 8
    assert all(t.endswith("(50%)") or "(50%)<br>" in t for t in one(again, "labels")["text"])


@pytest.mark.parametrize("last_only", [True, False])
def test_prefix_arrows_say_not_scored_as_the_graphviz_graph_does(last_only):
    states = all_states(2, 3, include_prefixes=True)  # 14 states: still labelled
    task = SequenceTask(DOC000_SEQUENCE, 2, 3, last_only=last_only)
    tr = window_transitions(*task.examples["train"])
    fig = chain_figure(states, np.full((14, 2), 0.5), 3, tr, last_only=last_only)
    assert_valid(fig)
    labels = dict(zip([a[:3] for a in arrows(fig)], one(fig, "labels")["text"], strict=True))
    hovers = dict(zip([a[:3] for a in arrows(fig)], one(fig, "arrowheads")["hovertext"],
                      strict=True))
    # 11 -> 111 in 6 of the 8 windows that start 11 (tests/test_viz_prefixes.py)
    if last_only:
        assert labels[("11", "111", "1")] == "1(50%)"  # the model's number only, on the arrow
        assert hovers[("11", "111", "1")].endswith("not scored (in the data's windows: 75%)")
    else:
        assert labels[("11", "111", "1")] == "1(50%)<br>data 75%"
    assert labels[("111", "111", "1")] == "1(50%)<br>data 50%"  # full length: scored either way
