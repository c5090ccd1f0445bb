"""Train on text: a character-level GPT learns to continue a corpus (documents 001 and 003)."""

from __future__ import annotations

import hashlib
import random

import streamlit as st
import torch

from gptviz.checkpoint import Bundle, CheckpointError
from gptviz.config import ConfigError, GPTConfig, TrainConfig
from gptviz.corpus import CorpusError, builtin_corpus, decode_upload
from gptviz.generate import encode_prompt, generate_text
from gptviz.live import LiveRun, Snapshot
from gptviz.text_model import DEFAULT_PRESET, TEXT_PRESETS, build_text_run, loss_references
from gptviz.train import Trainer, auto_device, resolve_device
from gptviz.urlparams import ChoiceParam, FloatParam, IntParam, TextParam
from gptviz.viz.text_loss import text_loss_figure
from gptviz.viz.windows import training_windows, visible_token, window_pairs, windows_figure
from pages._entry import enter_through_app  # noqa: E402
from pages._live import (
    apply_url_settings,
    live_view,
    model_download,
    model_upload,
    register_model,
    session_guard,
    share_box,
    training_buttons,
)

enter_through_app()

P = "text"  # widget-key prefix
MODEL_LABEL = "Text model (characters)"
BUILTIN = "Built-in: Python's documentation"
UPLOAD = "Upload a .txt file"
SAMPLE_CHARS_MAX = 600
MAX_SAMPLES_KEPT = 30
MAX_MODEL_MB = 60  # model files this page loads: the presets' models are well under 5 MB

# The settings a shared link carries, with the same bounds as the widgets below. The corpus is
# not among them: an uploaded file cannot travel in a link (the link uses the built-in text).
SPECS = {
    f"{P}_preset": ChoiceParam(tuple(TEXT_PRESETS)), f"{P}_block": IntParam(2, 256),
    f"{P}_layers": IntParam(1, 8), f"{P}_heads": IntParam(1, 16), f"{P}_embd": IntParam(4, 512),
    f"{P}_lr": FloatParam(1e-5, 1.0), f"{P}_batch": IntParam(1, 256),
    f"{P}_steps": IntParam(1, 100_000), f"{P}_eval": IntParam(5, 10_000),
    f"{P}_seed": IntParam(0, 2**31 - 1), f"{P}_device": ChoiceParam(("cpu", "cuda")),
    f"{P}_prompt": TextParam(200), f"{P}_sample_len": IntParam(10, SAMPLE_CHARS_MAX),
    f"{P}_sample_temp": FloatParam(0.1, 2.0),
}


def preset_widgets(label: str) -> dict[str, object]:
    p = TEXT_PRESETS[label]
    return {f"{P}_block": p.block_size, f"{P}_layers": p.n_layer, f"{P}_heads": p.n_head,
            f"{P}_embd": p.n_embd, f"{P}_batch": p.batch_size, f"{P}_lr": p.learning_rate,
            f"{P}_steps": p.steps, f"{P}_eval": p.eval_interval}


def apply_preset() -> None:
    for k, v in preset_widgets(st.session_state[f"{P}_preset"]).items():
        st.session_state[k] = v


defaults = {f"{P}_preset": DEFAULT_PRESET, f"{P}_source": BUILTIN, f"{P}_seed": 1337,
            f"{P}_device": auto_device(), f"{P}_prompt": "The ", f"{P}_sample_len": 200,
            f"{P}_sample_temp": 0.8, f"{P}_offset": 0, f"{P}_nwin": 3,
            **preset_widgets(DEFAULT_PRESET)}
for k, v in defaults.items():
    if k not in st.session_state:
        st.session_state[k] = v

st.title("Train on text")
apply_url_settings(SPECS, P)  # a shared link's settings, checked and clamped
st.markdown(
    "A GPT learns language by one exercise repeated millions of times: read some text, predict "
    "the next token, measure the error, adjust the weights. Here every **character** is a token, "
    "as in minGPT's and nanoGPT's character demos. Train a small GPT on a corpus and watch its "
    "writing go from random characters to words and the corpus's style."
)

# --- controls ---------------------------------------------------------------------------------
with st.sidebar:
    st.header("Text")
    source = st.radio("Corpus", [BUILTIN, UPLOAD], key=f"{P}_source")
    upload = None
    if source == UPLOAD:
        upload = st.file_uploader("Plain text, UTF-8, up to 2 MB", type=["txt"],
                                  key=f"{P}_upload")
    st.header("Model")
    st.selectbox("Preset", list(TEXT_PRESETS), key=f"{P}_preset", on_change=apply_preset,
                 help="\n\n".join(f"**{p.label}**: {p.description}"
                                  for p in TEXT_PRESETS.values()))
    block = st.number_input("Context length (characters)", 2, 256, key=f"{P}_block")
    n_layer = st.number_input("Layers", 1, 8, key=f"{P}_layers")
    n_head = st.number_input("Heads per layer", 1, 16, key=f"{P}_heads")
    n_embd = st.number_input("Embedding size", 4, 512, key=f"{P}_embd",
                             help="Must be divisible by the number of heads.")
    st.header("Training")
    lr = st.number_input("Learning rate", 1e-5, 1.0, key=f"{P}_lr", format="%.0e", step=1e-4)
    batch = st.number_input("Batch size (windows per step)", 1, 256, key=f"{P}_batch")
    steps = st.number_input("Steps per click of Train", 1, 100_000, key=f"{P}_steps")
    eval_every = st.number_input("Evaluate every N steps", 5, 10_000, key=f"{P}_eval",
                                 help="Every N steps: measure train and validation loss on "
                                      "fresh batches, and write a sample.")
    seed = st.number_input("Seed", 0, 2**31 - 1, key=f"{P}_seed")
    device = st.selectbox("Device", ["cpu", "cuda"], key=f"{P}_device")
    st.header("Samples")
    prompt = st.text_input("Sample prompt", key=f"{P}_prompt")
    sample_len = st.number_input("Characters per sample", 10, SAMPLE_CHARS_MAX,
                                 key=f"{P}_sample_len")
    sample_temp = st.slider("Sample temperature", 0.1, 2.0, key=f"{P}_sample_temp", step=0.1,
                            help="Below 1: safer, more repetitive text. Above 1: wilder.")

# --- the corpus -------------------------------------------------------------------------------
if f"{P}_corpus" not in st.session_state:
    text = builtin_corpus()
    st.session_state[f"{P}_corpus"] = (BUILTIN, text, hashlib.sha1(text.encode()).hexdigest())
if source == BUILTIN and st.session_state[f"{P}_corpus"][0] != BUILTIN:
    text = builtin_corpus()
    st.session_state[f"{P}_corpus"] = (BUILTIN, text, hashlib.sha1(text.encode()).hexdigest())
if upload is not None:
    try:
        text = decode_upload(upload.getvalue())
        digest = hashlib.sha1(text.encode()).hexdigest()
        if digest != st.session_state[f"{P}_corpus"][2]:
            st.session_state[f"{P}_corpus"] = (upload.name, text, digest)
    except CorpusError as e:
        st.error(f"**Cannot use {upload.name!r}:** {e}")
        st.info(f"Still using: {st.session_state[f'{P}_corpus'][0]}. Your model is kept.")
elif source == UPLOAD:
    st.info("Choose a .txt file in the sidebar. Until then the built-in corpus is used.")
corpus_name, corpus, digest = st.session_state[f"{P}_corpus"]

# --- build or keep the model ------------------------------------------------------------------
try:
    mcfg = GPTConfig(vocab_size=1, block_size=int(block), n_layer=int(n_layer),
                     n_head=int(n_head), n_embd=int(n_embd))
    tcfg = TrainConfig(learning_rate=float(lr), batch_size=int(batch), max_steps=int(steps),
                       seed=int(seed), device=device, grad_clip=1.0,
                       eval_interval=int(eval_every), eval_batches=4).validate()
    resolve_device(device)
    arch = (digest, mcfg, int(seed), device)
    run: LiveRun | None = st.session_state.get(f"{P}_run")
    if run is None or st.session_state.get(f"{P}_arch") != arch:
        fresh = build_text_run(corpus, mcfg, tcfg)  # ConfigError before the old model goes
        if run is not None:
            run.pause()
        run = LiveRun(fresh.trainer)
        st.session_state[f"{P}_run"] = run
        st.session_state[f"{P}_arch"] = arch
        st.session_state[f"{P}_samples"] = []
    elif not run.running and run.trainer.config != tcfg:
        run.trainer.config = tcfg  # same model: keep the weights, take the new schedule
        run.trainer.set_learning_rate(tcfg.learning_rate)
except ConfigError as e:
    st.error(f"**Cannot use these settings:** {e}")
    if f"{P}_run" in st.session_state:
        st.info("Your trained model is kept; fix the setting to continue.")
    st.stop()

register_model(MODEL_LABEL, run)
session_guard(run)  # closing the tab stops this session's training
task = run.trainer.task
tok = task.tokenizer
refs = loss_references(corpus, tok.vocab_size)


def reset() -> None:
    r = st.session_state.pop(f"{P}_run", None)
    if r is not None:
        r.pause()


st.caption(f"Corpus: **{corpus_name}**, {len(corpus):,} characters, {tok.vocab_size} distinct "
           f"(the vocabulary) · {len(task.data['train']):,} for training, "
           f"{len(task.data.get('val', [])):,} held out for validation · model: "
           f"{run.trainer.model.num_params():,} parameters")
with st.expander("The corpus and its vocabulary"):
    st.code(corpus[:1500], language=None, wrap_lines=True)
    st.markdown("**Vocabulary** (␣ is a space, ↵ a new line), in token-id order:")
    st.code(" ".join(visible_token(tok.token_str(i)) for i in range(tok.vocab_size)),
            language=None, wrap_lines=True)

# --- document 003: a window sliding over the text makes the examples --------------------------
st.header("1 · Where the training examples come from")
st.markdown(
    f"Take any **{mcfg.block_size} characters** of the text as the input; the same window "
    "shifted one character to the right is the target. Position *t* of the input is trained to "
    "predict target *t*, the character that follows it, so one window holds "
    f"{mcfg.block_size} examples at once. Slide the window one character and you have the next "
    "window. Each training step takes a batch of windows from random places."
)
train_ids = task.data["train"]
n_windows = int(st.session_state[f"{P}_nwin"])
max_offset = len(train_ids) - mcfg.block_size - n_windows - 1


def random_place() -> None:
    st.session_state[f"{P}_offset"] = random.randint(0, max_offset)


if st.session_state[f"{P}_offset"] > max_offset:
    st.session_state[f"{P}_offset"] = 0
if st.session_state.get(f"{P}_shown", 0) > mcfg.block_size:
    st.session_state[f"{P}_shown"] = mcfg.block_size  # the context just got shorter
c1, c2, c3, c4 = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
offset = c1.number_input("Start at character", 0, max_offset, key=f"{P}_offset")
c2.button("Random place", icon=":material/shuffle:", on_click=random_place, key=f"{P}_random")
c3.slider("Windows", 1, 5, key=f"{P}_nwin")
shown = c4.slider("Positions shown", 2, mcfg.block_size, min(12, mcfg.block_size),
                  key=f"{P}_shown", help="Long windows are cut so the picture fits the screen.")
windows = training_windows(train_ids, int(offset), n_windows, mcfg.block_size)
st.plotly_chart(windows_figure(windows, tok, max_positions=int(shown)), key=f"{P}_windows")
with st.expander("Window 1, position by position: what the model has seen → what it should say"):
    st.dataframe(window_pairs(windows[0], tok)[: int(shown)], hide_index=True)

# --- training ---------------------------------------------------------------------------------
st.header("2 · Train, and read what the model writes")
training_buttons(run, int(steps), P, reset)


def task_spec() -> dict:
    return {"kind": "text", "corpus": corpus_name[:100], "sha1": digest,
            "vocab_size": tok.vocab_size}


def apply_bundle(b: Bundle) -> str:
    """Install a loaded model (called by the uploader, before the widgets)."""
    if b.task.get("kind") != "text":
        raise CheckpointError(f"This model was trained on another page's task "
                              f"('{str(b.task.get('kind'))[:30]}'); load it on that page.")
    if b.task.get("sha1") != digest:
        raise CheckpointError("This model was trained on another text (its characters differ "
                              "from this corpus's). Choose that text first, the built-in corpus "
                              "or the same .txt file, then load the model again.")
    c = b.config
    if c.vocab_size != tok.vocab_size:
        raise CheckpointError(f"This model has a vocabulary of {c.vocab_size}; this corpus has "
                              f"{tok.vocab_size} characters.")
    for key, what, value in ((f"{P}_block", "context length", c.block_size),
                             (f"{P}_layers", "layers", c.n_layer),
                             (f"{P}_heads", "heads", c.n_head),
                             (f"{P}_embd", "embedding size", c.n_embd)):
        lo, hi = SPECS[key].lo, SPECS[key].hi
        if not lo <= value <= hi:
            raise CheckpointError(f"This model has {what} {value}; this page takes {lo} to {hi}.")
    if c.dropout:
        raise CheckpointError("This model uses dropout, which this page does not offer.")
    t = b.train or tcfg
    dev = t.device if t.device == "cpu" or torch.cuda.is_available() else "cpu"
    new_cfg = TrainConfig(**{**t.to_dict(), "device": dev,
                             "eval_interval": max(5, min(t.eval_interval, 10_000)),
                             "max_steps": min(t.max_steps, 100_000)}).validate()
    trainer = Trainer(b.model, type(task)(corpus, tok, c.block_size, val_fraction=0.1), new_cfg)
    trainer.step_count = b.step
    old = st.session_state.get(f"{P}_run")
    if old is not None:
        old.pause()
    st.session_state.update({
        f"{P}_block": c.block_size, f"{P}_layers": c.n_layer, f"{P}_heads": c.n_head,
        f"{P}_embd": c.n_embd, f"{P}_lr": new_cfg.learning_rate,
        f"{P}_batch": new_cfg.batch_size, f"{P}_steps": new_cfg.max_steps,
        f"{P}_eval": new_cfg.eval_interval, f"{P}_seed": new_cfg.seed, f"{P}_device": dev,
        f"{P}_run": LiveRun(trainer), f"{P}_samples": [],
        # what the page computes from these widget values: the model is kept, not rebuilt
        f"{P}_arch": (digest, GPTConfig(vocab_size=1, block_size=c.block_size,
                                        n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd),
                      new_cfg.seed, dev),
    })
    return (f"Loaded a model trained for {b.step:,} steps: {c.n_layer} layers, {c.n_head} heads, "
            f"{c.n_embd} dimensions, context {c.block_size}. The settings in the sidebar now "
            "match it; Train continues from its weights (with a fresh optimizer).")


with st.expander("Save, load and share", icon=":material/share:"):
    left, right = st.columns(2)
    with left:
        model_download(run, task_spec(), file_name=f"text_model_step{run.trainer.step_count}.zip",
                       key=f"{P}_download")
    with right:
        model_upload(f"{P}_model_upload", apply_bundle, max_mb=MAX_MODEL_MB)
    if corpus_name != BUILTIN:
        st.caption("The link below sets up the model and training; your uploaded text cannot "
                   "travel in a link, so whoever opens it starts from the built-in corpus.")
    share_box(SPECS)


def sample_prompt() -> str:
    try:
        encode_prompt(tok, prompt)
        return prompt
    except ValueError:
        return corpus[0]


def write_sample() -> None:
    """A sample from the model as it is now, kept with its step number."""
    def gen(model) -> tuple[int, str]:
        text = generate_text(model, tok, sample_prompt(), int(sample_len),
                             temperature=float(sample_temp), seed=int(seed))
        return run.trainer.step_count, text

    samples = st.session_state.setdefault(f"{P}_samples", [])
    samples.append(run.read_model(gen))
    del samples[:-MAX_SAMPLES_KEPT]


if prompt != sample_prompt():
    st.warning(f"The sample prompt has characters outside this corpus's vocabulary (or is "
               f"empty); samples start from {visible_token(corpus[0])!r} instead.")
st.button("Write a sample now", icon=":material/edit_note:", key=f"{P}_sample_now",
          on_click=write_sample)


def draw(snap: Snapshot) -> None:
    samples = st.session_state.setdefault(f"{P}_samples", [])
    last_eval = snap.evals[-1].step if snap.evals else 0
    if not samples or samples[-1][0] < last_eval:
        write_sample()  # after every evaluation (and once before training)
    left, right = st.columns([1, 1])
    with left:
        st.plotly_chart(text_loss_figure(snap.steps, snap.losses, snap.evals, refs),
                        key=f"{P}_loss")
        if snap.evals:
            e = snap.evals[-1]
            val = f", validation {e.val_loss:.3f}" if e.val_loss is not None else ""
            st.caption(f"Last evaluation at step {e.step}: train {e.train_loss:.3f}{val}.")
    with right:
        step, text = st.session_state[f"{P}_samples"][-1]
        st.subheader(f"The model writes (step {step})")
        st.code(text, language=None, wrap_lines=True)
        earlier = st.session_state[f"{P}_samples"][:-1]
        if earlier:
            with st.expander(f"Earlier samples ({len(earlier)})"):
                for s, t in reversed(earlier):
                    st.markdown(f"**Step {s}**")
                    st.code(t, language=None, wrap_lines=True)


live_view(run, draw)
st.markdown(
    "**How to read this.** The thin blue line is the loss of each training batch; the thick "
    "lines are averages measured at every evaluation on training text and on held-out "
    "validation text the model never trains on (when validation rises while training falls, "
    "the model is memorising). The dotted lines are milestones: guessing every character "
    "equally likely scores log V; knowing only how often each letter occurs scores the "
    "'letter frequencies' line. Below that line the model is using the characters before. "
    "Samples are drawn with the temperature set in the sidebar; open **Generate** to watch "
    "generation one character at a time."
)
