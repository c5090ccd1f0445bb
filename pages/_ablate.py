"""The Ablate panel of the training pages: switch parts of the trained model off and see what
they did (gptviz/ablate.py switches, gptviz/ablation_report.py measures).

A page calls `ablation_panel(key, run, task)` once, in a tab or an expander (Baby GPT passes its
StateSpace too, for the chain's arrows). While training runs the panel only offers Pause. Paused,
it has one row of toggles per layer ([whole layer] [MLP] [head 1] ...), zero or mean ablation,
and "while training: keep these parts off / switch them back on"; the change in loss (and
held-out accuracy, and Baby GPT's arrows) shows at once, measured on a hook-free copy of the
weights, and "what each part does" switches every head and MLP off in turn.

Holding: with "keep these parts off", the choice is held on the run (LiveRun.set_ablation), so
the page's own figures show the ablated model and Train trains it; the status line
(pages/_live.py) then says which parts are off. It is applied in the widgets' callbacks, before
the page draws, so no figure above the panel is drawn for the wrong model.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from gptviz.ablate import Ablation, MeanOutputs, ablate, mean_outputs, mode_text, part_effects
from gptviz.ablation_report import (
    AblationReport,
    ablation_report,
    arrow_changes,
    evaluation_batches,
    parts_off,
    whole_copy,
)
from gptviz.analysis import model_transition_probs
from gptviz.i18n import N_, _
from gptviz.live import LiveRun
from gptviz.model import GPT
from gptviz.statespace import StateSpace
from gptviz.tasks.base import Task
from gptviz.viz.ablation import arrow_changes_figure, part_effects_figure
from gptviz.viz.network import chain_figure
from pages._live import MEMO_KEY, memo

BLOCK, MLP = -2, -1  # the toggles of a layer besides its heads 0..H-1
HOLD, LIFT = "hold", "lift"
KEEP = {"persist_state": "session"}  # the choice survives a visit to another page
FIG_HEIGHT = 360
# "what each part does" is measured without asking when parameters x evaluation tokens x
# evaluations stays below this: document 000 (1e7), the adder (2e8), text's Tiny (3e9); text's
# Small (1e10: 1.0 s on this 2-core host) and nanoGPT size (5e10: 3.6 s) wait for the toggle
AUTO_EFFECTS_COST = 5e9
MODE_LABELS = {"zero": N_("Zero: the part writes nothing"),
               "mean": N_("Mean: the part writes its average output")}
HOLD_LABELS = {HOLD: N_("keep these parts off"), LIFT: N_("switch them back on")}
# st.metric's value is a paragraph, which the pages' compact style sets at 1rem: larger here
METRIC_CSS = """<style>
  [class*="_abl_numbers"] [data-testid="stMetricValue"] p,
  [class*="_abl_numbers"] [data-testid="stMetricValue"] div { font-size: 1.9rem; }
</style>"""
SPLIT_LABELS = {"train": N_("Loss on training data"), "val": N_("Loss on held-out data")}
MODE_HELP = N_(
    "**Zero ablation**: the part adds nothing to the residual stream, as if it were cut out. "
    "**Mean ablation**: the part adds its average output over the training data (every "
    "position of the batches the training loss is measured on, with every part on, at this "
    "step) whatever the input; this removes only what the part does *differently* for each "
    "input, not its average push, and is usually the fairer test. Kept off while training, "
    "the means are measured again each time training pauses, and held until the next pause.")
HOLD_HELP = N_(
    "Keep these parts off: the page's figures show the model with them off, and Train trains "
    "it so (the other parts learn to do without them). Switch them back on: the page and "
    "training use the whole model; the numbers here are a preview. The weights never change "
    "either way.")
EFFECTS_HOW_TO_READ = N_(
    "**How to read this.** Each bar is one part switched off *alone*, every other part on: how "
    "much the loss on the training data rises (nats per scored token). A tall bar: the model "
    "relies on that part. A bar near 0: the model does as well without it, because the part "
    "does little or because another part does the same job (two such parts can matter "
    "together: switch both off above). A bar below 0: the loss fell without it.")


def _widget(key: str, layer: int) -> str:
    return f"{key}_abl_L{layer}"


def _layer_keys(key: str) -> dict[int, str]:
    """Every layer row's widget key this session has (also layers the model no longer has)."""
    prefix = f"{key}_abl_L"
    out = {}
    for k in list(st.session_state.keys()):
        if isinstance(k, str) and k.startswith(prefix) and k[len(prefix):].isdigit():
            out[int(k[len(prefix):])] = k
    return out


def selected(key: str, n_layer: int, mode: str) -> Ablation:
    """The parts the panel's toggles switch off, in the model's first n_layer layers."""
    heads, mlps, blocks = set(), set(), set()
    for layer, k in _layer_keys(key).items():
        if layer >= n_layer:
            continue
        for v in st.session_state.get(k) or []:
            if v == BLOCK:
                blocks.add(layer)
            elif v == MLP:
                mlps.add(layer)
            else:
                heads.add((layer, int(v)))
    if not (heads or mlps or blocks):
        return Ablation()
    return Ablation(frozenset(heads), frozenset(mlps), frozenset(blocks), mode)


def _missing_parts(key: str, n_layer: int, n_head: int) -> list[str]:
    """Parts the toggles switch off that a model of n_layer layers of n_head heads lacks."""
    out = []
    for layer, k in sorted(_layer_keys(key).items()):
        for v in st.session_state.get(k) or []:
            if layer >= n_layer:
                out.append(_("layer {layer}").format(layer=layer + 1))
                break
            if v >= n_head:
                out.append(_("head {head} of layer {layer}").format(head=v + 1, layer=layer + 1))
    return out


def _wanted(key: str, run: LiveRun) -> Ablation:
    """What the run should hold: the selection with "keep these parts off", else nothing."""
    if st.session_state.get(f"{key}_abl_hold", LIFT) != HOLD:
        return Ablation()
    return selected(key, run.trainer.model.config.n_layer,
                    st.session_state.get(f"{key}_abl_mode", "zero"))


# --- the model and data every measurement uses (memoised per run and step) -------------------
def _whole(key: str, run: LiveRun) -> tuple[int, GPT]:
    """(step, a hook-free copy of the run's newest weights); call run.settle() first."""
    step = run.snapshot().view_step
    return step, memo(f"{key}_abl_whole", (run, step),
                      lambda: run.read_model(whole_copy))


def _batches(task: Task, run: LiveRun) -> tuple[dict, str]:
    """The page's evaluation batches per split, and a digest of them for memo keys."""
    batches = evaluation_batches(task, run.trainer.config)
    h = hashlib.sha1()
    for split, bs in batches.items():
        h.update(split.encode())
        for x, y in bs:
            h.update(x.numpy().tobytes())
            h.update(y.numpy().tobytes())
    return batches, h.hexdigest()


def _means(key: str, run: LiveRun, task: Task) -> tuple[int, MeanOutputs]:
    step, whole = _whole(key, run)
    batches, digest = _batches(task, run)
    return step, memo(f"{key}_abl_means", (run, step, digest),
                      lambda: mean_outputs(whole, batches["train"]))


# --- holding the choice on the run -----------------------------------------------------------
def sync_hold(key: str, run: LiveRun, task: Task) -> bool:
    """Hold on `run` what the panel asks for (see _wanted); True if what it holds changed.
    Nothing happens while it trains: it keeps what it holds until paused."""
    if not run.settle():  # training (or its step would not end): it keeps what it holds
        return False
    want = _wanted(key, run)
    try:
        want.check(run.trainer.model.config)
    except ValueError:
        return False  # the panel resets the toggles and says so
    means_at = st.session_state.get(f"{key}_abl_held_at")
    mean = bool(want) and want.mode == "mean"
    fresh = not mean or means_at == (run, run.trainer.step_count)
    if want == run.ablation and fresh:
        return False
    means = None
    if mean:
        step, means = _means(key, run, task)
        st.session_state[f"{key}_abl_held_at"] = (run, step)
    run.set_ablation(want, means)
    # the page's views are memoised by step (pages/_live.py memo), and the step has not moved:
    # forget them, so that none is drawn from the model as it was before (the panel's own
    # measurements are of the whole model and stay)
    store = st.session_state.get(MEMO_KEY, {})
    for name in [n for n in store if not n.startswith(f"{key}_abl_")]:
        del store[name]
    return True


def _on_change(key: str, run: LiveRun, task: Task) -> None:
    if run.running:
        st.session_state[f"{key}_abl_msg"] = N_(  # shown (translated) by the panel
            "Training is running, so nothing was switched off: the model trains on with the "
            "parts it had. Pause first, then choose the parts to switch off.")
        return
    sync_hold(key, run, task)


# --- the panel -------------------------------------------------------------------------------
def ablation_panel(key: str, run: LiveRun, task: Task, *, space: StateSpace | None = None,
                   font_scale: float = 1.0) -> None:
    """Switch heads, MLPs or whole layers of `run`'s model off and show what they did.

    key: the page's widget-key prefix (one per run kept on the page: Sorting & addition passes
    its task's). task: the data the page trains on. space: Baby GPT's states, to show which
    arrows of the chain moved."""
    cfg = run.trainer.model.config
    missing = _missing_parts(key, cfg.n_layer, cfg.n_head)
    if missing:  # the model was rebuilt smaller: its toggles start again, said so
        for k in _layer_keys(key).values():
            del st.session_state[k]
        st.info(_("The model changed: it has {layers} layer(s) of {heads} head(s), so there is "
                  "no {missing}. The parts switched off were reset.").format(
            layers=cfg.n_layer, heads=cfg.n_head, missing=_(", no ").join(missing)))
    if msg := st.session_state.pop(f"{key}_abl_msg", None):
        st.warning(_(msg))
    training = run.running
    if training:
        pause = _("**Pause to ablate.** Parts are switched off between training runs, never in "
                  "the middle of one.")
        if run.ablation:
            pause += " " + _("The model trains with {parts} off.").format(
                parts=parts_off(run.ablation))
        st.warning(pause, icon=":material/pause_circle:")
        st.button(_("Pause"), icon=":material/pause:", key=f"{key}_abl_pause", on_click=run.pause,
                  type="primary")
    else:
        st.caption(_("Switch any head, MLP or whole layer off: the model's weights stay as they "
                     "are; only that part's output is replaced. Layers and heads count from 1."))
    args = (key, run, task)
    st.html(METRIC_CSS)
    grid, numbers = st.columns([3, 2], gap="medium")
    with grid:  # one row per layer: [whole layer] [MLP] [head 1] [head 2] ...
        for layer in range(cfg.n_layer):
            label, toggles = st.columns([1, 5], vertical_alignment="center")
            label.markdown(_("**Layer {layer}**").format(layer=layer + 1))
            toggles.pills(_("Parts of layer {layer} to switch off").format(layer=layer + 1),
                          [BLOCK, MLP, *range(cfg.n_head)], selection_mode="multi",
                          format_func=_part_label,
                          key=_widget(key, layer), on_change=_on_change, args=args,
                          disabled=training, label_visibility="collapsed", wrap=True,
                          **KEEP)
    c_mode, c_hold = st.columns(2)
    mode = c_mode.radio(_("Switched off how"), list(MODE_LABELS),
                        format_func=lambda v: _(MODE_LABELS[v]),
                        key=f"{key}_abl_mode", on_change=_on_change, args=args,
                        disabled=training, help=_(MODE_HELP), **KEEP)
    c_hold.radio(_("While training"), list(HOLD_LABELS),
                 format_func=lambda v: _(HOLD_LABELS[v]), index=1,
                 key=f"{key}_abl_hold", on_change=_on_change, args=args, disabled=training,
                 help=_(HOLD_HELP), **KEEP)
    if training:
        return
    if sync_hold(*args):  # a new run, or one the callbacks did not see: redraw the page for it
        st.rerun()
    choice = selected(key, cfg.n_layer, mode or "zero")
    step, whole = _whole(key, run)
    batches, digest = _batches(task, run)
    means = _means(key, run, task)[1] if choice.mode == "mean" else None
    if choice:
        report = memo(f"{key}_abl_report", (run, step, digest, choice),
                      lambda: ablation_report(whole, choice, batches, means, task))
        with numbers:
            _show_numbers(key, report)
        _show_what_was_measured(report, step, batches)
        if space is not None:
            _show_arrows(key, run, step, digest, whole, choice, means, space, font_scale)
    else:
        numbers.info(_("Switch a part off: what the model loses without it shows here at "
                       "once."))
    _show_effects(key, run, task, step, whole, batches, digest,
                  choice.mode if choice else mode or "zero", font_scale)


def _part_label(v: int) -> str:
    """A toggle's label: whole layer, MLP, head 1, ..."""
    if v == BLOCK:
        return _("whole layer")
    if v == MLP:
        return "MLP"
    return _("head {head}").format(head=v + 1)


def _signed(x: float, digits: int) -> str:
    """+0.123; a change that rounds to nothing is written ±0.000, not -0.000."""
    text = f"{x:+.{digits}f}"
    return f"±{text[1:]}" if float(text) == 0 else text


def _show_numbers(key: str, report: AblationReport) -> None:
    """Each loss (and held-out accuracy) with every part on → with the parts off."""
    with st.container(key=f"{key}_abl_numbers"):
        for split in report.loss_before:
            before, after = report.loss_before[split], report.loss_after[split]
            delta = _signed(after - before, 3)
            st.metric(_(SPLIT_LABELS[split]), f"{before:.3f} → {after:.3f}", delta,
                      delta_color="off" if delta.startswith("±") else "inverse")
        if "accuracy" in report.metrics_before:
            before, after = (100 * report.metrics_before["accuracy"],
                             100 * report.metrics_after["accuracy"])
            delta = _signed(after - before, 1)
            st.metric(_("Held-out problems answered right"), f"{before:.1f}% → {after:.1f}%",
                      _("{delta} points").format(delta=delta),
                      delta_color="off" if delta.startswith("±") else "normal")


def _show_what_was_measured(report: AblationReport, step: int, batches: dict) -> None:
    acc = "accuracy" in report.metrics_before
    sizes = _(", ").join(
        (_("{n:,} training sequences") if s == "train" else _("{n:,} held-out sequences")).format(
            n=sum(len(x) for x, _y in bs)) for s, bs in batches.items())
    words = dict(step=step, parts=parts_off(report.ablation),
                 ablation=mode_text(report.ablation.mode), sizes=sizes)
    if acc:
        st.caption(_("The model at step {step:,}: every part on → {parts} off ({ablation}). "
                     "Losses on the data the page's evaluations use ({sizes}); accuracy on "
                     "every held-out problem.").format(**words))
    else:
        st.caption(_("The model at step {step:,}: every part on → {parts} off ({ablation}). "
                     "Losses on the data the page's evaluations use ({sizes}).").format(**words))
    if report.everything_off:
        st.warning(_("**Every head and every MLP is off.** What is left is the token and "
                   "position embeddings and the output layer: each prediction depends only on "
                   "the current token (and its position), as in a bigram model. That is "
                   "allowed: the loss then shows what the embeddings and the output layer "
                   "manage on their own."),
                   icon=":material/block:")


def _show_arrows(key: str, run: LiveRun, step: int, digest: str, whole: GPT,
                 choice: Ablation, means: MeanOutputs | None, space: StateSpace,
                 font_scale: float) -> None:
    """Baby GPT: the chain of the model with the parts off, and the arrows that moved most."""
    states = space.states

    def probs() -> tuple[np.ndarray, np.ndarray]:
        before = model_transition_probs(whole, states).numpy()
        with ablate(whole, choice, means):
            after = model_transition_probs(whole, states).numpy()
        return before, after

    before, after = memo(f"{key}_abl_probs", (run, step, digest, tuple(states), choice), probs)
    task = space.task
    tok = task.tokenizer.token_str
    changes = arrow_changes(states, before, after, task.block_size)
    off = parts_off(choice)
    left, right = st.columns([3, 2])
    with left:
        if space.as_graph:
            st.plotly_chart(chain_figure(
                states, after, task.block_size, space.in_windows, tok,
                title=_("Step {step:,} with {parts} off").format(step=step, parts=off),
                font_scale=font_scale,
                height=FIG_HEIGHT, last_only=task.last_only), key=f"{key}_abl_chain", theme=None)
        else:
            st.caption(_("{states:,} states are too many to draw as a graph; the arrows of the "
                         "most frequent states are on the right.").format(
                states=space.total_states()))
    with right:
        st.plotly_chart(arrow_changes_figure(changes, tok, font_scale=font_scale,
                                             height=FIG_HEIGHT,
                                             title=_("Arrows that moved most")),
                        key=f"{key}_abl_arrows", theme=None)
    top = changes[0]
    name = "".join(tok(t) for t in top.state) or _("(start)")
    nxt = "".join(tok(t) for t in top.next)
    st.caption(_("The chain above the tabs is the whole model (unless these parts are held "
                 "off); here {parts} is off. The arrow that moved most: {state} → {next}, from "
                 "{before:.0%} to {after:.0%}.").format(parts=off, state=name, next=nxt,
                                                       before=top.before, after=top.after))
    with st.expander(_("Every arrow, with every part on and with the parts off")):
        start = _("(start)")
        st.dataframe([{_("from"): "".join(tok(t) for t in c.state) or start,
                       _("to"): "".join(tok(t) for t in c.next), _("token"): tok(c.token),
                       _("every part on"): round(c.before, 3),
                       _("parts off"): round(c.after, 3),
                       _("change"): round(c.change, 3)} for c in changes], hide_index=True)


def _show_effects(key: str, run: LiveRun, task: Task, step: int, whole: GPT, batches: dict,
                  digest: str, mode: str, font_scale: float) -> None:
    cfg = whole.config
    st.subheader(_("What each part does"))
    n = cfg.n_layer * (cfg.n_head + 1)
    tokens = sum(x.numel() for x, _y in batches["train"])
    cheap = whole.num_params() * tokens * (n + 1) <= AUTO_EFFECTS_COST
    on = st.toggle(_("Measure what each part does ({n} evaluations of the training loss, "
                     "redone after each training run)").format(n=n), value=cheap,
                   # one choice for small models and one for large: a user who turned it off for
                   # a small model, or on for a large one, is not overruled by a change of size
                   key=f"{key}_abl_effects_{'small' if cheap else 'large'}",
                   help=_("Each head and each MLP is switched off alone, in turn. On by "
                          "default for small models; for larger ones it takes a few seconds of "
                          "the server's time after every training run."), **KEEP)
    if not on:
        return
    # the spinner shows only if this takes over half a second (a memo hit takes microseconds)
    with st.spinner(_("Switching each of the {n} heads and MLPs off in turn ({ablation})…").format(
            n=n, ablation=mode_text(mode))):
        means = _means(key, run, task)[1] if mode == "mean" else None
        effects = memo(f"{key}_abl_effects_{mode}", (run, step, digest),
                       lambda: part_effects(whole, batches["train"], mode, means))
    # memoised like the effects: every full rerun (each click on the page) drew it anew
    fig = memo(f"{key}_abl_effects_fig", (run, step, digest, mode, font_scale),
               lambda: part_effects_figure(
                   effects, title=_("Loss increase with one part off ({ablation}), step "
                                    "{step:,}").format(ablation=mode_text(mode), step=step),
                   font_scale=font_scale))
    st.plotly_chart(fig, key=f"{key}_abl_effects", theme=None)
    st.markdown(_(EFFECTS_HOW_TO_READ))


def held_ablation_note(run: LiveRun) -> None:
    """For pages that show a model trained elsewhere (Generate, Forward pass): say so when its
    training page holds some of its parts off, since read_model() then sees them off."""
    if run.ablation:
        st.warning(_("This model has {parts} switched off ({ablation}), held on its training "
                     "page's Ablate panel: what this page shows is the model without those "
                     "parts.").format(parts=parts_off(run.ablation),
                                      ablation=mode_text(run.ablation.mode)),
                   icon=":material/block:")

