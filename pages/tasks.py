"""Sorting & addition: minGPT's two demos, trained live, scored on problems it never saw."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import streamlit as st
import torch

from gptviz.config import ConfigError, TrainConfig
from gptviz.i18n import N_, _
from gptviz.live import LiveRun, Snapshot
from gptviz.live.evalframes import EvalFrames, frame_step
from gptviz.milestone import TargetWatch
from gptviz.tasks import TASKS, ProblemError, ProblemTask, Solution
from gptviz.tasks.presets import PRESETS, Preset, default_preset, model_config
from gptviz.tasks.problems import AttentionExample
from gptviz.train import Trainer, build_model, resolve_device
from gptviz.urlparams import ChoiceParam, FloatParam, IntParam, TextParam
from gptviz.viz.loss import loss_figure
from gptviz.viz.screen import fit
from gptviz.viz.tasks import accuracy_figure, answer_attention_figure
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
    keep_run,
    live_fragment,
    live_seconds,
    lr_panel,
    memo,
    page_defaults,
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

P = "tasks"  # widget-key prefix
TARGET = 0.99
N_EXAMPLES = 8
SLOW_REFRESH = 1.5  # seconds between redraws of the table and the heatmap while training
TASK_LABELS = {"addition": N_("Addition"), "sorting": N_("Sorting")}
FIG_HEIGHT = 350  # px: the loss and the accuracy share one 1280x720 screen with the controls
PRESENT_FIG_HEIGHT = 330  # ... in presenter mode's larger type
# ?hide=...
HIDEABLE = {"timeline": N_("the Replay timeline"), "share": N_("share this experiment")}

# The settings a shared link carries, with the widgets' bounds (gptviz/urlparams.py).
SPECS = {
    f"{P}_task": ChoiceParam(tuple(TASK_LABELS)), f"{P}_ndigit": IntParam(1, 4),
    f"{P}_length": IntParam(2, 12), f"{P}_values": IntParam(2, 10),
    f"{P}_layers": IntParam(1, 8), f"{P}_heads": IntParam(1, 16), f"{P}_embd": IntParam(1, 512),
    f"{P}_lr": FloatParam(1e-5, 1.0), f"{P}_wd": FloatParam(0.0, 10.0),
    f"{P}_batch": IntParam(1, 512), f"{P}_steps": IntParam(1, 100_000),
    f"{P}_eval": IntParam(1, 10_000),
    f"{P}_seed": IntParam(0, 2**31 - 1), f"{P}_device": ChoiceParam(("cpu", "cuda")),
    f"{P}_own": TextParam(60, "0-9+=,", N_("digits, spaces, commas and + or =")),
    **schedule_specs(P),
}
KEEP = {"persist_state": "session"}  # a widget's value survives a visit to another page


def number(label: str, name: str, **kw: Any) -> Any:
    """A number input bounded as a shared link is (SPECS); its value survives a page switch."""
    spec = SPECS[f"{P}_{name}"]
    return st.number_input(label, spec.lo, spec.hi, key=f"{P}_{name}", **KEEP, **kw)


def preset_widgets(preset: Preset) -> dict[str, Any]:
    """The sidebar's values for a preset."""
    m, t, o = preset.model, preset.train, preset.task_options
    values = {f"{P}_layers": m["n_layer"], f"{P}_heads": m["n_head"], f"{P}_embd": m["n_embd"],
              f"{P}_lr": t.learning_rate, f"{P}_wd": t.weight_decay, f"{P}_batch": t.batch_size,
              f"{P}_steps": t.max_steps, f"{P}_eval": t.eval_interval, f"{P}_seed": t.seed,
              **schedule_values(P, t)}
    if preset.task == "addition":
        values[f"{P}_ndigit"] = o["ndigit"]
    else:
        values[f"{P}_length"], values[f"{P}_values"] = o["length"], o["num_digits"]
    return values


def preset_values(task: str) -> dict[str, Any]:
    return preset_widgets(PRESETS[task][st.session_state[f"{P}_preset_{task}"]])


def load_preset() -> None:
    st.session_state.update(preset_values(st.session_state[f"{P}_task"]))


def switch_task() -> None:
    """Pause the task left behind; bring back the other task's settings, or its preset."""
    for name in TASK_LABELS:
        if (other := st.session_state.get(f"{P}_{name}_run")) is not None:
            other.pause()
    task = st.session_state[f"{P}_task"]
    st.session_state.update(st.session_state[f"{P}_saved"].get(task) or preset_values(task))


# a shared link may ask for sorting: start from its preset, then take the link's values
first = st.query_params.get(f"{P}_task")
first = first if first in TASK_LABELS else "addition"
page_defaults({f"{P}_task": first, **preset_widgets(default_preset(first)),
               **{f"{P}_preset_{t}": default_preset(t).name for t in TASK_LABELS},
               f"{P}_saved": {}, f"{P}_ex_seed": 0, f"{P}_device": "cpu", f"{P}_own": ""})

mode = view_mode(P, HIDEABLE)  # presenter mode (?present=1 or the toggle), a locked demo
compact_page(mode)
fig_height = PRESENT_FIG_HEIGHT if mode.present else FIG_HEIGHT
st.title(_("Sorting & addition: does the model learn the rule?"))
apply_url_settings(SPECS, P)  # a shared link's settings, checked and clamped

# --- controls -----------------------------------------------------------------------------------
with st.sidebar:
    # labels translated now, in this run (a format_func may be called outside it)
    task_words = {t: _(label) for t, label in TASK_LABELS.items()}
    task_name = st.radio(_("Task"), list(TASK_LABELS), format_func=task_words.__getitem__,
                         key=f"{P}_task", horizontal=True, on_change=switch_task, **KEEP)
    presets = PRESETS[task_name]
    preset_words = {name: _(name) for name in presets}  # "2-digit", "longer": shown translated
    st.selectbox(_("Preset"), list(presets), key=f"{P}_preset_{task_name}",
                 format_func=preset_words.__getitem__, on_change=load_preset,
                 help=_("Settings that reach 99% on the held-out problems on a laptop CPU."),
                 **KEEP)
    st.caption(_(presets[st.session_state[f"{P}_preset_{task_name}"]].description))
    st.header(_("Problems"))
    if task_name == "addition":
        task_opts = {"ndigit": int(number(_("Digits per number"), "ndigit"))}
    else:
        task_opts = {"length": int(number(_("Numbers per sequence"), "length")),
                     "num_digits": int(number(_("Different values (0 to k-1): k"), "values"))}
    st.header(_("Model"))
    n_layer = number(_("Layers"), "layers")
    n_head = number(_("Heads per layer"), "heads")
    n_embd = number(_("Embedding size"), "embd",
                    help=_("Must be divisible by the number of heads."))
    st.header(_("Training"))
    lr = number(_("Learning rate"), "lr", format="%.0e", step=1e-4)
    wd = number(_("Weight decay"), "wd", step=0.01,
                help=_("AdamW's pull of the weights towards 0."))
    batch = number(_("Batch size (problems per step)"), "batch")
    steps = number(_("Steps per click of Train"), "steps")
    eval_every = number(_("Score the held-out problems every N steps"), "eval")
    seed = number(_("Seed"), "seed")
    device = st.selectbox(_("Device"), ["cpu", "cuda"], key=f"{P}_device", **KEEP,
                          help=_("CUDA needs an NVIDIA GPU; the app says so if there is none."))
    schedule_inputs(P, SPECS)

st.session_state[f"{P}_saved"][task_name] = {
    k: st.session_state[k] for k in preset_widgets(default_preset(task_name))}


# --- build or keep the model (one per task), and give it the sidebar's hyperparameters ----------
RUN = f"{P}_{task_name}_run"  # also the prefix of its buttons: Reset drops this key


def answers_writer(task: ProblemTask, ex_seed: int, example: torch.Tensor | None):
    """frame(model, evaluation): the model's answers to the held-out problems the table shows
    (and the attention of the heatmap's example), as the table and the heatmap draw them."""

    def write(model, event) -> dict[str, np.ndarray]:
        sols = task.solutions(model, N_EXAMPLES, seed=ex_seed)
        shown = example if example is not None else torch.tensor(sols[0].prompt_ids)
        ex = task.attention(model, shown)
        answer = task.answer(model, shown.view(1, -1))[0].tolist()
        accuracy = event.metrics.get("accuracy", math.nan) if event is not None else math.nan
        return {"prompts": np.array([s.prompt_ids for s in sols], dtype=np.int64),
                "answers": np.array([s.answer_ids for s in sols], dtype=np.int64),
                "accuracy": np.array([accuracy]),
                "example": np.array(shown.view(-1).tolist() + answer, dtype=np.int64),
                "attention": ex.attention.numpy().astype(np.float32)}

    return write


def build() -> LiveRun:
    trainer = Trainer(build_model(mcfg, tcfg.seed), task, tcfg)
    watch = TargetWatch(TARGET)
    trainer.add_callback(watch)  # runs in the training thread; only records numbers
    st.session_state[f"{RUN}_watch"] = watch
    frames = EvalFrames(trainer, answers_writer(task, st.session_state[f"{P}_ex_seed"], None))
    st.session_state[f"{RUN}_frames"] = frames  # the table at each evaluation, to replay it
    return LiveRun(trainer, recorder=frames)


try:
    task: ProblemTask = TASKS[task_name](**task_opts)
    mcfg = model_config(task, dict(n_layer=int(n_layer), n_head=int(n_head),
                                   n_embd=int(n_embd))).validate()
    tcfg = TrainConfig(learning_rate=float(lr), weight_decay=float(wd), batch_size=int(batch),
                       max_steps=int(steps), seed=int(seed), device=device,
                       eval_interval=int(eval_every), eval_batches=1,
                       **schedule_kwargs(P, st.session_state)).validate()
    resolve_device(device)
    run = keep_run(RUN, (tuple(sorted(task_opts.items())), mcfg, tcfg.seed, device,
                         tcfg.decay_matrices_only), build,
                   TASK_LABELS[task_name])
    run.update(config=tcfg)  # learning rate, weight decay, batch, ...: also while it trains
except ConfigError as e:
    settings_error(e, RUN)  # says why, that the model (if any) is kept, and stops
task = run.trainer.task  # the one the model trains on (its held-out set)
watch: TargetWatch = st.session_state[f"{RUN}_watch"]
frames: EvalFrames | None = st.session_state.get(f"{RUN}_frames")
if frames is not None and frames.trainer is not run.trainer:
    frames = None  # a run made elsewhere has no recorded tables

middle = len(task.val_ids) // 2  # the first held-out problems are all small: 00 + 02, ...
sample_prompt, sample_answer = task.problems(task.val_ids[middle: middle + 1])
seq = sample_prompt[0].tolist() + sample_answer[0].tolist()
facts = _("{problems:,} possible problems · {held:,} held out, never trained on · "
          "{params:,} parameters").format(problems=task.num_problems, held=len(task.val_ids),
                                           params=run.trainer.model.num_params())
sequence_text = (f"{' '.join(map(str, seq[:task.prompt_len]))} | "
                 f"{' '.join(map(str, seq[task.prompt_len:]))}")
st.caption(facts if mode.present else  # presenter mode: one line, so the figures fit below
           _("{facts} · one training sequence: `{sequence}` ({problem}; the loss counts only "
             "the {n} answer digits after the bar)").format(
               facts=facts, sequence=sequence_text,
               problem=task.format_problem(seq[:task.prompt_len]), n=task.answer_len))
c_train, c_present = st.columns([3, 1], vertical_alignment="center")
with c_train:
    training_buttons(run, int(steps), f"{P}_{task_name}")
with c_present:
    presenter_toggle(P)
post_to_room("tasks", run, SPECS)  # when in a class room


# --- the table and the heatmap: the model now, or as recorded at a replayed step --------------
def marked_answer(sol: Solution) -> str:
    """The model's answer with its wrong digits in bold red (digits only: safe as markdown)."""
    digits = task.reading_order(list(sol.answer_ids))
    return task.separator.join(
        task.tokenizer.token_str(d) if ok else f":red[**{task.tokenizer.token_str(d)}**]"
        for d, ok in zip(digits, sol.digit_correct, strict=True))


def solutions_table(sols: list[Solution]) -> str:
    rows = [_("| problem | model's answer | right answer | | wrong digits |"),
            "| --- | --- | --- | --- | --- |"]
    for s in sols:
        icon = ":green[:material/check_circle:]" if s.correct else ":red[:material/cancel:]"
        rows.append(f"| {s.problem} | {marked_answer(s)} | {s.expected} | {icon} | "
                    f"{task.describe_errors(s) or '–'} |")
    return "\n".join(rows)


def own_problem() -> tuple[str, torch.Tensor | None, int | None]:
    """The row under the figures: your own problem, other examples, the head shown."""
    c1, c2, c3 = st.columns([2, 1, 1])
    example_hint = "37 + 85" if task_name == "addition" and task.ndigit == 2 else \
        task.format_problem(sample_prompt[0].tolist())
    own_text = c1.text_input(_("Try your own problem"), key=f"{P}_own",
                             placeholder=example_hint,
                             help=_("For example {example}. It is also the example the "
                                    "attention heatmap shows.").format(example=example_hint),
                             **KEEP)
    own_prompt = None
    if own_text.strip():
        try:
            own_prompt = task.parse(own_text)
        except ProblemError as e:
            c1.error(str(e))
    c2.button(_("Other examples"), icon=":material/shuffle:", key=f"{P}_shuffle", width="stretch",
              on_click=lambda: st.session_state.update({f"{P}_ex_seed":
                                                        st.session_state[f"{P}_ex_seed"] + 1}))
    n_head_now = run.trainer.model.config.n_head
    # labels translated now, in this run (a format_func may be called outside it)
    head_words = {-1: _("mean of the heads"),
                  **{h: _("head {n}").format(n=h + 1) for h in range(n_head_now)}}
    head_choice = c3.selectbox(
        _("Attention shown"), [-1, *range(n_head_now)], key=f"{P}_head",
        format_func=lambda h: head_words.get(h) or _("head {n}").format(n=h + 1), **KEEP)
    head = None if head_choice is None or not 0 <= head_choice < n_head_now else int(head_choice)
    return own_text, own_prompt, head


def look(model, own_prompt) -> tuple[list[Solution], Solution | None, Any]:
    sols = task.solutions(model, N_EXAMPLES, seed=st.session_state[f"{P}_ex_seed"])
    own = task.solve(model, own_prompt) if own_prompt is not None else None
    shown = own_prompt if own_prompt is not None else torch.tensor(sols[0].prompt_ids)
    return sols, own, task.attention(model, shown)


def looked(snap: Snapshot, own_text: str,
           own_prompt) -> tuple[int, tuple[list[Solution], Solution | None, Any]]:
    """(step, look()) of the published weights; while training at most every SLOW_REFRESH
    seconds: the curves redraw twice a second, and every redraw holds the Python interpreter
    the trainer needs."""
    when = (("time", int(time.monotonic() / SLOW_REFRESH)) if snap.status == "training"
            else ("step", snap.view_step))
    return memo(f"{P}_look", (id(run), own_text, st.session_state[f"{P}_ex_seed"], when),
                lambda: run.read_view(lambda m: look(m, own_prompt)))


def recorded_solutions(prompts: np.ndarray, answers: np.ndarray) -> list[Solution]:
    """The table's rows for recorded answers (as ProblemTask.solve_many makes them)."""
    expected = task.expected_answers(torch.from_numpy(prompts)).tolist()
    out = []
    for p, e, g in zip(prompts.tolist(), expected, answers.tolist(), strict=True):
        right = zip(task.reading_order(e), task.reading_order(g), strict=True)
        out.append(Solution(problem=task.format_problem(p), expected=task.format_answer(e),
                            answer=task.format_answer(g),
                            digit_correct=tuple(a == b for a, b in right),
                            prompt_ids=tuple(p), answer_ids=tuple(g)))
    return out


def recorded_example(frame: dict[str, np.ndarray]) -> AttentionExample:
    """The heatmap's example as recorded (as ProblemTask.attention makes it)."""
    ids = frame["example"].tolist()  # prompt and answer
    n = task.prompt_len
    tok = task.tokenizer.token_str
    return AttentionExample(
        tokens=[tok(i) for i in ids[:-1]], attention=torch.from_numpy(frame["attention"]),
        answer_rows=list(range(n - 1, n - 1 + task.answer_len)),
        answer_tokens=[tok(i) for i in ids[n:]], answer_names=task.writing_place_names(),
        segments=task.segments())


def replayed(snap: Snapshot, replay: int, own_prompt) -> tuple[
        int, list[Solution], Solution | None, AttentionExample, str] | None:
    """(step, rows, your problem, the heatmap's example, a note) as recorded at the replayed
    step; None when nothing was recorded (then the page shows the model now)."""
    hit = run.timeline.at(replay)
    if hit is None or "answers" not in hit[1]:
        return None
    frame = hit[1]
    step = frame_step(frame)
    sols = recorded_solutions(frame["prompts"], frame["answers"])
    example = recorded_example(frame)
    prompt_len = task.prompt_len
    own = None
    if own_prompt is not None and frame["example"][:prompt_len].tolist() == own_prompt.tolist():
        own = recorded_solutions(frame["example"][None, :prompt_len],
                                 frame["example"][None, prompt_len:])[0]
    accuracy = float(frame["accuracy"][0])
    scored = "" if math.isnan(accuracy) else \
        _("; {percent:.1f}% of all held-out problems right at that evaluation").format(
            percent=100 * accuracy)
    if replay > snap.step:
        note = _("step {replay:,} is not trained yet: the newest recorded, step {step:,}")
    elif step == replay:
        note = _("replaying step {replay:,}: as the model answered at step {step:,}")
    else:
        note = _("replaying step {replay:,}: as the model answered at step {step:,}, its last "
                 "evaluation before")
    note = note.format(replay=replay, step=step) + scored
    return step, sols, own, example, note


def draw(snap: Snapshot, replay: int | None) -> None:
    left, right = st.columns(2)
    with left:
        st.plotly_chart(fit(loss_figure(snap.steps, snap.losses, snap.evals, task.entropy_floor(),
                                        title=_("Loss on the answer digits"),
                                        height=fig_height,
                                        lrs=lr_panel(run.trainer.config, snap.lrs)),
                            font_scale=mode.font_scale, marker_step=replay, legend_under=True),
                        key=f"{P}_loss")
    with right:
        st.plotly_chart(fit(accuracy_figure(snap.evals, TARGET, height=fig_height,
                                            title=_("Held-out problems answered exactly "
                                                    "right")),
                            font_scale=mode.font_scale, marker_step=replay, legend_under=True),
                        key=f"{P}_acc")
    if watch.reached_step is not None:
        st.success(_("Reached {percent:g}% of the held-out problems at step {step:,}, after "
                     "{seconds:.1f} s of training.").format(
                       percent=100 * TARGET, step=watch.reached_step,
                       seconds=watch.reached_seconds),
                   icon=":material/flag:")
    own_text, own_prompt, head = own_problem()
    if frames is not None:  # the next evaluations record the table as it is drawn now
        frames.compute = answers_writer(task, st.session_state[f"{P}_ex_seed"], own_prompt)
    shown = replayed(snap, replay, own_prompt) if replay is not None else None
    if shown is None:
        step, (sols, own, example) = looked(snap, own_text, own_prompt)
        note = ""
    else:
        step, sols, own, example, note = shown
        if own is None and own_prompt is not None:
            own = run.read_model(lambda m: task.solve(m, own_prompt))
            note += _("; your problem was not recorded: answered by the model now")
    if own is not None:
        said = (_("**Your problem:** {problem} → the model answers {answer}, which is right; "
                  "the right answer is {expected}.") if own.correct else
                _("**Your problem:** {problem} → the model answers {answer}, which is wrong "
                  "({errors}); the right answer is {expected}."))
        st.markdown(said.format(problem=own.problem, answer=marked_answer(own),
                                expected=own.expected,
                                errors=task.describe_errors(own) if not own.correct else ""))
    heading = (_("**Held-out problems** (step {step:,}, {note}):") if note else
               _("**Held-out problems** (step {step:,}):"))
    st.markdown(heading.format(step=step, note=note) + "\n\n" + solutions_table(sols))
    shown_problem = task.format_problem([int(t) for t in example.tokens[: task.prompt_len]])
    attn_title = (_("Where each answer digit looks: {problem} (step {step:,})")
                  if shown is not None else _("Where each answer digit looks: {problem}"))
    st.plotly_chart(fit(answer_attention_figure(
        example, head=head, title=attn_title.format(problem=shown_problem, step=step)),
        font_scale=mode.font_scale),
        key=f"{P}_attn")


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

# --- below the figures: the explanations, sharing ----------------------------------------------
INTRO = N_(
    "minGPT's two demos. The model reads a problem as a row of digits and writes the answer one "
    "digit at a time, each one fed back in for the next. **Sorting**: `2 0 1 1 0 2` in, "
    "`0 0 1 1 2 2` out. **Addition**: for 85 + 50 it reads `8 5 5 0` and writes `5 3 1`, the sum "
    "**backwards**, ones digit first, the order in which you add columns by hand (each digit "
    "then needs only the digits above it and the carry just written). Some problems are "
    "**held out**: the model never trains on them, so getting them right means it learnt the "
    "rule rather than memorised answers."
)
HOW_TO_READ = N_(
    "**How to read this.** *Left:* the loss, counted only on the answer digits; it can fall to "
    "0 because every answer follows from the problem. *Right:* the share of held-out problems "
    "whose whole answer is right (one wrong digit makes it wrong); the dashed line is 99%. "
    "*Table:* problems the model never trained on, with its answer: wrong digits in red, and "
    "which place they are in. *Heatmap:* one row per answer digit, in the order the model "
    "writes them; a row shows how strongly that step looks at each token it can see (darker = "
    "more). For addition, a well-trained model's ones digit looks at the ones digits of a and "
    "b; for sorting, each step looks for the next smallest number in the input. **Replay** "
    "goes back to any step: the table and the heatmap as they were at that step's evaluation."
)
with st.expander(_("Compare runs"), icon=":material/compare_arrows:"):
    compare_runs(P, RUN, run)
with st.expander(_("Ablate: switch parts of the model off"), icon=":material/block:"):
    ablation_panel(f"{P}_{task_name}", run, task, font_scale=mode.font_scale)
if not mode.present:
    with st.expander(_("How to read this"), icon=":material/info:"):
        st.markdown(_(INTRO))
        st.markdown(_(HOW_TO_READ))
if mode.shows("share"):
    with st.expander(_("Share this experiment"), icon=":material/share:"):
        share_box({k: v for k, v in SPECS.items()
                   if k not in ((f"{P}_length", f"{P}_values") if task_name == "addition"
                                else (f"{P}_ndigit",))},
                  extra={"present": "1"} if mode.present else None)
