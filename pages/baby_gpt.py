"""Baby GPT: document 000 made interactive. A tiny GPT is a finite-state Markov chain."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from gptviz.analysis import (
    all_states,
    empirical_transitions,
    model_transition_probs,
    state_space_size,
)
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
from gptviz.viz.attention import attention_figure, format_attention
from gptviz.viz.graph import (
    MAX_GRAPH_STATES,
    MAX_LABELLED_STATES,
    state_graph,
    transition_heatmap,
)
from gptviz.viz.loss import loss_figure
from gptviz.viz.network import state_network_figure
from pages._live import live_view, register_model, training_buttons

P = "baby"  # widget-key prefix
MAX_HEATMAP_STATES = 32

DOC000_WIDGETS = {
    f"{P}_vocab": DOC000_MODEL.vocab_size, f"{P}_context": DOC000_MODEL.block_size,
    f"{P}_layers": DOC000_MODEL.n_layer, f"{P}_heads": DOC000_MODEL.n_head,
    f"{P}_embd": DOC000_MODEL.n_embd, f"{P}_bias": DOC000_MODEL.bias,
    f"{P}_lr": DOC000_TRAIN.learning_rate, f"{P}_wd": DOC000_TRAIN.weight_decay,
    f"{P}_batch": DOC000_TRAIN.batch_size, f"{P}_steps": DOC000_TRAIN.max_steps,
    f"{P}_seed": DOC000_TRAIN.seed, f"{P}_device": auto_device(), f"{P}_seq": DOC000_SEQUENCE,
    f"{P}_last_only": True,
}


def load_doc000() -> None:
    for k, v in DOC000_WIDGETS.items():
        st.session_state[k] = v
    st.session_state.pop(f"{P}_run", None)  # a fresh model, seeded as in the document


for k, v in DOC000_WIDGETS.items():
    if k not in st.session_state:
        st.session_state[k] = v

st.title("Baby GPT: a GPT is a Markov chain")
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
with st.sidebar:
    st.header("Model")
    vocab = st.number_input("Vocabulary size V (symbols 0-9, a-z)", 1, 36, key=f"{P}_vocab")
    context = st.number_input("Context length T", 1, 16, key=f"{P}_context")
    n_layer = st.number_input("Layers", 1, 8, key=f"{P}_layers")
    n_head = st.number_input("Heads per layer", 1, 16, key=f"{P}_heads")
    n_embd = st.number_input("Embedding size", 1, 256, key=f"{P}_embd",
                             help="Must be divisible by the number of heads.")
    bias = st.checkbox("Biases in Linear layers", key=f"{P}_bias")
    st.header("Training")
    lr = st.number_input("Learning rate", 1e-5, 100.0, key=f"{P}_lr", format="%.0e",
                         step=1e-4)
    wd = st.number_input("Weight decay", 0.0, 10.0, key=f"{P}_wd", step=0.01)
    batch = st.number_input("Batch size", 1, 512, key=f"{P}_batch",
                            help="Examples per step; a sequence with fewer windows uses all.")
    steps = st.number_input("Steps per click of Train", 1, 100_000, key=f"{P}_steps")
    seed = st.number_input("Seed", 0, 2**31 - 1, key=f"{P}_seed")
    device = st.selectbox("Device", ["cpu", "cuda"], key=f"{P}_device",
                          help="CUDA needs an NVIDIA GPU; the app says so if there is none.")
    last_only = st.checkbox("Score only the last position (as document 000)",
                            key=f"{P}_last_only",
                            help="Off: every position of each window is scored, so the model "
                                 "also learns the shorter prefixes.")

sequence = st.text_area("Training sequence", key=f"{P}_seq", height=80,
                        help="Symbols of the vocabulary; spaces and new lines are ignored.")

# --- build or keep the model ------------------------------------------------------------------
try:
    mcfg = GPTConfig(vocab_size=int(vocab), block_size=int(context), n_layer=int(n_layer),
                     n_head=int(n_head), n_embd=int(n_embd), bias=bool(bias)).validate()
    tcfg = TrainConfig(learning_rate=float(lr), weight_decay=float(wd), batch_size=int(batch),
                       max_steps=int(steps), seed=int(seed), device=device,
                       eval_interval=1, eval_batches=1).validate()
    resolve_device(device)
    task = SequenceTask(sequence, int(vocab), int(context), last_only=bool(last_only))
except ConfigError as e:
    st.error(f"**Cannot use these settings:** {e}")
    if f"{P}_run" in st.session_state:
        st.info("Your trained model is kept; fix the setting above to continue.")
    st.stop()

arch = (mcfg, int(seed), device)
run: LiveRun | None = st.session_state.get(f"{P}_run")
if run is None or st.session_state.get(f"{P}_arch") != arch:
    if run is not None:
        run.pause()
    run = LiveRun(Trainer(build_model(mcfg, int(seed)), task, tcfg))
    st.session_state[f"{P}_run"] = run
    st.session_state[f"{P}_arch"] = arch
    st.session_state.pop(f"{P}_before", None)
elif not run.running:
    # same architecture: keep the trained weights, take the new data and hyperparameters
    run.trainer.task = task
    if run.trainer.config != tcfg:
        run.trainer.config = tcfg
        run.trainer.set_learning_rate(tcfg.learning_rate)
register_model("Baby GPT", run)


def reset() -> None:
    r = st.session_state.pop(f"{P}_run", None)
    if r is not None:
        r.pause()


n_states = state_space_size(mcfg.vocab_size, mcfg.block_size)
show_prefixes = st.toggle(
    f"Include the shorter prefixes ({state_space_size(mcfg.vocab_size, mcfg.block_size, True)} "
    f"states instead of {n_states})", key=f"{P}_prefixes",
    help="A sequence starts with fewer than T tokens: these are the chain's other states.")
x_train, y_train = task.examples["train"]
transitions = empirical_transitions(x_train, y_train)
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

if f"{P}_before" not in st.session_state:
    # the untrained model's probabilities for every state it has, kept for "before vs now"
    every = all_states(mcfg.vocab_size, mcfg.block_size, include_prefixes=True)
    fresh = run.trainer.step_count == 0 and len(every) <= MAX_GRAPH_STATES
    st.session_state[f"{P}_before"] = dict(zip(every, run.read_model(
        lambda m: model_transition_probs(m, every).numpy()), strict=True)) if fresh else None

st.caption(f"{len(task.examples['train'][0])} training windows · {n_states:,} states · "
           f"{run.trainer.model.num_params():,} parameters · lowest possible loss on this data "
           f"{floor:.3f} nats")
training_buttons(run, int(steps), P, reset)

tok = task.tokenizer.token_str
attn_state = st.selectbox(
    "Input for the attention heatmaps", [tuple(r) for r in x_train.tolist()][:200],
    format_func=lambda s: "".join(tok(t) for t in s), key=f"{P}_attn_input")


def draw(snap: Snapshot) -> None:
    probs = run.read_model(lambda m: model_transition_probs(m, states).numpy())
    wide_graph = as_graph and len(states) > MAX_LABELLED_STATES  # a big circle needs the width
    left, right = st.columns([1, 1]) if not wide_graph else (st.container(), st.container())
    with left:
        st.plotly_chart(loss_figure(snap.steps, snap.losses, snap.evals, floor,
                                    title="Training loss"), key=f"{P}_loss")
    with right:
        if as_graph:
            st.subheader(f"Now (step {snap.step})")
            with st.container(key=f"{P}_graph"):
                draw_graph(probs, key=f"{P}_network")
        else:
            st.plotly_chart(transition_heatmap(states, probs, transitions, tok,
                                               title=f"P(next | state), step {snap.step}"),
                            key=f"{P}_heat")
    compare_table(probs)
    x = np.asarray(attn_state, dtype=np.int64)[None, :]
    att = run.read_model(lambda m: format_attention(
        m(torch.from_numpy(x).to(m.device), return_attention=True).attention))
    st.plotly_chart(attention_figure(att, [tok(t) for t in attn_state],
                                     title="Attention weights: where each position looks"),
                    key=f"{P}_attn")


def draw_graph(probs: np.ndarray, key: str) -> None:
    """Up to 16 states: graphviz with every edge labelled, as in document 000. More: the same
    arrows on a fixed circle in plotly, which redraws live in milliseconds where graphviz took
    about a second in the browser for 64 states (bench/browser.py); hover gives the numbers."""
    if len(states) <= MAX_LABELLED_STATES:
        st.graphviz_chart(state_graph(states, probs, mcfg.block_size, transitions, tok),
                          width="stretch")
    else:
        st.plotly_chart(state_network_figure(states, probs, mcfg.block_size, transitions, tok),
                        key=key)
        st.caption(f"{len(states)} states: too many to label every arrow. Thicker, darker arrows "
                   "are likelier; hover over an arrowhead for the token and both probabilities.")


def compare_table(probs: np.ndarray) -> None:
    with st.expander("Model vs data, state by state"):
        rows = []
        for s, p in zip(states, probs, strict=True):
            data = transitions.probs(s, mcfg.vocab_size)
            rows.append({
                "state": "".join(tok(t) for t in s),
                "seen in data": transitions.total(s),
                **{f"model P({tok(t)})": round(float(p[t]), 3) for t in range(mcfg.vocab_size)},
                **{f"data P({tok(t)})": (round(data[t], 3) if data else None)
                   for t in range(mcfg.vocab_size)},
            })
        st.dataframe(rows, hide_index=True)


before = st.session_state[f"{P}_before"]
if as_graph and before is not None:
    with st.expander("Before training (step 0): the untrained model's graph", expanded=False):
        draw_graph(np.stack([before[s] for s in states]), key=f"{P}_network_before")
live_view(run, draw)
st.markdown(
    "**How to read this.** Each circle is a state: the last T tokens. From each state one arrow "
    "leaves per possible next token, labelled `token(probability)`; following it appends the "
    "token and drops the oldest one. Blue states occur in the training sequence (with `data q%` "
    "saying how often each token followed them there); grey dashed states never occur, so the "
    "model's arrows from them are pure guesswork. The loss cannot go below the dashed green line: "
    "where the data itself is uncertain (the same state followed by different tokens), no model "
    "can do better than the data's own frequencies."
)
