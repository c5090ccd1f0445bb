"""Generate: a trained GPT writes one token at a time inside its context window (document 003)."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from gptviz.corpus import builtin_corpus
from gptviz.generate import GenerationError, GenerationStep, encode_prompt, generate_steps
from gptviz.live import LiveRun, Snapshot
from gptviz.markup import escape_markdown
from gptviz.text_model import TEXT_PRESETS, build_text_run
from gptviz.viz.sampling import candidates_figure, context_html
from gptviz.viz.windows import visible_token
from pages._ablate import held_ablation_note
from pages._entry import enter_through_app  # noqa: E402
from pages._instrument import no_live_view_here
from pages._live import available_models, keep_run, live_view, page_defaults

enter_through_app()
no_live_view_here()  # ?present=1 or ?hide=... links are for the live pages

P = "gen"  # widget-key prefix
QUICK_KEY, QUICK_ID = f"{P}_quick_run", "Tiny"  # the quick model: its session_state key, identity
QUICK_LABEL = "Tiny text model (trained on this page)"
QUICK_STEPS = TEXT_PRESETS["Tiny"].steps  # ~13 CPU-seconds on one core
MAX_TOKENS = 2_000  # prompt plus generated text, per session
SLIM_ABOVE_VOCAB = 1_000  # keep only the top candidates per step for big vocabularies
GREEDY = "Greedy: always the most likely token"
SAMPLE = "Sample from the probabilities"


def build_quick_run() -> LiveRun:
    """A Tiny character model on the built-in corpus."""
    preset = TEXT_PRESETS["Tiny"]
    return LiveRun(build_text_run(builtin_corpus(), preset.model_config(0),
                                  preset.train_config()).trainer)


def quick_train() -> None:
    """The Quick-train button: one quick model per session, trained in the background. Fast
    repeated clicks reach this callback several times; only the first one starts training."""
    run = keep_run(QUICK_KEY, QUICK_ID, build_quick_run, QUICK_LABEL)  # guarded: the tab's
    if run.trainer.step_count == 0 and not run.running:
        run.start(QUICK_STEPS)


def link_to_training() -> None:
    try:
        st.page_link("pages/text_model.py", label="Open **Train on text** to train a model",
                     icon=":material/school:")
    except StreamlitPageNotFoundError:  # the page opened on its own, without app.py's menu
        st.markdown("Open **Train on text** in the menu to train a model.")


st.title("Generate: one token at a time")
st.markdown(
    "A GPT writes by repeating one step: read the text so far, give a probability to every "
    "possible next token, pick one, append it, and read again. It never reads more than its "
    "**context window** (the last *block size* tokens): once the text is longer, the oldest "
    "tokens slide out and no longer influence what comes next (document 003). Choose how the "
    "next token is picked and watch each step."
)

if QUICK_KEY in st.session_state:  # offered to this page and guarded on every rerun
    keep_run(QUICK_KEY, QUICK_ID, build_quick_run, QUICK_LABEL)
models = available_models()
if not models:
    st.info("There is no trained model in this session yet. Train one on the **Train on text** "
            f"page, or train a tiny one here ({QUICK_STEPS} steps, about 15 seconds).")
    link_to_training()
    st.button("Quick-train a tiny text model here", icon=":material/bolt:", key=f"{P}_quick",
              on_click=quick_train, type="primary")
    st.stop()

# --- model and settings -----------------------------------------------------------------------
if st.session_state.get(f"{P}_model") not in models:
    st.session_state.pop(f"{P}_model", None)  # e.g. a name kept from an earlier visit
label = st.selectbox("Model", list(models), key=f"{P}_model", persist_state="session",
                     help="Models trained on the other pages of this session.")
run = models[label]
held_ablation_note(run)
tok = run.trainer.task.tokenizer
cfg = run.trainer.model.config
V, block = cfg.vocab_size, cfg.block_size


def quick_status(snap: Snapshot) -> None:
    if snap.evals and snap.evals[-1].val_loss is not None:
        st.caption(f"Validation loss {snap.evals[-1].val_loss:.2f} at step {snap.evals[-1].step}.")


if run is st.session_state.get(QUICK_KEY):
    live_view(run, quick_status)
st.caption(f"Vocabulary {V} tokens · context window {block} tokens · trained "
           f"{run.trainer.step_count:,} steps"
           + (" · **still training**: each step uses the weights as they are at that moment"
              if run.running else ""))


def default_prompt(run: LiveRun) -> str:
    tok = run.trainer.task.tokenizer
    try:
        tok.encode("The ")
        return "The "
    except ValueError:  # e.g. a bit sequence: start from a piece of the training data
        import torch

        x, _ = run.trainer.task.get_batch("train", 1, torch.Generator().manual_seed(0))
        return tok.decode(x[0, : min(4, x.size(1))].tolist())


if st.session_state.get(f"{P}_prompt_for") != label:
    st.session_state[f"{P}_prompt"] = default_prompt(run)
    st.session_state[f"{P}_prompt_for"] = label
page_defaults({f"{P}_mode": SAMPLE, f"{P}_temp": 0.8, f"{P}_topk": 0, f"{P}_topp": 1.0,
               f"{P}_seed": 0, f"{P}_n": 100})
if st.session_state[f"{P}_topk"] > V:
    st.session_state[f"{P}_topk"] = V

prompt = st.text_area("Prompt", key=f"{P}_prompt", height=80, persist_state="session")
c1, c2, c3 = st.columns(3)
mode = c1.radio("How to pick the next token", [SAMPLE, GREEDY], key=f"{P}_mode",
                persist_state="session")
greedy = mode == GREEDY
temperature = c2.slider("Temperature", 0.05, 2.0, step=0.05, key=f"{P}_temp", disabled=greedy,
                        persist_state="session",
                        help="Logits are divided by it: below 1 sharpens the distribution "
                             "(toward greedy), above 1 flattens it (more surprising text).")
top_p = c2.slider("top-p (1 = off)", 0.05, 1.0, step=0.05, key=f"{P}_topp", disabled=greedy,
                  persist_state="session",
                  help="Keep the smallest set of most likely tokens whose probabilities add up "
                       "to at least p.")
top_k = c3.number_input(f"top-k (0 = off, at most {V})", 0, V, key=f"{P}_topk",
                        persist_state="session", disabled=greedy,
                        help="Keep only the k most likely tokens.")
seed = c3.number_input("Seed", 0, 2**31 - 1, key=f"{P}_seed", persist_state="session",
                       help="Same seed, same settings, same text.")
n_tokens = st.number_input("Tokens to generate", 1, 500, key=f"{P}_n", persist_state="session")

try:
    prompt_ids = encode_prompt(tok, prompt)
except ValueError as e:  # empty, or characters the model has never seen
    st.error(f"**Cannot use this prompt:** {escape_markdown(e)}")
    st.stop()

# the sequence so far: reset when the model or the prompt changes
key = (label, id(run), prompt)
if st.session_state.get(f"{P}_key") != key:
    st.session_state[f"{P}_key"] = key
    st.session_state[f"{P}_ids"] = list(prompt_ids)
    st.session_state[f"{P}_steps"] = []  # (GenerationStep, settings text)
ids: list[int] = st.session_state[f"{P}_ids"]
history: list[tuple[GenerationStep, str]] = st.session_state[f"{P}_steps"]


def settings_text() -> str:
    if greedy:
        return "greedy"
    parts = [f"temperature {temperature:g}"]
    if top_k:
        parts.append(f"top-k {int(top_k)}")
    if top_p < 1.0:
        parts.append(f"top-p {top_p:g}")
    return ", ".join(parts) + f", seed {int(seed)}"


def generate(n: int) -> None:
    if len(ids) + n > MAX_TOKENS:
        st.warning(f"The text is limited to {MAX_TOKENS:,} tokens here; press Start over.")
        return
    try:
        new = run.read_model(lambda m: list(generate_steps(
            m, ids, n, temperature=float(temperature), top_k=int(top_k) or None,
            top_p=float(top_p) if top_p < 1.0 else None, greedy=greedy, seed=int(seed))))
    except GenerationError as e:
        st.error(f"**Cannot generate:** {escape_markdown(e)}")
        return
    text = settings_text()
    for s in new:
        history.append((s.slim() if V > SLIM_ABOVE_VOCAB else s, text))
        ids.append(s.token)
    st.session_state[f"{P}_inspect"] = len(history)  # show the newest step


b1, b2, b3 = st.columns(3)
if b1.button("Next token", icon=":material/skip_next:", key=f"{P}_next", type="primary",
             width="stretch"):
    generate(1)
if b2.button(f"Generate {int(n_tokens)} tokens", icon=":material/fast_forward:",
             key=f"{P}_all", width="stretch"):
    with st.spinner("Generating…"):
        generate(int(n_tokens))
if b3.button("Start over from the prompt", icon=":material/restart_alt:", key=f"{P}_clear",
             width="stretch"):
    del ids[len(prompt_ids):]
    history.clear()

# --- the text and the window ------------------------------------------------------------------
tokens = [tok.token_str(i) for i in ids]
start = max(0, len(ids) - block)
st.subheader("The text so far")
st.html(context_html(tokens, window_start=start, prompt_len=len(prompt_ids)))
st.caption(f"Yellow: the context window, the last {min(len(ids), block)} of at most {block} "
           "tokens: all the model reads to pick the next token. Grey: slid out of the window. "
           "Bold: generated (the rest is your prompt).")
if start > 0:
    st.info(f"The text ({len(ids)} tokens) is longer than the context window ({block}): the "
            f"first {start} tokens no longer affect what the model writes next.")

if history:
    st.subheader("Each step")
    if st.session_state.get(f"{P}_inspect", 1) > len(history):
        st.session_state[f"{P}_inspect"] = len(history)
    i = (st.slider("Step to look at", 1, len(history), key=f"{P}_inspect",
                    persist_state="session")
         if len(history) > 1 else 1)
    step, used = history[i - 1]
    left, right = st.columns([1, 1])
    with left:
        st.plotly_chart(candidates_figure(step, tok, name=f"Step {i}"), key=f"{P}_cands")
    with right:
        st.markdown(f"**Step {i}** ({used}). The model read the highlighted "
                    f"{len(step.context)} tokens" + (" (the window had slid)" if step.slid else "")
                    + " and drew '" + escape_markdown(visible_token(tok.token_str(step.token)))
                    + "', outlined in red.")
        st.html(context_html(tokens[: step.position + 1], window_start=step.context_start,
                             prompt_len=len(prompt_ids), newest=step.position,
                             window_end=step.position))

st.markdown(
    "**How to read this.** Bars: the probability of each candidate in the distribution the "
    "token was drawn from, after temperature, top-k and top-p; the red bar is the token drawn. "
    "Black diamonds: the model's own probabilities, before those settings, so you can see what "
    "each setting changes. Greedy always takes the top bar, so it gives the same text every "
    "time (and often loops); sampling follows the bars, so the seed decides. A low temperature "
    "makes the top bar taller; top-k and top-p remove the unlikely tail."
)
