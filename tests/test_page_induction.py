"""AppTest of the Induction heads page: live training, the halves' losses, switching a head off."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch.nn import functional as F

from gptviz.ablate import Ablation, ablate
from gptviz.induction import best_head, head_name, per_head
from gptviz.live import LiveRun
from tests.apptest_helpers import array, button, figure, page_session, wait_done

STEPS = 80  # a few evaluations before the crash (it comes at about 100-150 steps)


@pytest.fixture
def at() -> Iterator[AppTest]:
    with page_session("induction", stop=("ind_run",)) as at:
        yield at


def train(at: AppTest, steps: int, every: int = 20) -> LiveRun:
    at.number_input(key="ind_steps").set_value(steps).run()
    at.number_input(key="ind_eval").set_value(every).run()
    button(at, "Train").click().run()
    run = at.session_state["ind_run"]
    wait_done(at, run, timeout=240, what=f"{steps} steps of the induction demo")
    return run


def repeat_loss_by_hand(model, x: torch.Tensor, y: torch.Tensor, n: int) -> float:
    """Mean cross-entropy of the targets y[:, n-1:] (the repeated half of the fixed layout)."""
    logits = model(x).logits
    return F.cross_entropy(logits[:, n - 1:].reshape(-1, logits.size(-1)),
                           y[:, n - 1:].reshape(-1)).item()


def test_opens_with_the_demo_and_its_figures(at):
    assert not at.exception and not at.error
    assert at.number_input(key="ind_seq_len").value == 32
    assert at.number_input(key="ind_vocab").value == 64
    cap = at.caption[0].value
    assert "64 random tokens · sequences of 32 · 2 layers × 2 heads × 64 dims" in cap
    assert f"{15 / 31 * math.log(64):.3f} nats" in cap  # the floor, 2.012
    loss = figure(at, "Loss on each half")
    labels = [a["text"] for a in loss["layout"]["annotations"]]
    assert labels == ["ln V = 4.16: guessing", "lowest possible, all targets: 2.01"]
    assert [s["y0"] for s in loss["layout"]["shapes"]] == pytest.approx(
        [math.log(64), 15 / 31 * math.log(64)])
    assert figure(at, "What each head does")
    assert any(t.label.startswith("Switch off the induction head") and t.disabled
               for t in at.toggle)  # nothing trained yet: nothing to switch off


def test_training_leaves_the_first_half_at_ln_v_and_switching_the_head_off(at):
    run = train(at, STEPS)
    assert not at.exception and run.trainer.step_count == STEPS
    evals = run.snapshot().evals
    assert [e.step for e in evals] == [20, 40, 60, 80]
    for e in evals:  # nothing predicts the first half: it stays at a uniform guess
        assert e.metrics["first_half_loss"] == pytest.approx(math.log(64), abs=0.05)
    assert evals[-1].metrics["repeat_loss"] < evals[0].metrics["repeat_loss"] - 0.5
    spec = figure(at, "Loss on each half")
    repeated = next(t for t in spec["data"] if t["name"] == "repeated half")
    assert array(repeated["y"]) == pytest.approx([e.metrics["repeat_loss"] for e in evals])

    # the head the toggle names is the one with the best induction score, measured afresh
    model = run.trainer.model
    task = run.trainer.task
    layer, head = best_head(per_head(task.metrics(model), "induction", 2, 2))
    name = head_name(layer, head)
    toggle = at.toggle(key="ind_ablate")
    assert toggle.label == f"Switch off the induction head ({name})" and not toggle.disabled
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = task.metric_batch()
    whole = repeat_loss_by_hand(model, x, y, task.max_half)
    with ablate(model, Ablation(heads=frozenset({(layer, head)}))):
        off = repeat_loss_by_hand(model, x, y, task.max_half)
    assert off > whole + 0.3  # the head did the copying

    toggle.set_value(True).run()
    assert not at.exception
    marker = next(t for t in figure(at, "Loss on each half")["data"]
                  if t["name"] == f"{name} off")
    assert marker["x"] == [STEPS] and marker["y"] == [pytest.approx(off, rel=1e-4)]
    text = next(m.value for m in at.markdown if m.value.startswith(f"**{name} switched off**"))
    assert f"from **{whole:.3f}** to **{off:.3f}** nats" in text
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())

    at.toggle(key="ind_ablate").set_value(False).run()  # and lift it again
    names = [t["name"] for t in figure(at, "Loss on each half")["data"]]
    assert not any(n.endswith(" off") for n in names)
    assert not any(m.value.startswith(f"**{name} switched off**") for m in at.markdown)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    att = figure(at, "Where")
    assert att["layout"]["annotations"][0]["text"] == f"layer {layer + 1} · head {head + 1}"


def test_an_odd_length_gets_a_message_and_the_model_is_kept(at):
    button(at, "One step").click().run()
    run = at.session_state["ind_run"]
    at.number_input(key="ind_seq_len").set_value(31).run()
    assert not at.exception
    assert "cannot be cut into two equal halves" in at.error[0].value
    assert any("model is kept" in i.value for i in at.info)
    at.number_input(key="ind_seq_len").set_value(32).run()
    assert at.session_state["ind_run"] is run and run.trainer.step_count == 1
    at.number_input(key="ind_seq_len").set_value(2).run()
    assert "too short to repeat" in at.error[0].value


def test_the_varied_layout_builds_its_own_model_and_draws_its_separators(at):
    at.radio(key="ind_layout").set_value("varied").run()
    assert not at.exception and not at.error
    run = at.session_state["ind_run"]
    assert run.trainer.model.config.vocab_size == 65  # the separator
    assert f"{math.log(64) / 2:.3f} nats" in at.caption[0].value
    spec = figure(at, "Where")
    assert "|" in json.dumps(spec["data"][0]["x"])
    squares = next(t for t in spec["data"] if t.get("name") == "where an induction head looks")
    # each square's key is one after the earlier copy of the query's token: same token before
    tok = [re.sub(r"<sub>\d+</sub>", "", s) for s in spec["data"][0]["x"]]
    pos = {s: i for i, s in enumerate(spec["data"][0]["x"])}
    for kx, qy in zip(squares["x"], squares["y"], strict=True):
        assert tok[pos[kx] - 1] == tok[pos[qy]]
