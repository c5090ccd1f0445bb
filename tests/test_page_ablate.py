"""AppTests of the Ablate panel on Baby GPT, Sorting & addition and Train on text.

Every number the panel shows is checked against an independent computation: a copy of the
trained weights, switched off with gptviz.ablate, on batches drawn here as the Trainer's
evaluation draws them. Holding an ablation is checked by the loss of the trainer's next step,
predicted here from the batch its generator will draw.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import torch
from streamlit.testing.v1 import AppTest

from gptviz.ablate import Ablation, ablate, mean_loss, mean_outputs, part_effects
from gptviz.analysis import model_transition_probs
from gptviz.config import GPTConfig, TrainConfig
from gptviz.live import LiveRun
from gptviz.model import GPT
from gptviz.tasks import TextTask
from gptviz.tokenizers import CharTokenizer
from gptviz.train import Trainer, build_model
from pages._live import MODELS_KEY
from tests.apptest_helpers import array, button, page_session, wait_done, wait_for
from tests.test_page_baby import arrow_labels


def plain(obj):
    """A figure's JSON with plotly's typed arrays as lists."""
    if isinstance(obj, dict):
        if set(obj) >= {"dtype", "bdata"}:
            return array(obj).tolist()
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


def chain(at: AppTest, title: str) -> dict:
    """The first chain figure (it has a "states" trace) whose title starts with `title`."""
    for c in at.get("plotly_chart"):
        fig = plain(json.loads(c.proto.spec))
        text = (fig["layout"].get("title") or {}).get("text") or ""
        if any(t.get("name") == "states" for t in fig["data"]) and text.startswith(title):
            return fig
    raise AssertionError(f"no chain figure titled {title!r}")


def weights(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in m.state_dict().items()}


def unchanged(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}: {[m.label for m in at.metric]}"
    return found[0]


def evaluation(run: LiveRun, split: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The batches Trainer.evaluate averages on `split` (its seed + 1 generator)."""
    cfg = run.trainer.config
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    return run.trainer.task.eval_batches(split, cfg.batch_size, cfg.eval_batches, gen)


def hookless(model: GPT) -> GPT:
    """A new GPT with the model's weights and none of the hooks a held ablation put on it."""
    m = GPT(model.config).to(model.device)
    m.load_state_dict(model.state_dict())
    return m.train(model.training)


def loss_text(model, choice: Ablation, batches, means=None) -> str:
    """'before → after' as the panel writes it, computed on a copy of the model."""
    m = hookless(model).eval()
    before = mean_loss(m, batches)
    with ablate(m, choice, means):
        after = mean_loss(m, batches)
    return f"{before:.3f} → {after:.3f}"


def next_step_loss(run: LiveRun, choice: Ablation) -> float:
    """The loss the trainer's next step will report: its next batch (drawn from a copy of its
    generator) through a copy of its model with `choice` switched off."""
    t = run.trainer
    g = torch.Generator()
    g.set_state(t.generator.get_state())
    x, y = t.task.get_batch("train", t.config.batch_size, g)
    m = hookless(t.model)  # whatever the run holds is applied here by hand
    with ablate(m, choice):
        return mean_loss(m, [(x, y)])


def effects_bars(at: AppTest) -> dict[str, float]:
    for c in at.get("plotly_chart"):
        spec = plain(json.loads(c.proto.spec))
        if "Loss increase with one part off" in json.dumps(spec["layout"].get("title", {})):
            return {x: y for t in spec["data"] for x, y in zip(t["x"], t["y"], strict=True)}
    raise AssertionError("no 'what each part does' figure")


def progress_text(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def train(at: AppTest, run_key: str, steps: int, timeout: float = 120) -> LiveRun:
    button(at, "Train").click().run()
    run = at.session_state[run_key]
    wait_done(at, run, timeout=timeout, what=f"{steps} training steps")
    return run


# --- Baby GPT -----------------------------------------------------------------------------
@pytest.fixture
def baby() -> Iterator[AppTest]:
    with page_session("baby_gpt", stop=("baby_run",)) as at:
        at.number_input(key="baby_steps").set_value(300).run()
        yield at


def test_baby_a_head_off_shows_the_loss_arrows_and_every_parts_effect_as_computed(baby):
    at = baby
    run = train(at, "baby_run", 300)
    trained = weights(run.trainer.model)
    model = run.trainer.model
    assert at.info and "Switch a part off:" in at.info[-1].value
    at.pills(key="baby_abl_L0").set_value([0]).run()  # head 1 of layer 1
    assert not at.exception
    choice = Ablation(heads=frozenset({(0, 0)}))
    windows = [run.trainer.task.examples["train"]]  # all 12 windows, as the page scores them
    assert metric(at, "Loss on training data") == loss_text(model, choice, windows)
    # the arrows that moved: the red dots are the ablated model's probabilities
    states = [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    m = hookless(model).eval()
    with ablate(m, choice):
        after = model_transition_probs(m, states).numpy()
    spec = next(plain(json.loads(c.proto.spec)) for c in at.get("plotly_chart")
                if "Arrows that moved most" in c.proto.spec)
    dots = next(t for t in spec["data"] if t.get("name") == "with the parts off")
    for label, x in zip(dots["y"], dots["x"], strict=True):
        src = tuple(int(c) for c in label.split(" → ")[0])
        nxt = tuple(int(c) for c in label.split(" → ")[1].split()[0])
        assert x == pytest.approx(100 * after[states.index(src), nxt[-1]], abs=1e-3)
    assert arrow_labels(chain(at, "Step 300 with head 1 of layer 1 off"))  # the ablated chain
    # what each part does: document 000's 4 layers x (4 heads + MLP), each bar part_effects'
    bars = effects_bars(at)
    oracle = part_effects(hookless(model).eval(), windows)
    assert len(bars) == 20 == len(oracle)
    for e in oracle:
        assert bars[e.name] == pytest.approx(e.increase, abs=1e-6)
    assert unchanged(weights(run.trainer.model), trained)  # the panel changed no weight
    assert not run.ablation  # and held nothing: "switch them back on" is the default


def test_baby_holding_a_head_off_trains_with_it_off_and_lifting_it_brings_it_back(baby):
    at = baby
    run = train(at, "baby_run", 300)
    at.pills(key="baby_abl_L1").set_value([2]).run()  # head 3 of layer 2
    at.radio(key="baby_abl_hold").set_value("hold").run()
    choice = Ablation(heads=frozenset({(1, 2)}))
    assert run.ablation == choice
    assert ("model with head 3 of layer 2 off since step 300 (zero "
            "ablation)") in progress_text(at)
    # the page's own chain is of the held model: its arrows are the ablated probabilities
    m = hookless(run.trainer.model).eval()
    with ablate(m, choice):
        p = model_transition_probs(m, [(0, 0, 0)]).numpy()[0, 1]
    assert arrow_labels(chain(at, "Step 300"))[("000", "001", "1")].startswith(
        f"1({100 * p:.0f}%)")
    expected = next_step_loss(run, choice)
    button(at, "One step").click().run()
    assert run.history.losses[-1] == pytest.approx(expected, rel=1e-5)
    at.radio(key="baby_abl_hold").set_value("lift").run()
    assert run.ablation == Ablation()
    assert "zero ablation" not in progress_text(at)
    expected = next_step_loss(run, Ablation())
    button(at, "One step").click().run()
    assert run.history.losses[-1] == pytest.approx(expected, rel=1e-5)


def test_baby_a_held_mean_ablation_takes_the_means_of_each_paused_step(baby):
    at = baby
    run = train(at, "baby_run", 300)
    at.pills(key="baby_abl_L0").set_value([-1]).run()  # the MLP of layer 1
    at.radio(key="baby_abl_mode").set_value("mean").run()
    at.radio(key="baby_abl_hold").set_value("hold").run()
    choice = Ablation(mlps=frozenset({0}), mode="mean")
    assert run.ablation == choice
    windows = [run.trainer.task.examples["train"]]
    for _ in range(2):  # each step moves the weights: the next one uses the new means
        m = hookless(run.trainer.model)
        means = mean_outputs(m.eval(), windows)
        with ablate(m, choice, means):
            expected = mean_loss(m, windows)
        button(at, "One step").click().run()
        assert run.history.losses[-1] == pytest.approx(expected, rel=1e-5)
    assert run.snapshot().ablation_step == 300  # the same parts since step 300
    assert "since step 300 (mean ablation)" in progress_text(at)


def test_baby_everything_off_is_allowed_and_said(baby):
    at = baby
    train(at, "baby_run", 300)
    for layer in range(4):
        at.pills(key=f"baby_abl_L{layer}").set_value([-2])
    at.run()
    assert not at.exception
    assert any("Every head and every MLP is off" in w.value and "bigram" in w.value
               for w in at.warning)


def test_baby_a_smaller_model_resets_the_parts_it_lacks_with_a_note(baby):
    at = baby
    at.pills(key="baby_abl_L3").set_value([3]).run()  # head 4 of layer 4
    at.radio(key="baby_abl_hold").set_value("hold").run()
    assert at.session_state["baby_run"].ablation == Ablation(heads=frozenset({(3, 3)}))
    at.number_input(key="baby_heads").set_value(2).run()  # a new model: 4 layers of 2 heads
    assert not at.exception and not at.error
    note = " ".join(i.value for i in at.info)
    assert "there is no head 4 of layer 4" in note and "reset" in note
    run = at.session_state["baby_run"]
    assert run.trainer.model.config.n_head == 2 and not run.ablation
    assert all(not at.pills(key=f"baby_abl_L{layer}").value for layer in range(4))


def test_baby_ablating_while_training_is_refused_and_keeps_the_model(baby):
    at = baby
    at.number_input(key="baby_steps").set_value(100_000).run()
    button(at, "Train").click().run()
    run = at.session_state["baby_run"]
    model = run.trainer.model
    try:
        assert any("Pause to ablate" in w.value for w in at.warning)
        assert at.pills(key="baby_abl_L0").proto.disabled  # no toggle while it trains
        button(at, "Pause", exact=True).click().run()  # the panel's own Pause, or the top one
        assert not run.running
        # a toggle drawn while paused, clicked after training began again (another tab, or
        # a click before the page redrew)
        run.start(100_000)
        at.pills(key="baby_abl_L0").set_value([0]).run()
        assert not at.exception
        assert any("Training is running, so nothing was switched off" in w.value
                   for w in at.warning)
        assert run.running and not run.ablation and run.trainer.model is model
        step = run.trainer.step_count
        wait_for(lambda: run.trainer.step_count > step + 5, timeout=30,
                 what="training to go on")
    finally:
        run.pause()
    at.run()
    assert not at.exception and not run.ablation
    assert not at.pills(key="baby_abl_L0").proto.disabled  # paused: the toggles are back


# --- Sorting & addition -----------------------------------------------------------------------
@pytest.fixture
def tasks() -> Iterator[AppTest]:
    with page_session("tasks", stop=("tasks_addition_run", "tasks_sorting_run")) as at:
        at.number_input(key="tasks_steps").set_value(150).run()
        yield at


def test_adder_head_off_loss_and_held_out_accuracy_equal_an_independent_computation(tasks):
    at = tasks
    run = train(at, "tasks_addition_run", 150)
    model, task = run.trainer.model, run.trainer.task
    trained = weights(model)
    at.pills(key="tasks_addition_abl_L1").set_value([1, 3]).run()  # heads 2 and 4 of layer 2
    assert not at.exception
    choice = Ablation(heads=frozenset({(1, 1), (1, 3)}))
    assert metric(at, "Loss on training data") == loss_text(model, choice,
                                                            evaluation(run, "train"))
    assert metric(at, "Loss on held-out data") == loss_text(model, choice,
                                                            evaluation(run, "val"))
    m = hookless(model).eval()
    before = task.metrics(m)["accuracy"]
    with ablate(m, choice):
        after = task.metrics(m)["accuracy"]
    assert metric(at, "Held-out problems answered right") == \
        f"{100 * before:.1f}% → {100 * after:.1f}%"
    # what each part does, for the adder: 2 layers x (4 heads + MLP)
    bars = effects_bars(at)
    oracle = part_effects(hookless(model).eval(), evaluation(run, "train"))
    assert len(bars) == 10
    for e in oracle:
        assert bars[e.name] == pytest.approx(e.increase, abs=1e-6)
    # mean ablation: each part writes its mean over the training batches
    at.radio(key="tasks_addition_abl_mode").set_value("mean").run()
    mean_choice = Ablation(heads=choice.heads, mode="mean")
    means = mean_outputs(hookless(model).eval(), evaluation(run, "train"))
    assert metric(at, "Loss on held-out data") == loss_text(model, mean_choice,
                                                            evaluation(run, "val"), means)
    assert unchanged(weights(model), trained)


def test_adder_held_ablation_trains_the_next_step_with_it_then_lifts(tasks):
    at = tasks
    run = train(at, "tasks_addition_run", 150)
    at.pills(key="tasks_addition_abl_L0").set_value([-1]).run()  # the MLP of layer 1
    at.radio(key="tasks_addition_abl_hold").set_value("hold").run()
    choice = Ablation(mlps=frozenset({0}))
    assert run.ablation == choice
    assert "model with the MLP of layer 1 off since step 150" in \
        progress_text(at)
    expected = next_step_loss(run, choice)
    button(at, "One step").click().run()
    assert run.history.losses[-1] == pytest.approx(expected, rel=1e-5)
    # the held-out table above is of the held model: the panel's "after" accuracy is its own
    at.radio(key="tasks_addition_abl_hold").set_value("lift").run()
    assert not run.ablation
    expected = next_step_loss(run, Ablation())
    button(at, "One step").click().run()
    assert run.history.losses[-1] == pytest.approx(expected, rel=1e-5)
    # the sorting task has its own panel and keeps nothing of the adder's choice
    at.radio(key="tasks_task").set_value("sorting").run()
    assert not at.exception
    assert not at.session_state["tasks_sorting_run"].ablation
    assert all(not p.value for p in at.pills)


# --- Train on text ----------------------------------------------------------------------------
@pytest.fixture
def text() -> Iterator[AppTest]:
    with page_session("text_model", stop=("text_run",)) as at:
        at.selectbox(key="text_preset").set_value("Tiny").run()
        at.number_input(key="text_steps").set_value(40).run()
        at.number_input(key="text_eval").set_value(20).run()
        yield at


def test_text_head_off_train_and_validation_loss_and_holding_it(text):
    at = text
    run = train(at, "text_run", 40)
    model = run.trainer.model
    trained = weights(model)
    at.pills(key="text_abl_L1").set_value([0]).run()  # head 1 of layer 2
    assert not at.exception
    choice = Ablation(heads=frozenset({(1, 0)}))
    assert metric(at, "Loss on training data") == loss_text(model, choice,
                                                            evaluation(run, "train"))
    assert metric(at, "Loss on held-out data") == loss_text(model, choice,
                                                            evaluation(run, "val"))
    bars = effects_bars(at)
    oracle = part_effects(hookless(model).eval(), evaluation(run, "train"))
    assert len(bars) == 2 * (2 + 1) == len(oracle)
    for e in oracle:
        assert bars[e.name] == pytest.approx(e.increase, abs=1e-6)
    assert unchanged(weights(model), trained)
    at.radio(key="text_abl_hold").set_value("hold").run()
    assert run.ablation == choice
    assert "head 1 of layer 2 off" in progress_text(at)
    expected = next_step_loss(run, choice)
    button(at, "One step").click().run()
    assert run.history.losses[-1] == pytest.approx(expected, rel=1e-5)
    at.radio(key="text_abl_hold").set_value("lift").run()
    assert not run.ablation


def test_text_a_larger_model_measures_each_part_only_when_asked():
    with page_session("text_model", stop=("text_run",)) as at:  # the Small preset
        run = at.session_state["text_run"]
        assert run.trainer.model.config.n_layer == 3
        toggle = at.toggle(key="text_abl_effects_large")
        assert toggle.value is False
        with pytest.raises(AssertionError, match="no 'what each part does' figure"):
            effects_bars(at)
        toggle.set_value(True).run()
        bars = effects_bars(at)
        oracle = part_effects(hookless(run.trainer.model).eval(), evaluation(run, "train"))
        assert len(bars) == 3 * (4 + 1) == len(oracle)
        for e in oracle:
            assert bars[e.name] == pytest.approx(e.increase, abs=1e-6)


def test_pages_showing_a_model_trained_elsewhere_say_when_parts_are_held_off():
    text = "abcabcabcabcabcabcabcabc" * 4
    tok = CharTokenizer.from_text(text)
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=2, n_head=2, n_embd=8)
    run = LiveRun(Trainer(build_model(cfg, 0), TextTask(text, tok, 8, val_fraction=0.0),
                          TrainConfig(batch_size=4, eval_interval=1000)))
    run.step_once()
    pages = {"forward_pass": {"fp_source": "Trained: abc model", "fp_prompt": "abcab"},
             "generate": {"gen_model": "abc model"}}
    for held in (Ablation(), Ablation(mlps=frozenset({0}))):
        run.set_ablation(held)
        for page, state in pages.items():
            with page_session(page, session_state={MODELS_KEY: {"abc model": run},
                                                   **state}) as at:
                assert not at.exception
                said = any("the MLP of layer 1 switched off" in w.value for w in at.warning)
                assert said == bool(held), page
