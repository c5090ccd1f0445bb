"""Sorting & addition: minGPT's two demos, trained live, scored on problems it never saw."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st
import torch

from gptviz.config import ConfigError, TrainConfig
from gptviz.live import LiveRun, Snapshot
from gptviz.milestone import TargetWatch
from gptviz.tasks import TASKS, ProblemError, ProblemTask, Solution
from gptviz.tasks.presets import PRESETS, Preset, default_preset, model_config
from gptviz.train import Trainer, build_model, resolve_device
from gptviz.urlparams import ChoiceParam, FloatParam, IntParam, TextParam
from gptviz.viz.loss import loss_figure
from gptviz.viz.tasks import accuracy_figure, answer_attention_figure
from pages._entry import enter_through_app  # noqa: E402
from pages._live import (
    apply_url_settings,
    keep_run,
    live_view,
    memo,
    page_defaults,
    share_box,
    training_buttons,
)

enter_through_app()

P = "tasks"  # widget-key prefix
TARGET = 0.99
N_EXAMPLES = 8
SLOW_REFRESH = 1.5  # seconds between redraws of the table and the heatmap while training
TASK_LABELS = {"addition": "Addition", "sorting": "Sorting"}

# The settings a shared link carries, with the widgets' bounds (gptviz/urlparams.py).
SPECS = {
    f"{P}_task": ChoiceParam(tuple(TASK_LABELS)), f"{P}_ndigit": IntParam(1, 4),
    f"{P}_length": IntParam(2, 12), f"{P}_values": IntParam(2, 10),
    f"{P}_layers": IntParam(1, 8), f"{P}_heads": IntParam(1, 16), f"{P}_embd": IntParam(1, 512),
    f"{P}_lr": FloatParam(1e-5, 1.0), f"{P}_wd": FloatParam(0.0, 10.0),
    f"{P}_batch": IntParam(1, 512), f"{P}_steps": IntParam(1, 100_000),
    f"{P}_eval": IntParam(1, 10_000),
    f"{P}_seed": IntParam(0, 2**31 - 1), f"{P}_device": ChoiceParam(("cpu", "cuda")),
    f"{P}_own": TextParam(60, "0-9+=,", "digits, spaces, commas and + or ="),
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
              f"{P}_steps": t.max_steps, f"{P}_eval": t.eval_interval, f"{P}_seed": t.seed}
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

st.title("Sorting & addition: does the model learn the rule?")
apply_url_settings(SPECS, P)  # a shared link's settings, checked and clamped
st.markdown(
    "minGPT's two demos. The model reads a problem as a row of digits and writes the answer one "
    "digit at a time, each one fed back in for the next. **Sorting**: `2 0 1 1 0 2` in, "
    "`0 0 1 1 2 2` out. **Addition**: for 85 + 50 it reads `8 5 5 0` and writes `5 3 1`, the sum "
    "**backwards**, ones digit first, the order in which you add columns by hand (each digit "
    "then needs only the digits above it and the carry just written). Some problems are "
    "**held out**: the model never trains on them, so getting them right means it learnt the "
    "rule rather than memorised answers."
)

# --- controls -----------------------------------------------------------------------------------
with st.sidebar:
    task_name = st.radio("Task", list(TASK_LABELS), format_func=TASK_LABELS.get,
                         key=f"{P}_task", horizontal=True, on_change=switch_task, **KEEP)
    presets = PRESETS[task_name]
    st.selectbox("Preset", list(presets), key=f"{P}_preset_{task_name}", on_change=load_preset,
                 help="Settings that reach 99% on the held-out problems on a laptop CPU.", **KEEP)
    st.caption(presets[st.session_state[f"{P}_preset_{task_name}"]].description)
    st.header("Problems")
    if task_name == "addition":
        task_opts = {"ndigit": int(number("Digits per number", "ndigit"))}
    else:
        task_opts = {"length": int(number("Numbers per sequence", "length")),
                     "num_digits": int(number("Different values (0 to k-1): k", "values"))}
    st.header("Model")
    n_layer = number("Layers", "layers")
    n_head = number("Heads per layer", "heads")
    n_embd = number("Embedding size", "embd", help="Must be divisible by the number of heads.")
    st.header("Training")
    lr = number("Learning rate", "lr", format="%.0e", step=1e-4)
    wd = number("Weight decay", "wd", step=0.01, help="AdamW's pull of the weights towards 0.")
    batch = number("Batch size (problems per step)", "batch")
    steps = number("Steps per click of Train", "steps")
    eval_every = number("Score the held-out problems every N steps", "eval")
    seed = number("Seed", "seed")
    device = st.selectbox("Device", ["cpu", "cuda"], key=f"{P}_device", **KEEP,
                          help="CUDA needs an NVIDIA GPU; the app says so if there is none.")

st.session_state[f"{P}_saved"][task_name] = {
    k: st.session_state[k] for k in preset_widgets(default_preset(task_name))}

# --- build or keep the model (one per task), and give it the sidebar's hyperparameters ----------
RUN = f"{P}_{task_name}_run"  # also the prefix of its buttons: Reset drops this key


def build() -> LiveRun:
    trainer = Trainer(build_model(mcfg, tcfg.seed), task, tcfg)
    watch = TargetWatch(TARGET)
    trainer.add_callback(watch)  # runs in the training thread; only records numbers
    st.session_state[f"{RUN}_watch"] = watch
    return LiveRun(trainer)


try:
    task: ProblemTask = TASKS[task_name](**task_opts)
    mcfg = model_config(task, dict(n_layer=int(n_layer), n_head=int(n_head),
                                   n_embd=int(n_embd))).validate()
    tcfg = TrainConfig(learning_rate=float(lr), weight_decay=float(wd), batch_size=int(batch),
                       max_steps=int(steps), seed=int(seed), device=device,
                       eval_interval=int(eval_every), eval_batches=1).validate()
    resolve_device(device)
    run = keep_run(RUN, (tuple(sorted(task_opts.items())), mcfg, tcfg.seed, device), build,
                   TASK_LABELS[task_name])
    run.update(config=tcfg)  # learning rate, weight decay, batch, ...: also while it trains
except ConfigError as e:
    st.error(f"**Cannot use these settings:** {e}")
    if RUN in st.session_state:
        st.info("Your trained model is kept; fix the setting to continue.")
    st.stop()
task = run.trainer.task  # the one the model trains on (its held-out set)
watch: TargetWatch = st.session_state[f"{RUN}_watch"]

middle = len(task.val_ids) // 2  # the first held-out problems are all small: 00 + 02, ...
sample_prompt, sample_answer = task.problems(task.val_ids[middle: middle + 1])
seq = sample_prompt[0].tolist() + sample_answer[0].tolist()
st.caption(
    f"{task.num_problems:,} possible problems · {len(task.val_ids):,} held out, never trained on "
    f"· {run.trainer.model.num_params():,} parameters · one training sequence: "
    f"`{' '.join(map(str, seq[:task.prompt_len]))} | {' '.join(map(str, seq[task.prompt_len:]))}`"
    f" ({task.format_problem(seq[:task.prompt_len])}; the loss counts only the "
    f"{task.answer_len} answer digits after the bar)")
training_buttons(run, int(steps), f"{P}_{task_name}")

# --- the user's own problem -------------------------------------------------------------------
c1, c2, c3 = st.columns([2, 1, 1])
example_hint = "37 + 85" if task_name == "addition" and task.ndigit == 2 else \
    task.format_problem(sample_prompt[0].tolist())
own_text = c1.text_input("Try your own problem", key=f"{P}_own", placeholder=example_hint,
                         help=f"For example {example_hint}. It is also the example the attention "
                              f"heatmap shows.", **KEEP)
own_prompt = None
if own_text.strip():
    try:
        own_prompt = task.parse(own_text)
    except ProblemError as e:
        c1.error(str(e))
c2.button("Other examples", icon=":material/shuffle:", key=f"{P}_shuffle", width="stretch",
          on_click=lambda: st.session_state.update({f"{P}_ex_seed":
                                                    st.session_state[f"{P}_ex_seed"] + 1}))
n_head_now = run.trainer.model.config.n_head
head_choice = c3.selectbox("Attention shown", [-1, *range(n_head_now)], key=f"{P}_head", **KEEP,
                           format_func=lambda h: "mean of the heads" if h < 0 else f"head {h + 1}")
head = None if head_choice is None or not 0 <= head_choice < n_head_now else int(head_choice)


def marked_answer(sol: Solution) -> str:
    """The model's answer with its wrong digits in bold red (digits only: safe as markdown)."""
    digits = task.reading_order(list(sol.answer_ids))
    return task.separator.join(
        task.tokenizer.token_str(d) if ok else f":red[**{task.tokenizer.token_str(d)}**]"
        for d, ok in zip(digits, sol.digit_correct, strict=True))


def solutions_table(sols: list[Solution]) -> str:
    rows = ["| problem | model's answer | right answer | | wrong digits |",
            "| --- | --- | --- | --- | --- |"]
    for s in sols:
        icon = ":green[:material/check_circle:]" if s.correct else ":red[:material/cancel:]"
        rows.append(f"| {s.problem} | {marked_answer(s)} | {s.expected} | {icon} | "
                    f"{task.describe_errors(s) or '–'} |")
    return "\n".join(rows)


def look(model) -> tuple[list[Solution], Solution | None, Any]:
    sols = task.solutions(model, N_EXAMPLES, seed=st.session_state[f"{P}_ex_seed"])
    own = task.solve(model, own_prompt) if own_prompt is not None else None
    shown = own_prompt if own_prompt is not None else torch.tensor(sols[0].prompt_ids)
    return sols, own, task.attention(model, shown)


def looked(snap: Snapshot) -> tuple[int, tuple[list[Solution], Solution | None, Any]]:
    """(step, look()) of the published weights; while training at most every SLOW_REFRESH
    seconds: the curves redraw twice a second, and every redraw holds the Python interpreter
    the trainer needs."""
    when = (("time", int(time.monotonic() / SLOW_REFRESH)) if snap.status == "training"
            else ("step", snap.view_step))
    return memo(f"{P}_look", (id(run), own_text, st.session_state[f"{P}_ex_seed"], when),
                lambda: run.read_view(look))


def draw(snap: Snapshot) -> None:
    left, right = st.columns(2)
    with left:
        st.plotly_chart(loss_figure(snap.steps, snap.losses, snap.evals, task.entropy_floor(),
                                    title="Loss on the answer digits"), key=f"{P}_loss")
    with right:
        st.plotly_chart(accuracy_figure(snap.evals, TARGET,
                                        title="Held-out problems answered exactly right"),
                        key=f"{P}_acc")
    if watch.reached_step is not None:
        st.success(f"Reached {100 * TARGET:g}% of the held-out problems at step "
                   f"{watch.reached_step:,}, after {watch.reached_seconds:.1f} s of training.",
                   icon=":material/flag:")
    step, (sols, own, example) = looked(snap)
    if own is not None:
        verdict = "right" if own.correct else f"wrong ({task.describe_errors(own)})"
        st.markdown(f"**Your problem:** {own.problem} → the model answers {marked_answer(own)}"
                    f", which is {verdict}; the right answer is {own.expected}.")
    st.markdown(f"**Held-out problems** (step {step:,}):\n\n" + solutions_table(sols))
    shown = task.format_problem([int(t) for t in example.tokens[: task.prompt_len]])
    st.plotly_chart(answer_attention_figure(example, head=head,
                                            title=f"Where each answer digit looks: {shown}"),
                    key=f"{P}_attn")


live_view(run, draw)
with st.expander("Share this experiment", icon=":material/share:"):
    share_box({k: v for k, v in SPECS.items()
               if k not in ((f"{P}_length", f"{P}_values") if task_name == "addition"
                            else (f"{P}_ndigit",))})
st.markdown(
    "**How to read this.** *Left:* the loss, counted only on the answer digits; it can fall to "
    "0 because every answer follows from the problem. *Right:* the share of held-out problems "
    "whose whole answer is right (one wrong digit makes it wrong); the dashed line is 99%. "
    "*Table:* problems the model never trained on, with its answer: wrong digits in red, and "
    "which place they are in. *Heatmap:* one row per answer digit, in the order the model "
    "writes them; a row shows how strongly that step looks at each token it can see (darker = "
    "more). For addition, a well-trained model's ones digit looks at the ones digits of a and "
    "b; for sorting, each step looks for the next smallest number in the input."
)
