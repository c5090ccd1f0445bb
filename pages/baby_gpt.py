"""Baby GPT: document 000 made interactive. A tiny GPT is a finite-state Markov chain."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st
import torch

from gptviz.analysis import (
    all_states,
    empirical_transitions,
    model_transition_probs,
    state_kind,
    state_space_size,
    window_transitions,
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
from gptviz.live import LiveRun, Snapshot
from gptviz.tasks import SequenceTask
from gptviz.train import Trainer, auto_device, build_model, resolve_device
from gptviz.urlparams import BoolParam, ChoiceParam, FloatParam, IntParam, TextParam
from gptviz.viz.attention import attention_figure, format_attention
from gptviz.viz.graph import (
    MAX_GRAPH_STATES,
    MAX_LABELLED_STATES,
    TRAINED_ON,
    state_graph,
    transition_heatmap,
)
from gptviz.viz.loss import loss_figure
from gptviz.viz.network import state_network_figure
from pages._entry import enter_through_app  # noqa: E402
from pages._live import (
    apply_url_settings,
    install_run,
    keep_run,
    live_view,
    memo,
    model_download,
    model_upload,
    page_defaults,
    reset_run,
    settings_error,
    share_box,
    training_buttons,
)

enter_through_app()

P = "baby"  # widget-key prefix
MAX_HEATMAP_STATES = 32
MAX_SHARED_SEQUENCE = 2_000  # symbols of the sequence that a link may carry

# Every setting of the page, with its allowed range: the widgets use these bounds, and the same
# specs check the values that arrive in a shared link (gptviz/urlparams.py).
SPECS = {
    f"{P}_vocab": IntParam(1, 36), f"{P}_context": IntParam(1, 16),
    f"{P}_layers": IntParam(1, 8), f"{P}_heads": IntParam(1, 16),
    f"{P}_embd": IntParam(1, 256), f"{P}_bias": BoolParam(),
    f"{P}_lr": FloatParam(1e-5, 100.0), f"{P}_wd": FloatParam(0.0, 10.0),
    f"{P}_batch": IntParam(1, 512), f"{P}_steps": IntParam(1, 100_000),
    f"{P}_seed": IntParam(0, 2**31 - 1), f"{P}_device": ChoiceParam(("cpu", "cuda")),
    f"{P}_seq": TextParam(MAX_SHARED_SEQUENCE, "0-9a-z", "the symbols 0-9 and a-z"),
    f"{P}_last_only": BoolParam(), f"{P}_prefixes": BoolParam(),
}
# the largest model this page builds, in MB of float32 weights: the cap for uploads
MAX_MODEL_MB = math.ceil(GPTConfig(vocab_size=36, block_size=16, n_layer=8, n_head=16,
                                   n_embd=256).num_params() * 4 / 1e6) + 1


def bounds(key: str) -> tuple:
    return SPECS[key].lo, SPECS[key].hi


# what a loaded model may have: the widgets' own bounds
LIMITS = {"vocab_size": bounds(f"{P}_vocab"), "block_size": bounds(f"{P}_context"),
          "n_layer": bounds(f"{P}_layers"), "n_head": bounds(f"{P}_heads"),
          "n_embd": bounds(f"{P}_embd")}


def settings_of(m: GPTConfig, t: TrainConfig) -> dict:
    """The widget values that build model m and train it with t."""
    return {f"{P}_vocab": m.vocab_size, f"{P}_context": m.block_size, f"{P}_layers": m.n_layer,
            f"{P}_heads": m.n_head, f"{P}_embd": m.n_embd, f"{P}_bias": m.bias,
            f"{P}_lr": t.learning_rate, f"{P}_wd": t.weight_decay, f"{P}_batch": t.batch_size,
            f"{P}_steps": t.max_steps, f"{P}_seed": t.seed, f"{P}_device": t.device}


DOC000_WIDGETS = {**settings_of(DOC000_MODEL, DOC000_TRAIN), f"{P}_device": auto_device(),
                  f"{P}_seq": DOC000_SEQUENCE, f"{P}_last_only": True}


def load_doc000() -> None:
    st.session_state.update(DOC000_WIDGETS)
    reset_run(f"{P}_run")  # a fresh model, seeded as in the document


page_defaults(DOC000_WIDGETS)
KEEP = {"persist_state": "session"}  # every setting survives a switch to another page and back

st.title("Baby GPT: a GPT is a Markov chain")
apply_url_settings(SPECS, P)  # a shared link's settings, checked and clamped
st.markdown(
    "A GPT with a vocabulary of **V** tokens and a context of **T** tokens only ever sees the "
    "last T tokens, so it is a finite-state machine with V^T states: for each state it gives a "
    "probability for every next token. Type a sequence, train the model on it, and watch the "
    "arrows between states change until they match what the data says. "
    "(Andrej Karpathy's *GPT as a finite-state Markov chain*, document 000.)"
)
st.button("Load document 000's experiment", icon=":material/science:", on_click=load_doc000,
          key=f"{P}_preset",
          help="Vocab 2, context 3, 4 layers, 4 heads, 16 dims, no bias, seed 1337, "
               "AdamW lr 1e-3, 50 steps on '111101111011110'.")

# --- controls ---------------------------------------------------------------------------------
def number(label: str, name: str, **kwargs) -> float:
    """A number input for setting P_name, within its bounds, kept across page switches."""
    key = f"{P}_{name}"
    return st.number_input(label, *bounds(key), key=key, **KEEP, **kwargs)


with st.sidebar:
    st.header("Model")
    vocab = number("Vocabulary size V (symbols 0-9, a-z)", "vocab")
    context = number("Context length T", "context")
    n_layer = number("Layers", "layers")
    n_head = number("Heads per layer", "heads")
    n_embd = number("Embedding size", "embd", help="Must be divisible by the number of heads.")
    bias = st.checkbox("Biases in Linear layers", key=f"{P}_bias", **KEEP)
    st.header("Training")
    lr = number("Learning rate", "lr", format="%.0e", step=1e-4)
    wd = number("Weight decay", "wd", step=0.01)
    batch = number("Batch size", "batch",
                   help="Examples per step; a sequence with fewer windows uses all.")
    steps = number("Steps per click of Train", "steps")
    seed = number("Seed", "seed")
    device = st.selectbox("Device", ["cpu", "cuda"], key=f"{P}_device", **KEEP,
                          help="CUDA needs an NVIDIA GPU; the app says so if there is none.")
    last_only = st.checkbox("Score only the last position (as document 000)",
                            key=f"{P}_last_only", **KEEP,
                            help="Off: every position of each window is scored, so the model "
                                 "also learns the shorter prefixes.")

sequence = st.text_area("Training sequence", key=f"{P}_seq", **KEEP, height=80,
                        help="Symbols of the vocabulary; spaces and new lines are ignored.")

# --- build or keep the model ------------------------------------------------------------------
try:
    mcfg = GPTConfig(vocab_size=int(vocab), block_size=int(context), n_layer=int(n_layer),
                     n_head=int(n_head), n_embd=int(n_embd), bias=bool(bias)).validate()
    task = SequenceTask(sequence, int(vocab), int(context), last_only=bool(last_only))
    # the loss on all windows is measured after every step when each step trains on all of
    # them (then it costs nothing, see Trainer); else about as often as it costs one step
    n_windows = len(task.examples["train"][0])
    every = 1 if task.full_batch(int(batch)) else math.ceil(n_windows / int(batch))
    tcfg = TrainConfig(learning_rate=float(lr), weight_decay=float(wd), batch_size=int(batch),
                       max_steps=int(steps), seed=int(seed), device=device,
                       eval_interval=every, eval_batches=1).validate()
    resolve_device(device)
    run = keep_run(f"{P}_run", (mcfg, int(seed), device),
                   lambda: LiveRun(Trainer(build_model(mcfg, int(seed)), task, tcfg)),
                   label="Baby GPT")
except ConfigError as e:
    settings_error(e, f"{P}_run")
run.update(config=tcfg, task=task)  # same model: new data and hyperparameters, between steps

n_states = state_space_size(mcfg.vocab_size, mcfg.block_size)
show_prefixes = st.toggle(
    f"Include the shorter prefixes ({state_space_size(mcfg.vocab_size, mcfg.block_size, True)} "
    f"states instead of {n_states})", key=f"{P}_prefixes", **KEEP,
    help="A sequence starts with fewer than T tokens: these are the chain's other states.")
x_train, y_train = task.examples["train"]
transitions = empirical_transitions(x_train, y_train)
# what follows each state at every position of the windows, scored or not (prefixes included)
in_windows = window_transitions(x_train, y_train)
floor = task.entropy_floor()

if state_space_size(mcfg.vocab_size, mcfg.block_size, show_prefixes) <= MAX_GRAPH_STATES:
    states = all_states(mcfg.vocab_size, mcfg.block_size, show_prefixes)
    as_graph = True
else:
    # too many states to draw: the most frequent contexts in the data, as a heatmap
    seen = sorted(transitions.counts, key=lambda s: -transitions.total(s))
    states = [s for s in seen if show_prefixes or len(s) == mcfg.block_size]
    states = states[:MAX_HEATMAP_STATES]
    as_graph = False
    st.info(f"{state_space_size(mcfg.vocab_size, mcfg.block_size, show_prefixes):,} states are "
            f"too many to draw as a readable graph (the limit is {MAX_GRAPH_STATES}). Shown "
            f"instead: the {len(states)} states that occur most often in the data, as a table of "
            f"colours (rows: state, columns: next token).")

if st.session_state.get(f"{P}_before", (None,))[0] is not run:
    # the untrained model's probabilities for every state it has, kept for "before vs now"
    every = all_states(mcfg.vocab_size, mcfg.block_size, include_prefixes=True)
    step0, probs0 = run.read_view(lambda m: model_transition_probs(m, every).numpy())
    fresh = step0 == 0 and len(every) <= MAX_GRAPH_STATES
    st.session_state[f"{P}_before"] = (run, dict(zip(every, probs0, strict=True))
                                       if fresh else None)

st.caption(f"{len(task.examples['train'][0])} training windows · {n_states:,} states · "
           f"{run.trainer.model.num_params():,} parameters · lowest possible loss on this data "
           f"{floor:.3f} nats")
training_buttons(run, int(steps), P)


def task_spec() -> dict:
    return {"kind": "sequence", "sequence": task.sequence, "last_only": task.last_only}


def apply_bundle(b: Bundle) -> str:
    """Install a loaded model on this page (called by the uploader before the widgets)."""
    check_fits(b, "sequence", LIMITS)
    c = b.config
    seq, last = b.task.get("sequence"), b.task.get("last_only", True)
    if not isinstance(seq, str) or not isinstance(last, bool):
        raise CheckpointError("The model file's task has no valid 'sequence'.")
    try:
        seq_value, _ = SPECS[f"{P}_seq"].parse(seq)
    except ValueError as e:
        raise CheckpointError(f"The model file's training sequence {e}.") from None
    trainer = bundle_trainer(b, SequenceTask(seq_value, c.vocab_size, c.block_size, last), tcfg,
                             eval_interval=1, eval_batches=1,
                             max_steps=min((b.train or tcfg).max_steps, bounds(f"{P}_steps")[1]))
    st.session_state.update({**settings_of(c, trainer.config), f"{P}_seq": seq_value,
                             f"{P}_last_only": last})
    install_run(f"{P}_run", LiveRun(trainer), (c, trainer.config.seed, trainer.config.device))
    return (f"Loaded a model trained for {b.step:,} steps: {c.n_layer} layers, {c.n_head} heads, "
            f"{c.n_embd} dimensions, vocabulary {c.vocab_size}, context {c.block_size}. The "
            "settings above now match it; Train continues from its weights (with a fresh "
            "optimizer).")


with st.expander("Save, load and share", icon=":material/share:"):
    left, right = st.columns(2)
    with left:
        model_download(run, task_spec(), file_name=f"baby_gpt_step{run.trainer.step_count}.zip",
                       key=f"{P}_download")
    with right:
        model_upload(f"{P}_upload", apply_bundle, max_mb=MAX_MODEL_MB)
    share_box(SPECS)

tok = task.tokenizer.token_str
attn_state = st.selectbox(
    "Input for the attention heatmaps", [tuple(r) for r in x_train.tolist()][:200],
    format_func=lambda s: "".join(tok(t) for t in s), key=f"{P}_attn_input", **KEEP)


def draw(snap: Snapshot) -> None:
    # everything drawn depends only on the model (its step) and the settings: memoised, so a
    # queued or paused model redraws without recomputing (see memo in pages/_live.py)
    key = (run, snap.view_step, len(snap.evals), states, as_graph, attn_state)
    step, probs = memo(f"{P}_probs", key, lambda: run.read_view(
        lambda m: model_transition_probs(m, states).numpy()))
    # the labelled graph gets the wider column (its edge labels must read from the back row);
    # a big circle gets the whole width
    wide_graph = as_graph and len(states) > MAX_LABELLED_STATES
    left, right = st.columns([2, 3]) if not wide_graph else (st.container(), st.container())
    with left:
        st.plotly_chart(memo(f"{P}_loss_fig", (key, snap.step), lambda: loss_figure(
            snap.steps, snap.losses, snap.evals, floor, title="Training loss",
            train_name="loss on all windows")), key=f"{P}_loss")
    with right:
        if as_graph:
            st.subheader(f"Now (step {step})")
            with st.container(key=f"{P}_graph"):
                draw_graph(probs, key=f"{P}_network")
        else:
            st.plotly_chart(memo(f"{P}_heat_fig", key, lambda: transition_heatmap(
                states, probs, transitions, tok, title=f"P(next | state), step {step}")),
                key=f"{P}_heat")
    compare_table(probs)
    st.plotly_chart(memo(f"{P}_attn_fig", key, attention_now), key=f"{P}_attn")


def attention_now():
    x = np.asarray(attn_state, dtype=np.int64)[None, :]
    att = run.read_model(lambda m: format_attention(
        m(torch.from_numpy(x).to(m.device), return_attention=True).attention))
    return attention_figure(att, [tok(t) for t in attn_state],
                            title="Attention weights: where each position looks")


def draw_graph(probs: np.ndarray, key: str) -> None:
    """Up to 16 states: graphviz with every edge labelled, as in document 000. More: the same
    arrows on a fixed circle in plotly, which redraws live in milliseconds where graphviz took
    about a second in the browser for 64 states (bench/browser.py); hover gives the numbers."""
    if len(states) <= MAX_LABELLED_STATES:
        st.graphviz_chart(state_graph(states, probs, mcfg.block_size, in_windows, tok,
                                      last_only=task.last_only), width="stretch")
    else:
        st.plotly_chart(state_network_figure(states, probs, mcfg.block_size, in_windows, tok,
                                             last_only=task.last_only), key=key)
        st.caption(f"{len(states)} states: too many to label every arrow. Thicker, darker arrows "
                   "are likelier; hover over an arrowhead for the token and both probabilities.")


def compare_table(probs: np.ndarray) -> None:
    with st.expander("Model vs data, state by state"):
        rows = []
        for s, p in zip(states, probs, strict=True):
            data = in_windows.probs(s, mcfg.vocab_size)
            rows.append({
                "state": "".join(tok(t) for t in s),
                "seen in data": in_windows.total(s),
                "trained on": TRAINED_ON[state_kind(s, mcfg.block_size, in_windows,
                                                    task.last_only)],
                **{f"model P({tok(t)})": round(float(p[t]), 3) for t in range(mcfg.vocab_size)},
                **{f"data P({tok(t)})": (round(data[t], 3) if data else None)
                   for t in range(mcfg.vocab_size)},
            })
        st.dataframe(rows, hide_index=True)


before = st.session_state[f"{P}_before"][1]
if as_graph and before is not None:
    with st.expander("Before training (step 0): the untrained model's graph", expanded=False):
        draw_graph(np.stack([before[s] for s in states]), key=f"{P}_network_before")
live_view(run, draw)
st.markdown(
    "**How to read this.** Each circle is a state: the last T tokens. From each state one arrow "
    "leaves per possible next token, labelled `token(probability)`; following it appends the "
    "token and drops the oldest one. Blue states occur in the training sequence (with `data q%` "
    "saying how often each token followed them there); grey dashed states never occur, so the "
    "model's arrows from them are pure guesswork. The thick line, the loss on all training "
    "windows, cannot go below the dashed green line: where the data itself is uncertain (the "
    "same state followed by different tokens), no model can do better than the data's own "
    "frequencies. The thin line is each step's batch loss: with a batch smaller than the number "
    "of windows it is measured on a random handful of them, which can dip below the floor."
)
