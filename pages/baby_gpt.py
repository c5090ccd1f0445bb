"""Baby GPT: document 000 as a live instrument. A tiny GPT is a finite-state Markov chain.

One screen (1280x720, sidebar open): the controls, the loss curve and the chain's graph; the
attention below; the rest in tabs. While training, a timeline replays any recorded step;
clicking a state selects it; a walk samples the chain at a temperature and traces it.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st
import torch

from gptviz.analysis import model_transition_probs, state_kind, state_space_size
from gptviz.chain import (
    MAX_WALK,
    at_temperature,
    clamp_tau,
    data_frequencies,
    sample_walk,
    stationary,
    transition_matrix,
)
from gptviz.checkpoint import Bundle, CheckpointError, bundle_trainer, check_fits
from gptviz.config import (
    DOC000_MODEL,
    DOC000_SEQUENCE,
    DOC000_TRAIN,
    ConfigError,
    GPTConfig,
    TrainConfig,
)
from gptviz.i18n import N_, _, language
from gptviz.live import LiveRun, Snapshot
from gptviz.statespace import MAX_GRAPH_STATES, StateSpace
from gptviz.tasks import SequenceTask
from gptviz.train import Trainer, auto_device, build_model, resolve_device
from gptviz.urlparams import BoolParam, ChoiceParam, FloatParam, IntParam, TextParam
from gptviz.viz.attention import attention_figure, format_attention
from gptviz.viz.chain import stationary_figure
from gptviz.viz.graph import TRAINED_ON, transition_heatmap
from gptviz.viz.loss import LR_PANEL_PX, loss_figure
from gptviz.viz.network import chain_figure, clicked_state
from pages._ablate import ablation_panel
from pages._entry import enter_through_app  # noqa: E402
from pages._instrument import (
    advance_play,
    compact_page,
    presenter_toggle,
    timeline_slider,
    view_mode,
)
from pages._live import (
    apply_url_settings,
    fitted_note,
    in_language,
    install_run,
    keep_run,
    live_fragment,
    live_seconds,
    lr_panel,
    memo,
    model_download,
    model_upload,
    page_defaults,
    reset_run,
    retuned,
    schedule_inputs,
    schedule_kwargs,
    schedule_specs,
    schedule_values,
    settings_error,
    share_box,
    status_line,
    training_buttons,
)
from pages._room import post_to_room
from pages._runs import compare_runs

enter_through_app()

P = "baby"  # widget-key prefix
MAX_SHARED_SEQUENCE = 2_000  # symbols of the sequence that a link may carry
FIG_HEIGHT = 360  # px: the loss and the graph side by side fit a 1280x720 screen
ATT_HEIGHT = 320  # px: below them, the attention still fits a 1920x1080 screen

# Every setting of the page, with its allowed range: the widgets use these bounds, and the same
# specs check the values that arrive in a shared link (gptviz/urlparams.py).
SPECS = {
    f"{P}_vocab": IntParam(1, 36), f"{P}_context": IntParam(1, 16),
    f"{P}_layers": IntParam(1, 8), f"{P}_heads": IntParam(1, 16),
    f"{P}_embd": IntParam(1, 256), f"{P}_bias": BoolParam(),
    f"{P}_lr": FloatParam(1e-5, 100.0), f"{P}_wd": FloatParam(0.0, 10.0),
    f"{P}_batch": IntParam(1, 512), f"{P}_steps": IntParam(1, 100_000),
    f"{P}_seed": IntParam(0, 2**31 - 1), f"{P}_device": ChoiceParam(("cpu", "cuda")),
    f"{P}_seq": TextParam(MAX_SHARED_SEQUENCE, "0-9a-z", N_("the symbols 0-9 and a-z")),
    f"{P}_last_only": BoolParam(), f"{P}_prefixes": BoolParam(),
    **schedule_specs(P),
}
# what a locked-demo link (?hide=a,b) can hide, documented in the README (the keys are the
# link's words; the values are shown translated, _(HIDEABLE[name]))
HIDEABLE = {"settings": N_("the sidebar's settings"), "preset": N_("the document 000 button"),
            "reset": N_("the Reset button"), "timeline": N_("the replay"),
            "attention": N_("the heatmaps"), "tabs": N_("the tabs under the figures"),
            "share": N_("save, load and share")}
# the largest model this page builds, in MB of float32 weights: the cap for uploads
MAX_MODEL_MB = math.ceil(GPTConfig(vocab_size=36, block_size=16, n_layer=8, n_head=16,
                                   n_embd=256).num_params() * 4 / 1e6) + 1


def bounds(key: str) -> tuple:
    return SPECS[key].lo, SPECS[key].hi


# what a loaded model may have: the widgets' own bounds (a training setting without a widget
# is held to TrainConfig.validate(); the page evaluates every step whatever the file says)
LIMITS = {"vocab_size": bounds(f"{P}_vocab"), "block_size": bounds(f"{P}_context"),
          "n_layer": bounds(f"{P}_layers"), "n_head": bounds(f"{P}_heads"),
          "n_embd": bounds(f"{P}_embd"), "learning_rate": bounds(f"{P}_lr"),
          "weight_decay": bounds(f"{P}_wd"), "batch_size": bounds(f"{P}_batch"),
          "max_steps": bounds(f"{P}_steps"), "seed": bounds(f"{P}_seed")}


def settings_of(m: GPTConfig, t: TrainConfig) -> dict:
    """The widget values that build model m and train it with t."""
    return {f"{P}_vocab": m.vocab_size, f"{P}_context": m.block_size, f"{P}_layers": m.n_layer,
            f"{P}_heads": m.n_head, f"{P}_embd": m.n_embd, f"{P}_bias": m.bias,
            f"{P}_lr": t.learning_rate, f"{P}_wd": t.weight_decay, f"{P}_batch": t.batch_size,
            f"{P}_steps": t.max_steps, f"{P}_seed": t.seed, f"{P}_device": t.device,
            **schedule_values(P, t)}


DOC000_WIDGETS = {**settings_of(DOC000_MODEL, DOC000_TRAIN), f"{P}_device": auto_device(),
                  f"{P}_seq": DOC000_SEQUENCE, f"{P}_last_only": True}


def load_doc000() -> None:
    st.session_state.update(DOC000_WIDGETS)
    reset_run(f"{P}_run")  # a fresh model, seeded as in the document


page_defaults({**DOC000_WIDGETS, f"{P}_prefixes": False, f"{P}_tau": 1.0, f"{P}_walk_steps": 12})
KEEP = {"persist_state": "session"}  # every setting survives a switch to another page and back
mode = view_mode(P, HIDEABLE)
compact_page(mode)
apply_url_settings(SPECS, P)  # a shared link's settings, checked and clamped


# --- controls ---------------------------------------------------------------------------------
def number(label: str, name: str, **kwargs) -> float:
    """A number input for setting P_name, within its bounds, kept across page switches."""
    key = f"{P}_{name}"
    return st.number_input(label, *bounds(key), key=key, **KEEP, **kwargs)


if mode.shows("settings"):
    with st.sidebar:
        st.header(_("Data"))
        st.text_area(_("Training sequence"), key=f"{P}_seq", **KEEP, height=90,
                     help=_("Symbols of the vocabulary; spaces and new lines are ignored."))
        st.checkbox(_("Score only the last position (as document 000)"), key=f"{P}_last_only",
                    **KEEP, help=_("Off: every position of each window is scored, so the model "
                                   "also learns the shorter prefixes."))
        st.header(_("Model"))
        number(_("Vocabulary size V (symbols 0-9, a-z)"), "vocab")
        number(_("Context length T"), "context")
        number(_("Layers"), "layers")
        number(_("Heads per layer"), "heads")
        number(_("Embedding size"), "embd", help=_("Must be divisible by the number of heads."))
        st.checkbox(_("Biases in Linear layers"), key=f"{P}_bias", **KEEP)
        st.header(_("Training"))
        number(_("Learning rate"), "lr", format="%.0e", step=1e-4)
        number(_("Weight decay"), "wd", step=0.01)
        number(_("Batch size"), "batch",
               help=_("Windows per step; a sequence with fewer windows uses all."))
        number(_("Steps per click of Train"), "steps")
        number(_("Seed"), "seed")
        st.selectbox(_("Device"), ["cpu", "cuda"], key=f"{P}_device", **KEEP,
                     help=_("CUDA needs an NVIDIA GPU; the app says so if there is none."))
        schedule_inputs(P, SPECS)
S = {k: st.session_state[k] for k in SPECS if k in st.session_state}  # the settings, read once

# --- build or keep the model ------------------------------------------------------------------
try:
    mcfg = GPTConfig(vocab_size=int(S[f"{P}_vocab"]), block_size=int(S[f"{P}_context"]),
                     n_layer=int(S[f"{P}_layers"]), n_head=int(S[f"{P}_heads"]),
                     n_embd=int(S[f"{P}_embd"]), bias=bool(S[f"{P}_bias"])).validate()
    task = SequenceTask(S[f"{P}_seq"], mcfg.vocab_size, mcfg.block_size,
                        last_only=bool(S[f"{P}_last_only"]))
    batch, seed, device = int(S[f"{P}_batch"]), int(S[f"{P}_seed"]), S[f"{P}_device"]
    # the loss on all windows is measured after every step when each step trains on all of
    # them (then it costs nothing, see Trainer); else about as often as it costs one step
    every = 1 if task.full_batch(batch) else math.ceil(len(task.examples["train"][0]) / batch)
    tcfg = TrainConfig(learning_rate=float(S[f"{P}_lr"]), weight_decay=float(S[f"{P}_wd"]),
                       batch_size=batch, max_steps=int(S[f"{P}_steps"]), seed=seed,
                       device=device, eval_interval=every, eval_batches=1,
                       **schedule_kwargs(P, S)).validate()
    resolve_device(device)
    space = StateSpace(task, show_prefixes=bool(st.session_state[f"{P}_prefixes"]))
    run = keep_run(f"{P}_run", (mcfg, seed, device, tcfg.decay_matrices_only), lambda: LiveRun(
        Trainer(build_model(mcfg, seed), task, tcfg), recorder=space.recorder()),
        label="Baby GPT")
except ConfigError as e:
    settings_error(e, f"{P}_run")
run.update(config=tcfg, task=task)  # same model: new data and hyperparameters, between steps
tok = task.tokenizer.token_str
names = ["".join(tok(t) for t in s) or _("(start)") for s in space.states]
floor = task.entropy_floor()

# --- the top of the screen: title, the facts, the controls ------------------------------------
head, right = st.columns([4, 1], vertical_alignment="bottom")
head.title(_("Baby GPT: a GPT is a Markov chain"))
with right:
    presenter_toggle(P)
st.caption(_("{windows} training windows · {states:,} states · {params:,} parameters · lowest "
             "possible loss on this data {floor:.3f} nats").format(
    windows=len(task.examples['train'][0]), states=space.total_states(),
    params=run.trainer.model.num_params(), floor=floor))
c_train, c_doc = st.columns([3, 1], vertical_alignment="bottom")
with c_train:
    training_buttons(run, tcfg.max_steps, P, reset=mode.shows("reset"))
if mode.shows("preset"):
    c_doc.button(_("Load document 000"), icon=":material/science:", on_click=load_doc000,
                 key=f"{P}_preset", width="stretch",
                 help=_("Load document 000's experiment: vocab 2, context 3, 4 layers, 4 heads, "
                        "16 dims, no bias, seed 1337, AdamW lr 1e-3, 50 steps on "
                        "'111101111011110'."))
# when in a class room; the curve's name is the room's data, in English (the room's pages show
# it to readers of every language)
post_to_room("baby_gpt", run, SPECS, train_name="loss on all windows")


# --- what the figures show: the live model, or a recorded step --------------------------------
def live_probs(snap: Snapshot) -> tuple[int, np.ndarray]:
    key = (run, snap.view_step, tuple(space.states))
    return memo(f"{P}_probs", key, lambda: run.read_view(
        lambda m: model_transition_probs(m, space.states).numpy()))


def shown(snap: Snapshot, replay: int | None) -> tuple[int, np.ndarray, str]:
    """(step, probabilities of the drawn states, a note) for the live model or a replay."""
    if replay is not None:
        hit = run.timeline.at(replay)
        probs = space.probs_of(hit[1]) if hit else None
        if probs is not None:
            note = "" if hit[0] == replay else (
                _(" (the nearest recorded step to {step:,}; training has not got there yet)")
                if replay > snap.step else _(" (the nearest recorded step to {step:,})")
            ).format(step=replay)
            return hit[0], probs, note
        st.info(_("This step was recorded for other settings (the sequence changed since); "
                  "showing the model as it is now."))
    step, probs = live_probs(snap)
    return step, probs, ""


def selected_state() -> int | None:
    i = st.session_state.get(f"{P}_selected")
    return i if isinstance(i, int) and 0 <= i < len(space.states) else None


def graph(step: int, probs: np.ndarray, note: str) -> None:
    tau = clamp_tau(float(st.session_state.get(f"{P}_tau", 1.0)))
    event = st.session_state.get(f"{P}_network")  # a click on a state reruns with it here
    picked = clicked_state(event.selection.points) if event and event.get("selection") else None
    if picked is not None:
        st.session_state[f"{P}_selected"] = picked
    shown_probs = at_temperature(probs, tau).probs if tau != 1.0 else probs
    path = st.session_state.get(f"{P}_walk_path")
    if path and st.session_state.get(f"{P}_walk_for") == (run, tuple(space.states)):
        path = path[: st.session_state.get(f"{P}_walk_shown", len(path))]
    else:
        path = None
    if not space.as_graph:
        st.plotly_chart(transition_heatmap(space.states, probs, space.transitions, tok,
                                           title=_("P(next | state), step {step:,}{note}")
                                           .format(step=step, note=note)),
                        key=f"{P}_heat", theme=None)
        return
    fig = chain_figure(space.states, shown_probs, mcfg.block_size, space.in_windows, tok,
                       title=_("Step {step:,}{note}").format(step=step, note=note),
                       font_scale=mode.font_scale,
                       subtitle=_("the chain at temperature {tau:g}").format(tau=tau)
                       if tau != 1.0 else "",
                       selected=selected_state(), path=path, height=FIG_HEIGHT,
                       last_only=task.last_only)
    st.plotly_chart(fig, key=f"{P}_network", theme=None, on_select="rerun",
                    selection_mode="points")


def attention(step: int, replay: int | None) -> None:
    sel = selected_state()
    window = space.states[sel] if sel is not None else space.windows[0]
    if len(window) != mcfg.block_size:
        st.caption(_("Attention: {state} is a prefix; click a full state to see its "
                     "attention.").format(state=names[sel]))
        return
    att = None
    if replay is not None:
        hit = run.timeline.at(replay)
        att = space.attention_of(hit[1], window) if hit else None
        if att is None:
            st.caption(_("The attention of this input was not recorded; it is drawn for the "
                         "model as it is now."))
    if att is None:
        x = torch.tensor([window], dtype=torch.long)
        att = memo(f"{P}_att", (run, run.snapshot().view_step, window), lambda: run.read_model(
            lambda m: format_attention(m(x.to(m.device), return_attention=True).attention)))
    label = "".join(tok(t) for t in window)
    st.plotly_chart(attention_figure(att, [tok(t) for t in window],
                                     title=_("Attention for input {input} at step {step:,}: "
                                             "where each position looks (click a state to "
                                             "change it)").format(input=label, step=step),
                                     height=ATT_HEIGHT),
                    key=f"{P}_attn", theme=None)


def walking() -> bool:
    """A sampled walk is still being traced on the graph, one state per redraw."""
    path = st.session_state.get(f"{P}_walk_path") or []
    return st.session_state.get(f"{P}_walk_shown", 0) < len(path)


def animating() -> bool:
    return run.running or bool(st.session_state.get(f"{P}_playing")) or walking()


was_live = animating()
interval = live_seconds(was_live)  # longer while a large class trains here


@live_fragment(interval)
def live() -> None:
    advance_play(run, P)
    if walking():
        st.session_state[f"{P}_walk_shown"] += 1
    snap = run.snapshot()
    status_line(snap)
    figures = st.container()  # above the timeline's slider, drawn once the slider is read
    replay = timeline_slider(run, P, snap.target) if mode.shows("timeline") else None
    step, probs, note = shown(snap, replay)
    st.session_state[f"{P}_shown"] = (step, probs)
    left, right_col = figures.columns([2, 3])
    with left:
        lrs = lr_panel(run.trainer.config, snap.lrs)  # a schedule: its rate under the loss
        st.plotly_chart(memo(f"{P}_loss_fig", (run, snap.step, replay, lrs is None, language()),
                             lambda: loss_figure(
            snap.steps, snap.losses, snap.evals, floor, title=_("Training loss"),
            train_name=_("loss on all windows"), marker_step=replay, lrs=lrs,
            height=FIG_HEIGHT - (LR_PANEL_PX // 2 if lrs is not None else 0))),
            key=f"{P}_loss", theme=None)
    with right_col:
        graph(step, probs, note)
    if mode.shows("attention"):
        attention(step, replay)
    if animating() != was_live or retuned(interval):
        st.rerun()  # started or finished (buttons, ticking), or a new redraw interval


live()


# --- below the figures: tabs ------------------------------------------------------------------
def table() -> None:
    step, probs = st.session_state[f"{P}_shown"]
    sel = selected_state()
    rows = []
    model_p, data_p = _("model P({token})"), _("data P({token})")  # column headers
    for i, (s, p) in enumerate(zip(space.states, probs, strict=True)):
        data = space.in_windows.probs(s, mcfg.vocab_size)
        rows.append({
            "": "▶" if i == sel else "", _("state"): names[i],
            _("seen in data"): space.in_windows.total(s),
            _("trained on"): _(TRAINED_ON[state_kind(s, mcfg.block_size, space.in_windows,
                                                     task.last_only)]),
            **{model_p.format(token=tok(t)): round(float(p[t]), 3)
               for t in range(mcfg.vocab_size)},
            **{data_p.format(token=tok(t)): (round(data[t], 3) if data else None)
               for t in range(mcfg.vocab_size)},
        })
    st.caption(_("The model at step {step:,}; the selected state, {state}, is marked ▶.")
               .format(step=step, state=names[sel]) if sel is not None
               else _("The model at step {step:,}.").format(step=step))
    st.dataframe(rows, hide_index=True)


def walk_tab() -> None:
    full = [i for i, s in enumerate(space.states) if len(s) == mcfg.block_size]
    if not space.as_graph:
        st.info(_("{states:,} states are too many to draw as a graph (the limit is {limit}), "
                  "so a walk cannot be traced here. Make V or T smaller.").format(
            states=space.total_states(), limit=MAX_GRAPH_STATES))
        return
    c1, c2, c3, c4 = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
    start = c1.selectbox(_("Start state"), range(len(space.states)), format_func=names.__getitem__,
                         index=selected_state() or 0, key=f"{P}_walk_start")
    tau = c2.number_input(_("Temperature τ"), 0.0, 1e9, key=f"{P}_tau", format="%g", **KEEP,
                          help=_("p^(1/τ), renormalised: below 1 the likeliest arrow wins more "
                                 "often (0: always); above 1 the arrows even out."))
    steps = c3.number_input(_("Steps"), 0, 10**9, key=f"{P}_walk_steps", **KEEP)
    c4.button(_("Sample a walk"), icon=":material/directions_walk:", key=f"{P}_walk",
              on_click=in_language(take_walk), args=(start, float(tau), int(steps)),
              width="stretch")
    tempered = at_temperature(st.session_state[f"{P}_shown"][1], float(tau))
    if tempered.clamped:
        st.warning(_("A temperature of {asked:g} is outside 0.001 to 1,000: the chain is "
                     "drawn at {used:g}.").format(asked=float(tau), used=tempered.tau))
    if msg := st.session_state.get(f"{P}_walk_msg"):
        st.warning(msg)
    path = st.session_state.get(f"{P}_walk_path")
    if path and st.session_state.get(f"{P}_walk_for") == (run, tuple(space.states)):
        tokens = st.session_state[f"{P}_walk_tokens"]
        st.markdown(_("**The walk** (traced on the graph above): `{start}` → `{tokens}`")
                    .format(start=names[path[0]], tokens="".join(tok(t) for t in tokens)))
    states = [space.states[i] for i in full]
    matrix = transition_matrix(states, tempered.probs[full], mcfg.block_size)
    longrun = stationary(matrix)
    pi = longrun.distribution if longrun.distribution is not None else longrun.long_run(0)
    if longrun.depends_on_start:
        st.info(_("This chain has {classes} closed classes: once in one it never leaves, so "
                  "the long run depends on where it starts. Shown: starting from {start}.")
                .format(classes=len(longrun.classes), start=names[full[0]]))
    freq = data_frequencies(task.examples["train"][0], states)
    # a validated figure costs tens of ms: rebuilt only when what it shows changes
    fig = memo("baby_stationary", (tuple(names[i] for i in full), pi.tobytes(), freq.tobytes(),
                                   mode.font_scale, language()),
               lambda: stationary_figure([names[i] for i in full], pi, freq,
                                         title=_("In the long run: the chain (computed "
                                                 "exactly) against the data"),
                                         font_scale=mode.font_scale))
    st.plotly_chart(fig, key=f"{P}_stationary", theme=None)


def take_walk(start: int, tau: float, steps: int) -> None:
    st.session_state[f"{P}_walk_msg"] = None
    try:
        probs = st.session_state[f"{P}_shown"][1]
        walk = sample_walk(space.states, probs, mcfg.block_size, space.states[start], steps,
                           tau=tau, seed=int(st.session_state.get(f"{P}_walk_n", 0)))
    except ValueError as e:
        st.session_state[f"{P}_walk_msg"] = _("{error} (at most {most:,} steps).").format(
            error=e, most=MAX_WALK)
        return
    index = {s: i for i, s in enumerate(space.states)}
    st.session_state.update({
        f"{P}_walk_path": [index[s] for s in walk.states], f"{P}_walk_tokens": walk.tokens,
        f"{P}_walk_for": (run, tuple(space.states)), f"{P}_walk_shown": 1,
        f"{P}_walk_n": int(st.session_state.get(f"{P}_walk_n", 0)) + 1,
        f"{P}_playing": False})


def task_spec() -> dict:
    return {"kind": "sequence", "sequence": task.sequence, "last_only": task.last_only}


def apply_bundle(b: Bundle) -> str:
    """Install a loaded model on this page (called by the uploader before the widgets)."""
    check_fits(b, "sequence", LIMITS)
    c = b.config
    seq, last = b.task.get("sequence"), b.task.get("last_only", True)
    if not isinstance(seq, str) or not isinstance(last, bool):
        raise CheckpointError(_("The model file's task has no valid 'sequence'."))
    try:
        seq_value, _cut = SPECS[f"{P}_seq"].parse(seq)
    except ValueError as e:
        raise CheckpointError(_("The model file's training sequence {error}.").format(
            error=e)) from None
    new_task = SequenceTask(seq_value, c.vocab_size, c.block_size, last)
    trainer, notes = bundle_trainer(b, new_task, tcfg, LIMITS, eval_interval=1, eval_batches=1)
    st.session_state.update({**settings_of(c, trainer.config), f"{P}_seq": seq_value,
                             f"{P}_last_only": last})
    recorder = StateSpace(new_task, bool(st.session_state[f"{P}_prefixes"])).recorder()
    install_run(f"{P}_run", LiveRun(trainer, recorder=recorder),
                (c, trainer.config.seed, trainer.config.device,
                 trainer.config.decay_matrices_only))
    return (_("Loaded a model trained for {steps:,} steps: {layers} layers, {heads} heads, "
              "{dims} dimensions, vocabulary {vocab}, context {context}. The settings now match "
              "it; Train continues from its weights (with a fresh optimizer).").format(
        steps=b.step, layers=c.n_layer, heads=c.n_head, dims=c.n_embd, vocab=c.vocab_size,
        context=c.block_size) + fitted_note(notes))


def share_tab() -> None:
    left, right_col = st.columns(2)
    with left:
        model_download(run, task_spec(), file_name=f"baby_gpt_step{run.trainer.step_count}.zip",
                       key=f"{P}_download")
    with right_col:
        model_upload(f"{P}_upload", apply_bundle, max_mb=MAX_MODEL_MB, kind="sequence",
                     limits=LIMITS)
    hide = st.multiselect(_("A locked demo: hide in the link"), list(HIDEABLE),
                          format_func=lambda n: _("{name} ({what})").format(
                              name=n, what=_(HIDEABLE[n])), key=f"{P}_hide_pick",
                          help=_("Whoever opens the link sees the page without these controls."))
    present = st.checkbox(_("Open the link in presenter mode"), key=f"{P}_present_pick")
    share_box(SPECS, extra={**({"hide": ",".join(hide)} if hide else {}),
                            **({"present": "1"} if present else {})})


HOW_TO_READ = N_(  # shown translated: _(HOW_TO_READ)
    "A GPT with a vocabulary of **V** tokens and a context of **T** tokens only ever sees the "
    "last T tokens, so it is a finite-state machine with V^T states: for each state it gives a "
    "probability for every next token (Karpathy's *GPT as a finite-state Markov chain*, "
    "document 000). Each circle is a state; from it one arrow leaves per next token, labelled "
    "`token(probability)`; following it appends the token and drops the oldest one. Blue states "
    "occur in the training sequence (`data q%`: how often each token followed them there); grey "
    "dashed states never occur, so the model's arrows from them are pure guesswork. The thick "
    "line, the loss on all training windows, cannot go below the dashed green line: where the "
    "data itself is uncertain (the same state followed by different tokens), no model can do "
    "better than the data's own frequencies. The thin line is each step's batch loss: with a "
    "batch smaller than the number of windows it is measured on a random handful of them, which "
    "can dip below the floor. **Click** a state to follow its arrows, its attention and its row "
    "in the table; **Replay** goes back to any recorded step.")

if mode.shows("tabs"):
    # the tabs by their English names (identifiers here), shown translated
    labels = [N_("Walk the chain"), N_("Model vs data"), N_("Before training"),
              N_("Compare runs"), N_("Ablate"), N_("How to read this")]
    if mode.shows("share"):
        labels.append(N_("Save, load and share"))
    tabs = dict(zip(labels, st.tabs([_(label) for label in labels]), strict=True))
    with tabs["Walk the chain"]:
        walk_tab()
    with tabs["Model vs data"]:
        table()
    with tabs["Before training"]:
        first = run.timeline.at(0)
        probs0 = space.probs_of(first[1]) if first and first[0] == 0 else None
        if probs0 is None or not space.as_graph:
            st.caption(_("The untrained model's graph is kept for a model built on this page, "
                         "from step 0, with at most 64 states."))
        else:
            st.plotly_chart(chain_figure(space.states, probs0, mcfg.block_size,
                                         space.in_windows, tok, title=_("Step 0: untrained"),
                                         height=FIG_HEIGHT, last_only=task.last_only),
                            key=f"{P}_network_before", theme=None)
    with tabs["Compare runs"]:
        compare_runs(P, f"{P}_run", run, train_name=_("loss on all windows"))
    with tabs["Ablate"]:
        ablation_panel(P, run, task, space=space, font_scale=mode.font_scale)
    with tabs["How to read this"]:
        if not mode.present:
            st.markdown(_(HOW_TO_READ))
        V, T = mcfg.vocab_size, mcfg.block_size
        st.toggle(_("Include the shorter prefixes ({states:,} states instead of {full:,})")
                  .format(states=state_space_size(V, T, True), full=state_space_size(V, T)),
                  key=f"{P}_prefixes", **KEEP,
                  help=_("A sequence starts with fewer than T tokens: these are the chain's "
                         "other states."))
    if "Save, load and share" in tabs:
        with tabs["Save, load and share"]:
            share_tab()
