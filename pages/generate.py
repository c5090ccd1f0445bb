"""Generate: a trained GPT writes one token at a time inside its context window (document 003)."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from gptviz.corpus import builtin_corpus
from gptviz.generate import GenerationError, GenerationStep, encode_prompt, generate_steps
from gptviz.i18n import N_, _
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
QUICK_LABEL = N_("Tiny text model (trained on this page)")  # its name in the model list
QUICK_STEPS = TEXT_PRESETS["Tiny"].steps  # ~13 CPU-seconds on one core
MAX_TOKENS = 2_000  # prompt plus generated text, per session
SLIM_ABOVE_VOCAB = 1_000  # keep only the top candidates per step for big vocabularies
GREEDY = N_("Greedy: always the most likely token")  # option values: shown with _(value)
SAMPLE = N_("Sample from the probabilities")


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
        st.page_link("pages/text_model.py", label=_("Open **Train on text** to train a model"),
                     icon=":material/school:")
    except StreamlitPageNotFoundError:  # the page opened on its own, without app.py's menu
        st.markdown(_("Open **Train on text** in the menu to train a model."))


st.title(_("Generate: one token at a time"))
st.markdown(_(
    "A GPT writes by repeating one step: read the text so far, give a probability to every "
    "possible next token, pick one, append it, and read again. It never reads more than its "
    "**context window** (the last *block size* tokens): once the text is longer, the oldest "
    "tokens slide out and no longer influence what comes next (document 003). Choose how the "
    "next token is picked and watch each step."
))

if QUICK_KEY in st.session_state:  # offered to this page and guarded on every rerun
    keep_run(QUICK_KEY, QUICK_ID, build_quick_run, QUICK_LABEL)
models = available_models()
if not models:
    st.info(_("There is no trained model in this session yet. Train one on the **Train on "
              "text** page, or train a tiny one here ({steps} steps, about 15 seconds).").format(
        steps=QUICK_STEPS))
    link_to_training()
    st.button(_("Quick-train a tiny text model here"), icon=":material/bolt:", key=f"{P}_quick",
              on_click=quick_train, type="primary")
    st.stop()

# --- model and settings -----------------------------------------------------------------------
if st.session_state.get(f"{P}_model") not in models:
    st.session_state.pop(f"{P}_model", None)  # e.g. a name kept from an earlier visit
# the names are the pages' own (marked with N_ where they are made): shown translated
label = st.selectbox(_("Model"), list(models), key=f"{P}_model", persist_state="session",
                     format_func=lambda name: _(name),
                     help=_("Models trained on the other pages of this session."))
run = models[label]
held_ablation_note(run)
tok = run.trainer.task.tokenizer
cfg = run.trainer.model.config
V, block = cfg.vocab_size, cfg.block_size


def quick_status(snap: Snapshot) -> None:
    if snap.evals and snap.evals[-1].val_loss is not None:
        st.caption(_("Validation loss {loss:.2f} at step {step}.").format(
            loss=snap.evals[-1].val_loss, step=snap.evals[-1].step))


if run is st.session_state.get(QUICK_KEY):
    live_view(run, quick_status)
if run.running:
    st.caption(_("Vocabulary {vocab} tokens · context window {block} tokens · trained {steps:,} "
                 "steps · **still training**: each step uses the weights as they are at that "
                 "moment").format(vocab=V, block=block, steps=run.trainer.step_count))
else:
    st.caption(_("Vocabulary {vocab} tokens · context window {block} tokens · trained {steps:,} "
                 "steps").format(vocab=V, block=block, steps=run.trainer.step_count))


def default_prompt(run: LiveRun) -> str:
    tok = run.trainer.task.tokenizer
    try:
        tok.encode("The ")
        return "The "
    except ValueError:  # e.g. a bit sequence: start from a piece of the training data
        import torch

        x, _y = run.trainer.task.get_batch("train", 1, torch.Generator().manual_seed(0))
        return tok.decode(x[0, : min(4, x.size(1))].tolist())


if st.session_state.get(f"{P}_prompt_for") != label:
    st.session_state[f"{P}_prompt"] = default_prompt(run)
    st.session_state[f"{P}_prompt_for"] = label
page_defaults({f"{P}_mode": SAMPLE, f"{P}_temp": 0.8, f"{P}_topk": 0, f"{P}_topp": 1.0,
               f"{P}_seed": 0, f"{P}_n": 100})
if st.session_state[f"{P}_topk"] > V:
    st.session_state[f"{P}_topk"] = V

prompt = st.text_area(_("Prompt"), key=f"{P}_prompt", height=80, persist_state="session")
c1, c2, c3 = st.columns(3)
mode = c1.radio(_("How to pick the next token"), [SAMPLE, GREEDY], key=f"{P}_mode",
                persist_state="session", format_func=lambda v: _(v))
greedy = mode == GREEDY
temperature = c2.slider(_("Temperature"), 0.05, 2.0, step=0.05, key=f"{P}_temp",
                        disabled=greedy, persist_state="session",
                        help=_("Logits are divided by it: below 1 sharpens the distribution "
                               "(toward greedy), above 1 flattens it (more surprising text)."))
top_p = c2.slider(_("top-p (1 = off)"), 0.05, 1.0, step=0.05, key=f"{P}_topp", disabled=greedy,
                  persist_state="session",
                  help=_("Keep the smallest set of most likely tokens whose probabilities add "
                         "up to at least p."))
top_k = c3.number_input(_("top-k (0 = off, at most {vocab})").format(vocab=V), 0, V,
                        key=f"{P}_topk", persist_state="session", disabled=greedy,
                        help=_("Keep only the k most likely tokens."))
seed = c3.number_input(_("Seed"), 0, 2**31 - 1, key=f"{P}_seed", persist_state="session",
                       help=_("Same seed, same settings, same text."))
n_tokens = st.number_input(_("Tokens to generate"), 1, 500, key=f"{P}_n",
                           persist_state="session")

try:
    prompt_ids = encode_prompt(tok, prompt)
except ValueError as e:  # empty, or characters the model has never seen
    st.error(_("**Cannot use this prompt:** {reason}").format(reason=escape_markdown(e)))
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
        return _("greedy")
    parts = [_("temperature {t:g}").format(t=temperature)]
    if top_k:
        parts.append(_("top-k {k}").format(k=int(top_k)))
    if top_p < 1.0:
        parts.append(_("top-p {p:g}").format(p=top_p))
    parts.append(_("seed {seed}").format(seed=int(seed)))
    return _(", ").join(parts)  # the separator of a list of settings


def generate(n: int) -> None:
    if len(ids) + n > MAX_TOKENS:
        st.warning(_("The text is limited to {n:,} tokens here; press Start over.").format(
            n=MAX_TOKENS))
        return
    try:
        new = run.read_model(lambda m: list(generate_steps(
            m, ids, n, temperature=float(temperature), top_k=int(top_k) or None,
            top_p=float(top_p) if top_p < 1.0 else None, greedy=greedy, seed=int(seed))))
    except GenerationError as e:
        st.error(_("**Cannot generate:** {reason}").format(reason=escape_markdown(e)))
        return
    text = settings_text()
    for s in new:
        history.append((s.slim() if V > SLIM_ABOVE_VOCAB else s, text))
        ids.append(s.token)
    st.session_state[f"{P}_inspect"] = len(history)  # show the newest step


b1, b2, b3 = st.columns(3)
if b1.button(_("Next token"), icon=":material/skip_next:", key=f"{P}_next", type="primary",
             width="stretch"):
    generate(1)
if b2.button(_("Generate {n} tokens").format(n=int(n_tokens)), icon=":material/fast_forward:",
             key=f"{P}_all", width="stretch"):
    with st.spinner(_("Generating…")):
        generate(int(n_tokens))
if b3.button(_("Start over from the prompt"), icon=":material/restart_alt:", key=f"{P}_clear",
             width="stretch"):
    del ids[len(prompt_ids):]
    history.clear()

# --- the text and the window ------------------------------------------------------------------
tokens = [tok.token_str(i) for i in ids]
start = max(0, len(ids) - block)
st.subheader(_("The text so far"))
st.html(context_html(tokens, window_start=start, prompt_len=len(prompt_ids)))
st.caption(_("Yellow: the context window, the last {n} of at most {block} tokens: all the model "
             "reads to pick the next token. Grey: slid out of the window. Bold: generated (the "
             "rest is your prompt).").format(n=min(len(ids), block), block=block))
if start > 0:
    st.info(_("The text ({n} tokens) is longer than the context window ({block}): the first "
              "{start} tokens no longer affect what the model writes next.").format(
        n=len(ids), block=block, start=start))

if history:
    st.subheader(_("Each step"))
    if st.session_state.get(f"{P}_inspect", 1) > len(history):
        st.session_state[f"{P}_inspect"] = len(history)
    i = (st.slider(_("Step to look at"), 1, len(history), key=f"{P}_inspect",
                    persist_state="session")
         if len(history) > 1 else 1)
    step, used = history[i - 1]
    left, right = st.columns([1, 1])
    with left:
        st.plotly_chart(candidates_figure(step, tok, name=_("Step {i}").format(i=i)),
                        key=f"{P}_cands")
    with right:
        drawn = escape_markdown(visible_token(tok.token_str(step.token)))
        if step.slid:
            read = _("**Step {i}** ({settings}). The model read the highlighted {n} tokens (the "
                     "window had slid) and drew '{token}', outlined in red.")
        else:
            read = _("**Step {i}** ({settings}). The model read the highlighted {n} tokens and "
                     "drew '{token}', outlined in red.")
        st.markdown(read.format(i=i, settings=used, n=len(step.context), token=drawn))
        st.html(context_html(tokens[: step.position + 1], window_start=step.context_start,
                             prompt_len=len(prompt_ids), newest=step.position,
                             window_end=step.position))

st.markdown(_(
    "**How to read this.** Bars: the probability of each candidate in the distribution the "
    "token was drawn from, after temperature, top-k and top-p; the red bar is the token drawn. "
    "Black diamonds: the model's own probabilities, before those settings, so you can see what "
    "each setting changes. Greedy always takes the top bar, so it gives the same text every "
    "time (and often loops); sampling follows the bars, so the seed decides. A low temperature "
    "makes the top bar taller; top-k and top-p remove the unlikely tail."
))
