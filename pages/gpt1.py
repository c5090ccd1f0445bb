"""GPT-1: pre-train a GPT on text, then fine-tune it on a labelled task (document 004)."""

from __future__ import annotations

import copy
import math

import streamlit as st

from gptviz.config import ConfigError, TrainConfig, replace
from gptviz.corpus import builtin_corpus
from gptviz.gpt1.comparison import PRESETS, PRETRAIN, ComparisonJob, pretrain_task
from gptviz.gpt1.finetune import (
    EXTRACT,
    MULTIPLE_CHOICE,
    SIMILARITY,
    FineTuneConfig,
    check_fits,
    example_sequences,
    finetune_tokenizer,
    predict,
)
from gptviz.gpt1.labelled import LABELLED_TASKS, LabelledExample, LabelledTask
from gptviz.gpt1.report import init_name, progress, run_rows, verdict
from gptviz.i18n import N_, _, ngettext
from gptviz.live import LiveRun, Snapshot
from gptviz.markup import escape_markdown
from gptviz.tasks.text import TextTask
from gptviz.tokenizers import CharTokenizer
from gptviz.train import Trainer, build_model
from gptviz.viz.finetune import comparison_figure, example_figure
from gptviz.viz.loss import LR_PANEL_PX, loss_figure
from gptviz.viz.screen import fit
from pages._entry import enter_through_app  # noqa: E402
from pages._instrument import compact_page, presenter_toggle, view_mode
from pages._live import (
    keep_run,
    live_fragment,
    live_seconds,
    live_view,
    lr_panel,
    memo,
    page_defaults,
    schedule_inputs,
    schedule_kwargs,
    schedule_specs,
    schedule_values,
    session_guard,
    training_buttons,
)

enter_through_app()

P = "gpt1"  # widget-key prefix
PRE_KEY = f"{P}_pre_run"  # the pre-training LiveRun (training_buttons' Reset clears it)
PRE_LABEL = "GPT-1 (pre-trained on the Python docs)"
LABEL_COUNTS = [16, 32, 64, 128, 256, 512, 1024]
SWEEP_COUNTS = [32, 128, 512]
INIT_CHOICES = {
    "both": N_("Both, side by side (the comparison)"),
    "pretrained": N_("The pre-trained GPT only"),
    "scratch": N_("Random weights only (from scratch)"),
}
LOSS_HEIGHT = 350  # px: stage 1's Train and its loss curve share one 1280x720 screen
COMPARE_HEIGHT = 320  # ... and stage 2's Fine-tune, its status and its comparison chart,
# with room to spare for a status line that wraps
STAGES = [N_("Stage 1 · Pre-train on text"), N_("Stage 2 · Fine-tune on a labelled task")]
FT_REFRESH_SECONDS = 1.0  # accuracy changes only at evaluations: one redraw a second is plenty
OWN_EXAMPLES = {  # a starting point for "Try your own", per task (label -1: none)
    "backwards": LabelledExample("The return value is a new list of the items.", None, -1),
    "which": LabelledExample("nruteR a wen weiv fo eht", "Return a new view of the", -1),
    "continues": LabelledExample("Return a new view of the dic", "tionary keys and values", -1),
    "both": LabelledExample("Return a new view of the", "syek s'yranoitcid", -1),
    "ending": LabelledExample("Return a new view of the", None, -1, (
        "iicdtnoray ysek", "yorcindait ekys", "dictionary keys", "tdinocyari skey")),
}


# Shared, read-only data (the same for every user): the corpus, its tokenizer, the tasks.
@st.cache_resource
def corpus() -> tuple[str, CharTokenizer]:
    text = builtin_corpus()
    return text, finetune_tokenizer(text)


@st.cache_resource
def labelled_task(name: str) -> LabelledTask:
    return LABELLED_TASKS[name](corpus()[0])


@st.cache_resource
def text_task(block_size: int) -> TextTask:
    text, tok = corpus()
    return pretrain_task(text, tok, block_size)


text, tok = corpus()
page_defaults({f"{P}_preset": "tiny", f"{P}_pre_steps": PRETRAIN.max_steps,
               f"{P}_task": "backwards", f"{P}_lam": 0.5, f"{P}_n": 128, f"{P}_init": "both",
               f"{P}_ft_steps": 150, f"{P}_sweep": False, f"{P}_lr": 1e-3, f"{P}_seed": 0,
               f"{P}_example": 0, **schedule_values(P, PRETRAIN)})
mode = view_mode(P, {})  # presenter mode: ?present=1 or the toggle
compact_page(mode)
st.title(_("GPT-1: pre-train, then fine-tune"))
if f"{P}_job" not in st.session_state:
    st.session_state[f"{P}_job"] = ComparisonJob()
job: ComparisonJob = st.session_state[f"{P}_job"]
session_guard(job)  # closing the tab stops the fine-tuning too
quick, right = st.columns([3, 1], vertical_alignment="center")
with right:
    presenter_toggle(P)
if not mode.present:
    quick.caption(_("**Quick start:** press **Train 600 steps** in stage 1 (about a minute on "
                    "a laptop), then **Fine-tune** in stage 2 with the defaults (under a "
                    "minute), and compare the blue and orange curves. The settings of both "
                    "stages are in the sidebar."))

# --- the settings of both stages, in the sidebar ---------------------------------------------
with st.sidebar:
    st.header(_("Stage 1 · Pre-train"))
    preset_key = st.selectbox(_("Model size"), list(PRESETS), key=f"{P}_preset",
                              format_func=lambda k: _(PRESETS[k].label), persist_state="session")
    pre_steps = st.number_input(_("Pre-training steps per click"), 1, 20_000,
                                key=f"{P}_pre_steps", persist_state="session",
                                help=_("600 steps take about a minute on a laptop's CPU with "
                                       "the tiny model, several minutes with the small one."))
    schedule_inputs(P, schedule_specs(P))  # stage 1's learning-rate schedule (constant: none)
    st.header(_("Stage 2 · Fine-tune"))
    task_name = st.selectbox(_("Labelled task"), list(LABELLED_TASKS), key=f"{P}_task",
                             format_func=lambda k: _(LABELLED_TASKS[k].title),
                             persist_state="session")
    lam = st.number_input(_("λ (weight of the language-model loss L1)"), 0.0, 10.0,
                          key=f"{P}_lam", step=0.1, format="%.2f", persist_state="session")
    n_labelled = st.select_slider(_("Labelled training examples"), LABEL_COUNTS, key=f"{P}_n",
                                  persist_state="session")
    ft_steps = st.number_input(_("Fine-tuning steps"), 1, 5_000, key=f"{P}_ft_steps",
                               persist_state="session",
                               help=_("Batches of 32 examples; 150 steps of the tiny model take "
                                      "about 15 seconds per run. The similarity task reads two "
                                      "sequences per example and multiple choice four, so "
                                      "their runs take longer."))
    init_choice = st.radio(_("Start fine-tuning from"), list(INIT_CHOICES), key=f"{P}_init",
                           format_func=lambda k: _(INIT_CHOICES[k]), persist_state="session")
    sweep = st.checkbox(_("Also at {counts} examples").format(
                            counts=", ".join(map(str, SWEEP_COUNTS))),
                        key=f"{P}_sweep", persist_state="session",
                        help=_("Fills the right-hand chart: accuracy over the number of "
                               "labelled examples. Takes a few times longer."))
    with st.expander(_("More settings")):
        lr = st.number_input(_("Learning rate (fine-tuning)"), 1e-5, 1.0, key=f"{P}_lr",
                             format="%.0e", step=1e-4, persist_state="session")
        seed = st.number_input(_("Seed (new head, random weights, which examples, batches)"), 0,
                               2**31 - 1, key=f"{P}_seed", persist_state="session")
preset = PRESETS[preset_key]
model_config = preset.model_config(tok.vocab_size)
task = labelled_task(task_name)
inits = ("pretrained", "scratch") if init_choice == "both" else (init_choice,)
counts = sorted(set(SWEEP_COUNTS + [int(n_labelled)])) if sweep else [int(n_labelled)]

stage1, stage2 = st.tabs([_(s) for s in STAGES], key=f"{P}_stage")


# --- stage 1 ----------------------------------------------------------------------------------
def build_pretraining(train: TrainConfig) -> LiveRun:
    return LiveRun(Trainer(build_model(model_config, train.seed), text_task(preset.block_size),
                           train))


try:
    pre_train = replace(PRETRAIN, max_steps=int(pre_steps),
                        **schedule_kwargs(P, st.session_state)).validate()
    # kept while the model size stays; a new size (or Reset) is a fresh model
    run = keep_run(PRE_KEY, (preset_key, pre_train.decay_matrices_only),
                   lambda: build_pretraining(pre_train), PRE_LABEL)
    run.update(config=pre_train)  # steps and schedule: taken at the next step
except ConfigError as e:
    st.error(_("**Cannot use these settings:** {problem}").format(problem=escape_markdown(e)))
    if PRE_KEY in st.session_state:
        st.info(_("Your pre-trained model is kept; fix the setting to continue."))
    st.stop()
uniform = math.log(tok.vocab_size)


def draw_pretraining(snap: Snapshot) -> None:
    lrs = lr_panel(run.trainer.config, snap.lrs)  # a schedule: its rate under the loss
    st.plotly_chart(memo(f"{P}_loss", (id(run), snap.step, len(snap.evals), mode.font_scale,
                                       lrs is None),
                         lambda: fit(loss_figure(snap.steps, snap.losses, snap.evals,
                                                 title=_("Stage 1: next-character loss"),
                                                 height=LOSS_HEIGHT - (0 if lrs is None else
                                                                       LR_PANEL_PX), lrs=lrs),
                                     font_scale=mode.font_scale)), key=f"{P}_loss")
    last = snap.evals[-1] if snap.evals else None
    if last is not None and last.val_loss is not None:
        st.caption(_("Held-out loss {loss:.2f} nats per character at step {step} (a model "
                     "that knows nothing scores ln {vocab} = {uniform:.2f}; lower means it has "
                     "learned more about how the text goes on).").format(
                         loss=last.val_loss, step=last.step, vocab=tok.vocab_size,
                         uniform=uniform))


with stage1:
    training_buttons(run, int(pre_steps), f"{P}_pre")
    live_view(run, draw_pretraining)
    if not mode.present:
        with st.expander(_("What stage 1 does"), icon=":material/info:"):
            st.markdown(_(
                "GPT-1 (Radford et al., 2018, *Improving Language Understanding by Generative "
                "Pre-Training*, document 004) trains in two stages. **Stage 1** trains a GPT to "
                "predict the next token of a large amount of plain text: no labels needed. "
                "**Stage 2** adds one small layer on top and trains the whole model on a "
                "*small labelled* task. The paper's claim: starting stage 2 from the "
                "pre-trained GPT gives much better accuracy than training the same model from "
                "random weights on the same few labelled examples. Here you run both stages on "
                "this computer and check whether the claim holds at this small scale."))
            st.markdown(_(
                "The text is Python's own documentation (about 465,000 characters, built into "
                "Python). The model reads 64 characters at a time and learns to predict each "
                "next character, exactly as on the *text* pages. Its vocabulary already holds "
                "the three special tokens `<start>`, `<delim>` and `<extract>` that stage 2 "
                "needs; they never occur in the text, so pre-training leaves them untrained and "
                "fine-tuning learns them. The last tenth of the text is held out: pre-training "
                "never trains on it, and stage 2 measures accuracy only on examples from it."))


# --- stage 2: fine-tuning and the comparison ---------------------------------------------------
def start_finetuning() -> None:
    """Button callback: checks, then a background comparison on a copy of the pre-trained GPT."""
    st.session_state.pop(f"{P}_ft_error", None)
    # None when a Reset clicked just before (in the same rerun) threw the pre-trained GPT away
    r: LiveRun | None = st.session_state.get(PRE_KEY)
    try:
        cfg = FineTuneConfig(lam=float(lam), n_labelled=int(n_labelled), steps=int(ft_steps),
                             learning_rate=float(lr), seed=int(seed),
                             eval_interval=max(1, int(ft_steps) // 10)).validate()
        pre_step, pretrained = 0, None
        if "pretrained" in inits:
            if r is not None:
                r.pause()  # a fixed copy to start from (and the two would share the CPU)
                # the published weights, never waiting for a step; pre_step is their step
                pre_step, pretrained = r.read_view(lambda m: copy.deepcopy(m).cpu())
            if pre_step == 0:
                raise ConfigError(_("The GPT has not been pre-trained yet: press Train in "
                                    "stage 1 first (or fine-tune from scratch only)."))
    except ConfigError as e:
        st.session_state[f"{P}_ft_error"] = str(e)
        return
    evals = r.snapshot().evals if r is not None else []
    held_out = next((e.val_loss for e in reversed(evals)
                     if e.val_loss is not None and e.step <= pre_step), None)
    previous = st.session_state.get(f"{P}_ft_meta") or {}
    st.session_state[f"{P}_ft_meta"] = dict(
        id=previous.get("id", 0) + 1, task=task_name, lam=float(lam), steps=int(ft_steps),
        pre_step=pre_step, pre_loss=held_out, n=int(n_labelled), inits=inits)
    job.start(task=task, tokenizer=tok, model_config=model_config, config=cfg,
              pretrained=pretrained, label_counts=counts, inits=inits)


def draw_comparison() -> None:
    status, runs, total, message = job.snapshot()
    meta = st.session_state.get(f"{P}_ft_meta")
    if status == "idle" or meta is None:
        st.info(_("Press **Fine-tune** to train. The chart compares validation accuracy (on "
                  "held-out examples) when fine-tuning starts from the pre-trained GPT and "
                  "from random weights."))
        return
    st.progress(*progress(status, runs, total, meta["steps"]))
    if message:
        st.error(escape_markdown(message))
    # rebuild the figure only when a new evaluation came in: building it holds the GIL that the
    # training thread needs, and the fragment reruns every second
    signature = (meta["id"], meta["n"], mode.font_scale,
                 tuple((r.init, r.n_labelled, len(r.steps), r.finished) for r in runs))
    chance = 1 / labelled_task(meta["task"]).n_classes
    st.plotly_chart(memo(f"{P}_fig", signature, lambda: fit(comparison_figure(
        runs, meta["n"], chance, title=_("Validation accuracy: pre-trained vs from scratch")),
        height=COMPARE_HEIGHT, font_scale=mode.font_scale, legend_under=True)),
        key=f"{P}_compare")
    starts = [(_("the GPT pre-trained for {steps:,} steps (held-out loss {loss:.2f})").format(
                   steps=meta["pre_step"], loss=meta["pre_loss"]) if meta["pre_loss"] else
               _("the GPT pre-trained for {steps:,} steps").format(steps=meta["pre_step"]))
              if i == "pretrained" else _("random weights") for i in meta["inits"]]
    n_classes = labelled_task(meta["task"]).n_classes
    st.caption(_("Task: {task} · guessing scores 1 in {n_classes} ({chance:.0%}) · λ = {lam:g} "
                 "· {steps} steps · starting from {starts}.").format(
                     task=_(LABELLED_TASKS[meta["task"]].title), n_classes=n_classes,
                     chance=chance, lam=meta["lam"], steps=meta["steps"],
                     starts=_(" and ").join(starts)))
    for line in verdict(runs):
        st.markdown(line)
    if runs:
        st.dataframe(run_rows(runs), hide_index=True)


was_running = job.running


@live_fragment(live_seconds(was_running, FT_REFRESH_SECONDS))  # longer for a large class
def comparison_view() -> None:
    draw_comparison()
    if was_running and not job.running:
        st.rerun()  # finished: redraw the whole page once (buttons) and stop ticking


def chance_text(t: LabelledTask) -> str:
    return (_("the classes are balanced: guessing scores {chance:.0%}").format(
                chance=1 / t.n_classes)
            if t.transformation != MULTIPLE_CHOICE else
            _("the right choice is equally often in each place: guessing scores 1 in "
              "{n}, {chance:.0%}").format(n=t.n_classes, chance=1 / t.n_classes))


HOW_IT_READS = {
    SIMILARITY: N_("A similarity has no first and second text, so GPT-1 feeds **both "
                   "orders** through the same GPT and **adds** their two final states at "
                   "`<extract>` before W_y: swapping A and B cannot change the answer."),
    MULTIPLE_CHOICE: N_("Multiple choice makes **one sequence per choice**, `<start>` context "
                        "`<delim>` choice `<extract>`. W_y turns each choice's final state at "
                        "`<extract>` into **one score**, and a softmax across the scores gives "
                        "each choice's probability; the loss is the cross-entropy at the right "
                        "choice."),
}


HOW_IT_READS_OTHER = N_("W_y turns it into one score per class.")


def example_title(t: LabelledTask, ex: LabelledExample, seqs: list[list[int]]) -> str:
    short, long = min(map(len, seqs)), max(map(len, seqs))
    size = (_("{n} tokens").format(n=short) if short == long else
            _("{short}–{long} tokens").format(short=short, long=long))
    if len(seqs) > 1:
        size = _("{n} sequences of {size}").format(n=len(seqs), size=size)
    if ex.label < 0:
        return size
    if t.transformation == MULTIPLE_CHOICE:
        return _("right choice: {label} · {size}").format(label=t.class_names[ex.label],
                                                          size=size)
    return _("label: {label} · {size}").format(label=t.class_names[ex.label], size=size)


def example_text(t: LabelledTask, ex: LabelledExample) -> str:
    """One line for the example picker."""
    if ex.choices is not None:
        return f"[{t.class_names[ex.label]}] {ex.a} → " + " / ".join(ex.choices)
    return f"[{t.class_names[ex.label]}] {ex.a}" + (f" | {ex.b}" if ex.b is not None else "")


def example_section() -> None:
    """The task, and how one of its examples becomes token sequences."""
    st.markdown(_("{description} The labels are made by this program from the text itself, so "
                  "they are always right, and {chance}.").format(
                      description=_(task.description), chance=chance_text(task)))
    if not mode.present:
        st.markdown(_(
            "GPT-1 does not change the model for each task; it changes the *input*. Every "
            "example is written as a sequence: `<start>`, the text, and `<extract>` at the "
            "end; a task with two texts puts `<delim>` between them. The model reads the "
            "sequence left to right, and the new layer W_y reads only the model's final state "
            "at `<extract>`, which has seen everything before it. {how}").format(
                how=_(HOW_IT_READS.get(task.transformation, HOW_IT_READS_OTHER))))
    examples = task.examples("train", 8, seed=int(st.session_state[f"{P}_seed"]))
    pick = st.selectbox(
        _("Example (from the labelled training set)"), range(len(examples)), key=f"{P}_example",
        persist_state="session",
        format_func=lambda i: f"{i + 1}. {example_text(task, examples[i])}")
    ex = examples[int(pick)]
    seqs = example_sequences(tok, ex, task.transformation)
    st.plotly_chart(fit(example_figure(tok, ex, task.transformation,
                                       title=example_title(task, ex, seqs)),
                        font_scale=mode.font_scale), key=f"{P}_tokens")


def typed_example() -> LabelledExample | None:
    """The example typed in the boxes (defaults: OWN_EXAMPLES), or None with a message."""
    default = OWN_EXAMPLES[task_name]
    key = f"{P}_own_{{}}_{task_name}"
    if task.transformation == MULTIPLE_CHOICE:
        a = st.text_input(_("Context"), value=default.a, key=key.format("a"),
                          persist_state="session")
        cols = st.columns(task.n_classes)
        choices = tuple(col.text_input(_("Choice {k}").format(k=k + 1), value=default.choices[k],
                                       key=key.format(f"c{k}"), persist_state="session")
                        for k, col in enumerate(cols))
        typed = LabelledExample(a, None, -1, choices)
    else:
        c1, c2 = st.columns(2)
        a = c1.text_input(_("Text A") if task.two_inputs else _("Text"), value=default.a,
                          key=key.format("a"), persist_state="session")
        b = (c2.text_input(_("Text B"), value=default.b, key=key.format("b"),
                           persist_state="session") if task.two_inputs else None)
        typed = LabelledExample(a, b, -1)
    if not typed.a or not all(typed.choices or [typed.b if task.two_inputs else "x"]):
        st.warning(_("Type some text in every box to see it as tokens."))
        return None
    try:  # characters outside the vocabulary, or longer than the model's context
        check_fits(example_sequences(tok, typed, task.transformation), model_config.block_size,
                   task.transformation)
    except ValueError as e:
        st.error(escape_markdown(e))
        return None
    return typed


def own_example() -> None:
    st.subheader(_("Try your own example"))
    models = dict(job.models)
    own = typed_example()
    if own is None:
        return
    meta = st.session_state.get(f"{P}_ft_meta") or {}
    usable = models if meta.get("task") == task_name else {}
    if not usable:
        st.caption(_("Fine-tune on this task to see what the models say about it (they read "
                     "the state at {extract}).").format(extract=EXTRACT))
    for (init, n), m in sorted(usable.items()):
        probs = predict(m, tok, own.a, own.b, own.choices)
        best = int(probs.argmax())
        st.markdown(_("Fine-tuned from **{init}** on {n} examples: **{label}** "
                      "({p:.0%})").format(init=init_name(init), n=n, label=task.class_names[best],
                                          p=float(probs[best]))
                    + (" · " + ", ".join(f"{task.class_names[k]} {float(p):.0%}"
                                         for k, p in enumerate(probs))
                       if task.transformation == MULTIPLE_CHOICE else ""))
    st.plotly_chart(fit(example_figure(tok, own, task.transformation),
                        font_scale=mode.font_scale), key=f"{P}_own_tokens")


with stage2:
    c1, c2 = st.columns([2, 3], vertical_alignment="center")
    if job.running:
        c1.button(_("Stop fine-tuning"), icon=":material/stop:", key=f"{P}_stop",
                  on_click=job.stop, width="stretch", type="primary")
    else:
        n_runs = len(inits) * len(counts)
        c1.button(ngettext("Fine-tune ({n} run of {steps} steps)",
                           "Fine-tune ({n} runs of {steps} steps)", n_runs).format(
                               n=n_runs, steps=int(ft_steps)),
                  icon=":material/play_arrow:", key=f"{P}_go",
                  on_click=start_finetuning, width="stretch", type="primary")
    c2.caption((_("{task} · λ = {lam:g} · {n} labelled examples (and {counts}) · from {start}: "
                  "set in the sidebar") if sweep else
                _("{task} · λ = {lam:g} · {n} labelled examples · from {start}: set in the "
                  "sidebar")).format(
                   task=_(LABELLED_TASKS[task_name].title), lam=float(lam), n=int(n_labelled),
                   counts=", ".join(map(str, SWEEP_COUNTS)),
                   start=_(INIT_CHOICES[init_choice]).lower()))
    if f"{P}_ft_error" in st.session_state:
        st.error(escape_markdown(st.session_state[f"{P}_ft_error"]))
    comparison_view()
    with st.expander(_("The task: how an example becomes token sequences"),
                     icon=":material/data_array:"):
        example_section()
    if not mode.present:
        with st.expander(_("What fine-tuning minimises, and how to read the chart"),
                         icon=":material/info:"):
            st.markdown(_(
                "Fine-tuning minimises **L3 = L2 + λ·L1**: L2 is the classification loss (is "
                "the predicted class right?), L1 the same next-character loss as in stage 1, on "
                "the labelled sequences. GPT-1 keeps L1 as a helper with λ = 0.5; λ = 0 trains "
                "on the labels alone. Both starting points get exactly the same examples, "
                "batches, new layer and settings: only the starting weights differ. Fine-tuning "
                "works on copies, so the pre-trained model stays as it is (its training pauses "
                "while fine-tuning runs)."))
            st.markdown(_(
                "**How to read the chart.** Left: validation accuracy while fine-tuning, "
                "measured on held-out examples that no model has trained on; blue starts from "
                "the pre-trained GPT, orange from random weights. Right: the accuracy each "
                "reached at the end, for each number of labelled examples (tick *Also at …* to "
                "fill it). The dashed line is guessing. If blue stays above orange, the "
                "knowledge of text from stage 1 is doing the work the labels cannot do alone; "
                "the gap usually shrinks as labelled examples grow. Training accuracy far above "
                "validation accuracy in the table means the model memorised its few "
                "examples."))
    own_example()
