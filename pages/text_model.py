"""Train on text: a character-level GPT learns to continue a corpus (documents 001 and 003)."""

from __future__ import annotations

import hashlib
import math
import random

import numpy as np
import streamlit as st

from gptviz.checkpoint import (
    MAX_BUNDLE_BYTES,
    Bundle,
    CheckpointError,
    bundle_trainer,
    check_fits,
)
from gptviz.config import ConfigError, GPTConfig, TrainConfig
from gptviz.corpus import MAX_UPLOAD_BYTES, CorpusError, builtin_corpus, decode_upload
from gptviz.generate import encode_prompt, generate_text
from gptviz.i18n import N_, _, language
from gptviz.live import LiveRun, Snapshot
from gptviz.live.evalframes import EvalFrames, frame_step
from gptviz.markup import escape_markdown
from gptviz.tasks import TextTask
from gptviz.text_model import DEFAULT_PRESET, TEXT_PRESETS, build_text_run, loss_references
from gptviz.train import Trainer, auto_device, resolve_device
from gptviz.urlparams import ChoiceParam, FloatParam, IntParam, TextParam
from gptviz.viz.screen import fit
from gptviz.viz.text_loss import text_loss_figure
from gptviz.viz.windows import training_windows, visible_token, window_pairs, windows_figure
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
    install_run,
    keep_run,
    live_fragment,
    live_seconds,
    lr_panel,
    memo,
    model_download,
    model_upload,
    page_defaults,
    retuned,
    schedule_inputs,
    schedule_kwargs,
    schedule_specs,
    schedule_values,
    share_box,
    status_line,
    training_buttons,
)
from pages._room import post_to_room
from pages._runs import compare_runs

enter_through_app()

P = "text"  # widget-key prefix
KEEP = "session"  # persist_state of every widget: its value survives a switch to another page
# names and option values (kept in session state and model files): marked with N_, shown with _()
MODEL_LABEL = N_("Text model (characters)")
BUILTIN = N_("Built-in: Python's documentation")
UPLOAD = N_("Upload a .txt file")
SAMPLE_CHARS_MAX = 600
MAX_SAMPLES_KEPT = 30
# model files this page loads: the largest model any setting here builds (the presets' models
# are well under 5 MB). What the page can save, it can load.
MAX_MODEL_MB = math.ceil(MAX_BUNDLE_BYTES / 1e6)
FIG_HEIGHT = 350  # px: the loss curve and the sample share one 1280x720 screen with the controls
PRESENT_FIG_HEIGHT = 330  # ... in presenter mode's larger type
SAMPLE_HEIGHT = 250  # px: the newest sample beside it (a longer one scrolls inside its box)
HIDEABLE = {"timeline": N_("the Replay timeline"), "share": N_("save, load and share")}  # ?hide=

# The settings a shared link carries, with the bounds of the widgets below (which read them
# from here). The corpus is not among them: an uploaded file cannot travel in a link (the link
# uses the built-in text).
SPECS = {
    f"{P}_preset": ChoiceParam(tuple(TEXT_PRESETS)), f"{P}_block": IntParam(2, 256),
    f"{P}_layers": IntParam(1, 8), f"{P}_heads": IntParam(1, 16), f"{P}_embd": IntParam(4, 512),
    f"{P}_lr": FloatParam(1e-5, 1.0), f"{P}_batch": IntParam(1, 256),
    f"{P}_steps": IntParam(1, 100_000), f"{P}_eval": IntParam(5, 10_000),
    f"{P}_seed": IntParam(0, 2**31 - 1), f"{P}_device": ChoiceParam(("cpu", "cuda")),
    f"{P}_prompt": TextParam(200), f"{P}_sample_len": IntParam(10, SAMPLE_CHARS_MAX),
    f"{P}_sample_temp": FloatParam(0.1, 2.0), **schedule_specs(P),
}
# the widgets that set each field of the model (a loaded model must fit their bounds)
ARCH_KEYS = {"block_size": f"{P}_block", "n_layer": f"{P}_layers", "n_head": f"{P}_heads",
             "n_embd": f"{P}_embd"}
# ... and of the training
TRAIN_KEYS = {"learning_rate": f"{P}_lr", "batch_size": f"{P}_batch", "max_steps": f"{P}_steps",
              "eval_interval": f"{P}_eval", "seed": f"{P}_seed"}


def bounds(key: str) -> tuple:
    return SPECS[key].lo, SPECS[key].hi


# what a loaded model may have: the widgets' own bounds, checked before it is built
LIMITS = {field: bounds(key) for field, key in {**ARCH_KEYS, **TRAIN_KEYS}.items()}


def number(label: str, key: str, **kwargs) -> float:
    """A number input for the setting `key`, within its bounds, kept across page switches."""
    return st.number_input(label, *bounds(key), key=key, persist_state=KEEP, **kwargs)


def model_config(block_size: int, n_layer: int, n_head: int, n_embd: int) -> GPTConfig:
    """The architecture the widgets describe (build_text_run puts in the corpus's vocabulary)."""
    return GPTConfig(vocab_size=1, block_size=int(block_size), n_layer=int(n_layer),
                     n_head=int(n_head), n_embd=int(n_embd))


def preset_widgets(label: str) -> dict[str, object]:
    p = TEXT_PRESETS[label]
    return {f"{P}_block": p.block_size, f"{P}_layers": p.n_layer, f"{P}_heads": p.n_head,
            f"{P}_embd": p.n_embd, f"{P}_batch": p.batch_size, f"{P}_lr": p.learning_rate,
            f"{P}_steps": p.steps, f"{P}_eval": p.eval_interval,
            **schedule_values(P, p.train_config())}


def apply_preset() -> None:
    st.session_state.update(preset_widgets(st.session_state[f"{P}_preset"]))


page_defaults({f"{P}_preset": DEFAULT_PRESET, f"{P}_source": BUILTIN, f"{P}_seed": 1337,
               f"{P}_device": auto_device(), f"{P}_prompt": "The ", f"{P}_sample_len": 200,
               f"{P}_sample_temp": 0.8, f"{P}_offset": 0, f"{P}_nwin": 3, f"{P}_shown": 12,
               **preset_widgets(DEFAULT_PRESET)})

mode = view_mode(P, HIDEABLE)  # presenter mode (?present=1 or the toggle), a locked demo
compact_page(mode)
if mode.present:  # the samples in larger type too
    st.html("<style>[data-testid='stCode'] code { font-size: 1.1rem; }</style>")
st.title(_("Train on text"))
apply_url_settings(SPECS, P)  # a shared link's settings, checked and clamped

# --- controls ---------------------------------------------------------------------------------
with st.sidebar:
    st.header(_("Text"))
    source = st.radio(_("Corpus"), [BUILTIN, UPLOAD], key=f"{P}_source", persist_state=KEEP,
                      format_func=lambda v: _(v))
    upload = None
    if source == UPLOAD:
        upload = st.file_uploader(_("Plain text, UTF-8, up to 2 MB"), type=["txt"],
                                  max_upload_size=math.ceil(MAX_UPLOAD_BYTES / 2**20),
                                  key=f"{P}_upload")
    st.header(_("Model"))
    st.selectbox(_("Preset"), list(TEXT_PRESETS), key=f"{P}_preset", on_change=apply_preset,
                 persist_state=KEEP, format_func=lambda v: _(v),
                 help="\n\n".join(_("**{preset}**: {description}").format(
                     preset=_(p.label), description=_(p.description))
                     for p in TEXT_PRESETS.values()))
    block = number(_("Context length (characters)"), f"{P}_block")
    n_layer = number(_("Layers"), f"{P}_layers")
    n_head = number(_("Heads per layer"), f"{P}_heads")
    n_embd = number(_("Embedding size"), f"{P}_embd",
                    help=_("Must be divisible by the number of heads."))
    st.header(_("Training"))
    lr = number(_("Learning rate"), f"{P}_lr", format="%.0e", step=1e-4)
    batch = number(_("Batch size (windows per step)"), f"{P}_batch")
    steps = number(_("Steps per click of Train"), f"{P}_steps")
    eval_every = number(_("Evaluate every N steps"), f"{P}_eval",
                        help=_("Every N steps: measure train and validation loss on fresh "
                               "batches, and write a sample."))
    seed = number(_("Seed"), f"{P}_seed")
    device = st.selectbox(_("Device"), ["cpu", "cuda"], key=f"{P}_device", persist_state=KEEP)
    schedule_inputs(P, SPECS)
    st.header(_("Samples"))
    prompt = st.text_input(_("Sample prompt"), key=f"{P}_prompt", persist_state=KEEP)
    sample_len = number(_("Characters per sample"), f"{P}_sample_len")
    sample_temp = st.slider(_("Sample temperature"), *bounds(f"{P}_sample_temp"), step=0.1,
                            key=f"{P}_sample_temp", persist_state=KEEP,
                            help=_("Below 1: safer, more repetitive text. Above 1: wilder."))

# --- the corpus -------------------------------------------------------------------------------
def corpus_label(name: str) -> str:
    """A corpus's name as shown: the built-in one's in the reader's language, a file's as is."""
    return _(BUILTIN) if name == BUILTIN else name


def use_corpus(name: str, text: str) -> None:
    st.session_state[f"{P}_corpus"] = (name, text, hashlib.sha1(text.encode()).hexdigest())


if f"{P}_corpus" not in st.session_state or (
        source == BUILTIN and st.session_state[f"{P}_corpus"][0] != BUILTIN):
    use_corpus(BUILTIN, builtin_corpus())
if upload is not None:
    try:
        text = decode_upload(upload.getvalue())
        if hashlib.sha1(text.encode()).hexdigest() != st.session_state[f"{P}_corpus"][2]:
            use_corpus(upload.name, text)
    except CorpusError as e:
        st.error(_("**Cannot use the file {name}:** {reason}").format(
            name=escape_markdown(repr(upload.name)), reason=escape_markdown(e)))
        st.info(_("Still using: {corpus}. Your model is kept.").format(
            corpus=escape_markdown(corpus_label(st.session_state[f"{P}_corpus"][0]))))
elif source == UPLOAD and st.session_state[f"{P}_corpus"][0] == BUILTIN:
    st.info(_("Choose a .txt file in the sidebar. Until then the built-in corpus is used."))
corpus_name, corpus, digest = st.session_state[f"{P}_corpus"]


# --- samples: written in the training thread after each evaluation, kept in the timeline -------
def usable_prompt(tok) -> str:
    """The sample prompt, or the corpus's first character when the prompt cannot be encoded."""
    try:
        encode_prompt(tok, prompt)
        return prompt
    except ValueError:
        return corpus[0]


def sample_writer(tok):
    """frame(model, evaluation): a sample with the sidebar's settings, as UTF-8 bytes."""
    text_prompt, n, temperature, s = usable_prompt(tok), int(sample_len), float(sample_temp), \
        int(seed)

    def write(model, _event) -> dict[str, np.ndarray]:
        text = generate_text(model, tok, text_prompt, n, temperature=temperature, seed=s)
        return {"sample": np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()}

    return write


def frame_sample(frame: dict[str, np.ndarray]) -> tuple[int, str]:
    return frame_step(frame), bytes(frame["sample"]).decode("utf-8")


def recorded_run(trainer: Trainer) -> LiveRun:
    """A LiveRun whose timeline holds a sample after each evaluation (and one at its start)."""
    frames = EvalFrames(trainer, sample_writer(trainer.task.tokenizer))
    st.session_state[f"{P}_frames"] = frames
    st.session_state[f"{P}_samples"] = []
    return LiveRun(trainer, recorder=frames)


# --- build or keep the model ------------------------------------------------------------------
def fresh_run(mcfg: GPTConfig, tcfg: TrainConfig) -> LiveRun:
    return recorded_run(build_text_run(corpus, mcfg, tcfg).trainer)  # ConfigError: old kept


try:
    mcfg = model_config(block, n_layer, n_head, n_embd)
    tcfg = TrainConfig(learning_rate=float(lr), batch_size=int(batch), max_steps=int(steps),
                       seed=int(seed), device=device, grad_clip=1.0,
                       eval_interval=int(eval_every), eval_batches=4,
                       **schedule_kwargs(P, st.session_state)).validate()
    resolve_device(device)
    # a new model only for a new text, architecture, seed or device; the same model otherwise
    run = keep_run(f"{P}_run", (digest, mcfg, int(seed), device, tcfg.decay_matrices_only),
                   lambda: fresh_run(mcfg, tcfg), MODEL_LABEL)
    run.update(config=tcfg)  # learning rate, batch size, evaluation: taken at the next step
except ConfigError as e:
    st.error(_("**Cannot use these settings:** {reason}").format(reason=escape_markdown(e)))
    if f"{P}_run" in st.session_state:
        st.info(_("Your trained model is kept; fix the setting to continue."))
    st.stop()

task = run.trainer.task
tok = task.tokenizer
refs = loss_references(corpus, tok.vocab_size)
frames: EvalFrames | None = st.session_state.get(f"{P}_frames")
if frames is not None and frames.trainer is not run.trainer:
    frames = None  # a run made elsewhere: its samples are written here, as they are read
if frames is not None:
    frames.compute = sample_writer(tok)  # the sidebar's sample settings, from the next one on

if mode.present:
    st.caption(_("Corpus: **{corpus}**, {chars:,} characters, {distinct} distinct · {params:,} "
                 "parameters").format(corpus=escape_markdown(corpus_label(corpus_name)),
                                      chars=len(corpus), distinct=tok.vocab_size,
                                      params=run.trainer.model.num_params()))
else:
    st.caption(_("Corpus: **{corpus}**, {chars:,} characters, {distinct} distinct (the "
                 "vocabulary) · {train:,} for training, {val:,} held out for validation · "
                 "model: {params:,} parameters").format(
        corpus=escape_markdown(corpus_label(corpus_name)), chars=len(corpus),
        distinct=tok.vocab_size, train=len(task.data["train"]),
        val=len(task.data.get("val", [])), params=run.trainer.model.num_params()))

# --- the top of the screen: the controls, then the live figures -------------------------------
def write_sample() -> None:
    """A sample from the model as it is now, kept with the step of the weights it used."""
    samples = st.session_state.setdefault(f"{P}_samples", [])
    samples.append(run.read_view(lambda model: generate_text(
        model, tok, usable_prompt(tok), int(sample_len), temperature=float(sample_temp),
        seed=int(seed))))
    del samples[:-MAX_SAMPLES_KEPT]


c_train, c_present = st.columns([3, 1], vertical_alignment="center")
with c_train:
    training_buttons(run, int(steps), P)
with c_present:
    presenter_toggle(P)
post_to_room("text_model", run, SPECS, task_label=corpus_name)  # when in a class room
if prompt != usable_prompt(tok):
    st.warning(_("The sample prompt has characters outside this corpus's vocabulary (or is "
                 "empty); samples start from {start} instead.").format(
        start=escape_markdown(repr(visible_token(corpus[0])))))


def take_new_samples(snap: Snapshot) -> list[tuple[int, str]]:
    """The samples so far, with the newest one the training thread wrote."""
    samples = st.session_state.setdefault(f"{P}_samples", [])
    if frames is not None:
        count, latest = frames.latest()
        seen = (id(frames), count)
        if latest is not None and st.session_state.get(f"{P}_frames_seen") != seen:
            st.session_state[f"{P}_frames_seen"] = seen
            new = frame_sample(latest)
            if not samples or samples[-1][0] < new[0]:
                samples.append(new)
                del samples[:-MAX_SAMPLES_KEPT]
    else:  # no recorder: one from the view once the weights of each evaluation can be read
        last_eval = snap.evals[-1].step if snap.evals else 0
        if not samples or samples[-1][0] < last_eval <= snap.view_step:
            write_sample()
    if not samples:
        write_sample()
    return samples


def replayed_sample(snap: Snapshot, replay: int) -> tuple[int, str, str] | None:
    """(step, sample, a note) recorded at the replayed step, or None if none was."""
    hit = run.timeline.at(replay)
    if hit is None or "sample" not in hit[1]:
        return None
    step, text = frame_sample(hit[1])
    if replay > snap.step:
        note = _("Step {replay:,} is not trained yet: the newest sample, from step "
                 "{step:,}.").format(replay=replay, step=step)
    elif step != replay:
        note = _("Replaying step {replay:,}: the sample written at step {step:,}, its last "
                 "evaluation before.").format(replay=replay, step=step)
    else:
        note = _("Replaying step {replay:,}: the sample written then.").format(replay=replay)
    return step, text, note


def draw(snap: Snapshot, replay: int | None) -> None:
    samples = take_new_samples(snap)
    shown = replayed_sample(snap, replay) if replay is not None else None
    left, right = st.columns([1, 1])
    with left:
        # rebuilt only when the model moved (or an evaluation came in): a queued or paused view
        # redraws for almost nothing
        key = (id(run), snap.step, len(snap.evals), replay, mode.font_scale, language())
        st.plotly_chart(memo(f"{P}_loss", key, lambda: fit(
            text_loss_figure(snap.steps, snap.losses, snap.evals, refs,
                             lrs=lr_panel(run.trainer.config, snap.lrs)),
            height=PRESENT_FIG_HEIGHT if mode.present else FIG_HEIGHT,
            font_scale=mode.font_scale, marker_step=replay, legend_under=True)),
            key=f"{P}_loss")
        if snap.evals:
            e = snap.evals[-1]
            if e.val_loss is not None:
                st.caption(_("Last evaluation at step {step}: train {train:.3f}, validation "
                             "{val:.3f}.").format(step=e.step, train=e.train_loss,
                                                  val=e.val_loss))
            else:
                st.caption(_("Last evaluation at step {step}: train {train:.3f}.").format(
                    step=e.step, train=e.train_loss))
    with right:
        step, text = samples[-1] if shown is None else shown[:2]
        st.subheader(_("The model writes (step {step:,})").format(step=step))
        st.code(text, language=None, wrap_lines=True, height=SAMPLE_HEIGHT)
        if shown is not None:
            st.caption(shown[2])
            return
        st.button(_("Write a sample now"), icon=":material/edit_note:", key=f"{P}_sample_now",
                  on_click=write_sample)
        if len(samples) > 1:
            with st.expander(_("Earlier samples ({n})").format(n=len(samples) - 1)):
                for s, t in reversed(samples[:-1]):
                    st.markdown(_("**Step {step}**").format(step=s))
                    st.code(t, language=None, wrap_lines=True)


def animating() -> bool:
    return run.running or bool(st.session_state.get(f"{P}_playing"))


was_live = animating()
interval = live_seconds(was_live)  # longer while a large class trains on this server


@live_fragment(interval)
def live() -> None:
    advance_play(run, P)
    snap = run.snapshot()
    status_line(snap)
    replay = timeline_slider(run, P, snap.target) if mode.shows("timeline") else None
    draw(snap, replay)
    if animating() != was_live or retuned(interval):
        st.rerun()  # started or finished (buttons, ticking), or a new redraw interval


live()


# --- below the figures: tabs, then saving and sharing ---------------------------------------
def task_spec() -> dict:
    return {"kind": "text", "corpus": corpus_name[:100], "sha1": digest,
            "vocab_size": tok.vocab_size}


def apply_bundle(b: Bundle) -> str:
    """Install a loaded model (called by the uploader, before the widgets)."""
    check_fits(b, "text", LIMITS)
    if b.task.get("sha1") != digest:
        raise CheckpointError(_("This model was trained on another text (its characters "
                                "differ from this corpus's). Choose that text first, the "
                                "built-in corpus or the same .txt file, then load the model "
                                "again."))
    c = b.config
    if c.vocab_size != tok.vocab_size:
        raise CheckpointError(_("This model has a vocabulary of {model}; this corpus has "
                                "{corpus} characters.").format(model=c.vocab_size,
                                                               corpus=tok.vocab_size))
    trainer, notes = bundle_trainer(b, TextTask(corpus, tok, c.block_size, val_fraction=0.1),
                                    tcfg, LIMITS)
    t = trainer.config
    st.session_state.update({key: getattr(c, field) for field, key in ARCH_KEYS.items()})
    st.session_state.update({key: getattr(t, field) for field, key in TRAIN_KEYS.items()})
    st.session_state[f"{P}_device"] = t.device
    st.session_state.update(schedule_values(P, t))
    # under the identity the page computes from these widget values: kept, not rebuilt
    install_run(f"{P}_run", recorded_run(trainer), (digest, model_config(
        c.block_size, c.n_layer, c.n_head, c.n_embd), t.seed, t.device, t.decay_matrices_only))
    return (_("Loaded a model trained for {steps:,} steps: {layers} layers, {heads} heads, "
              "{dims} dimensions, context {context}. The settings in the sidebar now match it; "
              "Train continues from its weights (with a fresh optimizer).").format(
                  steps=b.step, layers=c.n_layer, heads=c.n_head, dims=c.n_embd,
                  context=c.block_size)
            + fitted_note(notes))


def examples_tab() -> None:
    """Document 003: a window sliding over the text makes the examples."""
    if not mode.present:
        st.markdown(_(
            "Take any **{n} characters** of the text as the input; the same window shifted one "
            "character to the right is the target. Position *t* of the input is trained to "
            "predict target *t*, the character that follows it, so one window holds {n} "
            "examples at once. Slide the window one character and you have the next window. "
            "Each training step takes a batch of windows from random places.").format(
                n=mcfg.block_size))
    train_ids = task.data["train"]
    n_windows = int(st.session_state[f"{P}_nwin"])
    max_offset = len(train_ids) - mcfg.block_size - n_windows - 1

    def random_place() -> None:
        st.session_state[f"{P}_offset"] = random.randint(0, max_offset)

    if st.session_state[f"{P}_offset"] > max_offset:
        st.session_state[f"{P}_offset"] = 0
    if st.session_state[f"{P}_shown"] > mcfg.block_size:
        st.session_state[f"{P}_shown"] = mcfg.block_size  # the context just got shorter
    c1, c2, c3, c4 = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
    offset = c1.number_input(_("Start at character"), 0, max_offset, key=f"{P}_offset",
                             persist_state=KEEP)
    c2.button(_("Random place"), icon=":material/shuffle:", on_click=random_place,
              key=f"{P}_random")
    c3.slider(_("Windows"), 1, 5, key=f"{P}_nwin", persist_state=KEEP)
    shown = c4.slider(_("Positions shown"), 2, mcfg.block_size, key=f"{P}_shown",
                      persist_state=KEEP,
                      help=_("Long windows are cut so the picture fits the screen."))
    windows = training_windows(train_ids, int(offset), n_windows, mcfg.block_size)
    st.plotly_chart(fit(windows_figure(windows, tok, max_positions=int(shown)),
                        font_scale=mode.font_scale), key=f"{P}_windows")
    with st.expander(_("Window 1, position by position: what the model has seen → what it "
                       "should say")):
        st.dataframe(window_pairs(windows[0], tok)[: int(shown)], hide_index=True)


def corpus_tab() -> None:
    st.code(corpus[:1500], language=None, wrap_lines=True)
    st.markdown(_("**Vocabulary** (␣ is a space, ↵ a new line), in token-id order:"))
    st.code(" ".join(visible_token(tok.token_str(i)) for i in range(tok.vocab_size)),
            language=None, wrap_lines=True)


def share_tab() -> None:
    left, right = st.columns(2)
    with left:
        model_download(run, task_spec(), file_name=f"text_model_step{run.trainer.step_count}.zip",
                       key=f"{P}_download")
    with right:
        model_upload(f"{P}_model_upload", apply_bundle, max_mb=MAX_MODEL_MB, kind="text",
                     limits=LIMITS)
    if corpus_name != BUILTIN:
        st.caption(_("The link below sets up the model and training; your uploaded text cannot "
                     "travel in a link, so whoever opens it starts from the built-in corpus."))
    share_box(SPECS, extra={"present": "1"} if mode.present else None)


HOW_TO_READ = N_(
    "A GPT learns language by one exercise repeated millions of times: read some text, predict "
    "the next token, measure the error, adjust the weights. Here every **character** is a token, "
    "as in minGPT's and nanoGPT's character demos. Train a small GPT on a corpus and watch its "
    "writing go from random characters to words and the corpus's style.\n\n"
    "**How to read this.** The thin blue line is the loss of each training batch; the thick "
    "lines are averages measured at every evaluation on training text and on held-out "
    "validation text the model never trains on (when validation rises while training falls, "
    "the model is memorising). The dotted lines are milestones: guessing every character "
    "equally likely scores log V; knowing only how often each letter occurs scores the "
    "'letter frequencies' line. Below that line the model is using the characters before. "
    "Samples are drawn with the temperature set in the sidebar, after every evaluation; "
    "**Replay** goes back to any step and shows the sample written then. Open **Generate** to "
    "watch generation one character at a time."
)

# the tabs' names (the keys below) are shown in the reader's language
labels = [N_("Where the training examples come from"), N_("The corpus and its vocabulary"),
          N_("Compare runs"), N_("Ablate")]
if not mode.present:
    labels.insert(0, N_("How to read this"))
tabs = dict(zip(labels, st.tabs([_(label) for label in labels]), strict=True))
if "How to read this" in tabs:
    with tabs["How to read this"]:
        st.markdown(_(HOW_TO_READ))
with tabs["Where the training examples come from"]:
    examples_tab()
with tabs["The corpus and its vocabulary"]:
    corpus_tab()
with tabs["Compare runs"]:
    compare_runs(P, f"{P}_run", run, task_label=corpus_name)
with tabs["Ablate"]:
    ablation_panel(P, run, task, font_scale=mode.font_scale)
if mode.shows("share"):
    with st.expander(_("Save, load and share"), icon=":material/share:"):
        share_tab()
