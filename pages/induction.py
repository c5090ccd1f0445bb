"""Induction heads, live: random tokens, then the same tokens again; watch the repeated half's
loss crash, see which head does it, switch that head off and watch the loss come back.

One screen (1280x720, sidebar open): the buttons, the two halves' losses and every head's
scores; below them the best head's attention on one sequence; the explanations in an expander.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from gptviz.ablate import Ablation
from gptviz.config import ConfigError, TrainConfig
from gptviz.i18n import N_, _
from gptviz.induction import Scores, head_name
from gptviz.live import LiveRun, Snapshot
from gptviz.tasks.induction import InductionTask
from gptviz.tasks.presets import PRESETS, model_config
from gptviz.train import Trainer, build_model
from gptviz.viz.induction import half_loss_figure, head_scores_figure, stripe_attention_figure
from gptviz.viz.screen import fit
from pages._entry import enter_through_app  # noqa: E402
from pages._instrument import ViewMode, compact_page
from pages._live import (
    keep_run,
    live_view,
    memo,
    page_defaults,
    settings_error,
    training_buttons,
)

enter_through_app()

P = "ind"  # widget-key prefix
RUN = f"{P}_run"
FIG_HEIGHT = 330  # px: the two figures side by side under the buttons fit a 1280x720 screen
ATT_HEIGHT = 470
KEEP = {"persist_state": "session"}  # every setting survives a switch to another page and back
LAYOUT_LABELS = {"fixed": N_("fixed halves (TransformerLens's demo)"),
                 "varied": N_("varied halves, with separators")}
DEMO = PRESETS["induction"]["demo"]


def defaults() -> dict:
    t, m, o = DEMO.train, DEMO.model, DEMO.task_options
    return {f"{P}_layout": o["layout"], f"{P}_seq_len": o["seq_len"],
            f"{P}_vocab": o["vocab_size"], f"{P}_min_half": 2, f"{P}_layers": m["n_layer"],
            f"{P}_heads": m["n_head"], f"{P}_embd": m["n_embd"], f"{P}_lr": t.learning_rate,
            f"{P}_batch": t.batch_size, f"{P}_steps": t.max_steps, f"{P}_eval": t.eval_interval,
            f"{P}_seed": t.seed, f"{P}_ablate": False}


def load_demo() -> None:
    st.session_state.update(defaults())


page_defaults(defaults())
compact_page(ViewMode(present=False, hidden=frozenset()))


def number(label: str, name: str, lo, hi, **kw):
    return st.number_input(label, lo, hi, key=f"{P}_{name}", **KEEP, **kw)


with st.sidebar:
    st.header(_("Data"))
    # labels translated now, in this run (a format_func may be called outside it)
    layout_words = {v: _(label) for v, label in LAYOUT_LABELS.items()}
    layout = st.radio(_("Layout"), list(LAYOUT_LABELS), format_func=layout_words.__getitem__,
                      key=f"{P}_layout", **KEEP,
                      help=_("Fixed: every sequence is n random tokens, then the same n. "
                             "Varied: a separator run, n random tokens, a separator, the same "
                             "n; n and the start change from sequence to sequence."))
    seq_len = number(_("Tokens per sequence"), "seq_len", 2, 256,
                     help=_("The model reads all but the last one."))
    vocab = number(_("Random tokens V"), "vocab", 1, 64)
    min_half = number(_("Shortest half (varied)"), "min_half", 1, 127,
                      disabled=layout != "varied")
    st.header(_("Model"))
    n_layer = number(_("Layers"), "layers", 1, 4)
    n_head = number(_("Heads per layer"), "heads", 1, 8)
    n_embd = number(_("Embedding size"), "embd", 8, 256, help=_("Divisible by the heads."))
    st.header(_("Training"))
    lr = number(_("Learning rate"), "lr", 1e-5, 1.0, format="%.0e", step=1e-4)
    batch = number(_("Batch size (sequences per step)"), "batch", 1, 512)
    steps = number(_("Steps per click of Train"), "steps", 1, 100_000)
    every = number(_("Measure every N steps"), "eval", 1, 10_000)
    seed = number(_("Seed"), "seed", 0, 2**31 - 1)
    st.button(_("Load the demo's settings"), on_click=load_demo, key=f"{P}_demo",
              icon=":material/science:", width="stretch")

# --- build or keep the model -------------------------------------------------------------------
try:
    task_opts = dict(seq_len=int(seq_len), vocab_size=int(vocab), layout=layout,
                     min_half=int(min_half))
    task = InductionTask(**task_opts)
    mcfg = model_config(task, dict(n_layer=int(n_layer), n_head=int(n_head),
                                   n_embd=int(n_embd))).validate()
    tcfg = TrainConfig(learning_rate=float(lr), batch_size=int(batch), max_steps=int(steps),
                       seed=int(seed), eval_interval=int(every), eval_batches=1).validate()
    opts = tuple(sorted(task_opts.items())) if layout == "varied" else \
        (("layout", "fixed"), ("seq_len", int(seq_len)), ("vocab_size", int(vocab)))
    run = keep_run(RUN, (opts, mcfg, tcfg.seed), lambda: LiveRun(Trainer(
        build_model(mcfg, tcfg.seed), task, tcfg)), label="Induction heads")
    run.update(config=tcfg)  # learning rate, batch, ...: taken between steps
except ConfigError as e:
    settings_error(e, RUN)
task: InductionTask = run.trainer.task  # the one the model trains on
cfg = run.trainer.model.config
ln_v = math.log(task.n_tokens)
floor = task.entropy_floor()

st.title(_("Induction heads: copying what came next last time"))
st.caption(_("{tokens} random tokens · sequences of {seq_len} · {layers} layers × {heads} heads "
             "× {dims} dims · {params:,} parameters · lowest possible loss over all targets "
             "{floor:.3f} nats (ln V = {ln_v:.3f})").format(
    tokens=task.n_tokens, seq_len=task.seq_len, layers=cfg.n_layer, heads=cfg.n_head,
    dims=cfg.n_embd, params=run.trainer.model.num_params(), floor=floor, ln_v=ln_v))


def measured(snap: Snapshot) -> tuple[int, Scores]:
    """(step, the scores) of the model as it is now (the view), kept until it changes."""
    return memo(f"{P}_scores", (id(run), snap.view_step),
                lambda: run.read_view(task.scores))


def ablated(snap: Snapshot, head: tuple[int, int]) -> Scores:
    """The scores with `head` switched off, on the paused model (gptviz.ablate's hooks)."""
    ablation = Ablation(heads=frozenset({head}))
    return memo(f"{P}_ablated", (id(run), snap.view_step, head),
                lambda: run.read_model(lambda m: task.scores(m, ablation)))


snap0 = run.snapshot()
_step0, now = measured(snap0)
best = now.best_head
best_name = head_name(*best)
c_train, c_off = st.columns([3, 2], vertical_alignment="center")
with c_train:
    training_buttons(run, int(steps), P)
with c_off:
    st.toggle(_("Switch off the induction head ({head})").format(head=best_name),
              key=f"{P}_ablate", **KEEP,
              disabled=run.running or snap0.step == 0,
              help=_("The head with the highest induction score now. Its output is replaced by "
                     "zeros while the loss is measured (gptviz.ablate: a hook, never a change "
                     "to the weights); switch it on again and the model is whole. Available "
                     "when training is paused."))
ablating = bool(st.session_state[f"{P}_ablate"]) and not run.running and snap0.step > 0


def draw(snap: Snapshot) -> None:
    step, scores = measured(snap)
    head = scores.best_head
    off = ablated(snap, head) if ablating else None
    left, right = st.columns(2)
    with left:
        st.plotly_chart(fit(half_loss_figure(
            snap.evals, task.n_tokens, floor, title=_("Loss on each half"), height=FIG_HEIGHT,
            ablated=(step, off.repeat_loss, head_name(*head)) if off else None),
            legend_under=True), key=f"{P}_loss_fig", theme=None)
    with right:
        st.plotly_chart(fit(head_scores_figure(
            snap.evals, cfg.n_layer, cfg.n_head, title=_("What each head does"),
            height=FIG_HEIGHT, best=head), legend_under=True), key=f"{P}_heads_fig", theme=None)
    if off is not None:
        st.markdown(_("**{head} switched off** (step {step:,}): the repeated half's loss goes "
                      "from **{repeat:.3f}** to **{repeat_off:.3f}** nats; the first half's "
                      "from {first:.3f} to {first_off:.3f} (ln V = {ln_v:.3f}). Switch it on "
                      "again and the model is whole.").format(
            head=head_name(*head), step=step, repeat=scores.repeat_loss,
            repeat_off=off.repeat_loss, first=scores.first_half_loss,
            first_off=off.first_half_loss, ln_v=ln_v))
    verdict(snap, step, scores)
    example(snap, step, head)


def verdict(snap: Snapshot, step: int, s: Scores) -> None:
    """One sentence on what the scores say now (every claim from the numbers shown)."""
    if step == 0 or not snap.evals:
        st.caption(_("Press Train: the scores are measured every {every:,} steps on 256 "
                     "fixed sequences.").format(every=run.trainer.config.eval_interval))
        return
    layer, h = s.best_head
    name = head_name(layer, h)
    prev = max((s.prev_token[0][k], k) for k in range(cfg.n_head))
    prev_name = head_name(0, prev[1])
    values = dict(name=name, score=s.best_induction, prev_name=prev_name, prev=prev[0],
                  layer=layer + 1, back=task.max_half - 1)
    if s.best_induction < 0.5:
        text = _("No head copies yet: the best induction score is {score:.2f} ({name}).")
    elif layer == 0:
        text = (_("{name} puts {score:.0%} of its attention on the token after the earlier "
                  "copy, from layer 1, which sees only each token itself and its position: it "
                  "finds that token by position alone, a shortcut, not an induction circuit "
                  "(no layer-1 head is a previous-token head: the best, {prev_name}, scores "
                  "{prev:.2f}). Here the copy is always exactly {back} positions back.")
                if task.layout_name == "fixed" else
                _("{name} puts {score:.0%} of its attention on the token after the earlier "
                  "copy, from layer 1, which sees only each token itself and its position: it "
                  "finds that token by position alone, a shortcut, not an induction circuit "
                  "(no layer-1 head is a previous-token head: the best, {prev_name}, scores "
                  "{prev:.2f})."))
    elif prev[0] >= 0.5:
        text = _("The circuit: {prev_name} in layer 1 is a previous-token head ({prev:.2f}) "
                 "and {name} in layer {layer} an induction head ({score:.2f}).")
    else:
        text = _("{name} in layer {layer} copies ({score:.2f}), but no layer-1 head is a "
                 "previous-token head (best {prev_name}, {prev:.2f}).")
    st.markdown(_("**Step {step:,}.** {text}").format(step=step, text=text.format(**values)))


def example(snap: Snapshot, step: int, head: tuple[int, int]) -> None:
    x, lay = task.sample(0)
    att = memo(f"{P}_att", (id(run), snap.view_step, head), lambda: run.read_model(
        lambda m: m(x.to(m.device), return_attention=True).attention[head[0]][0, head[1]]
        .detach().float().cpu().numpy()))
    tokens = [task.tokenizer.token_str(int(t)) for t in x[0]]
    fig = stripe_attention_figure(
        np.asarray(att), tokens, head[0], head[1], int(lay.first[0]), int(lay.copy[0]),
        int(lay.n[0]),
        title=_("Where {head} looks on one sequence (step {step:,})").format(
            head=head_name(*head), step=step),
        height=ATT_HEIGHT)
    st.plotly_chart(fit(fig), key=f"{P}_att_fig", theme=None)


live_view(run, draw)

# --- below the figures: the explanations -------------------------------------------------------
WHAT = N_(
    "**What an induction head is.** Give a GPT a text in which a stretch repeats, and it "
    "predicts the repeat: it has seen *…A B…* before, now it reads *A* again, and it "
    "guesses *B*. In trained transformers this is done by two attention heads working "
    "together (Olsson et al., 2022): a **previous-token head** in layer 1 writes into each "
    "position which token came just before it; an **induction head** in layer 2 then looks, "
    "from the current token A, for the position whose previous token was A (the token right "
    "after the earlier copy of A) and copies that token, B, into the prediction."
)
DATA = N_(
    "**The data.** Each sequence is random tokens, then the same tokens again. Nothing can "
    "predict the first half (its loss stays at ln V, a uniform guess); every token of the "
    "repeated half is a copy of one already read, so its loss can fall to 0. The dashed line "
    "*lowest possible* is the floor for the loss over all targets together. The sudden drop "
    "of the repeated half's loss is the **loss crash**."
)
SCORES = N_(
    "**The scores**, measured every few steps on 256 fixed sequences, as TransformerLens's "
    "head detectors measure them: a head's *induction score* is its mean attention from each "
    "repeated token to the token after that token's earlier copy (1 = all of it; the red "
    "squares on the heatmap mark those cells); its *previous-token score* is its mean "
    "attention to the position just before. Solid lines: the last layer's heads; dotted: the "
    "others'. The thick line is the head with the best induction score, the one the toggle "
    "switches off. On the heatmap, each row is a position of one sequence and each column a "
    "token it can read; the darker the cell, the more attention."
)
SHORTCUT = N_(
    "**A shortcut.** In the fixed layout the token to copy is always n - 1 positions back (15 "
    "with 32 tokens), so a single head can reach it by position alone, and a layer-1 head "
    "does: the score cannot "
    "tell it from an induction head, but layer 1 sees only each token and its position, never "
    "its neighbours. Choose *varied lengths* in the sidebar to take the shortcut away (each "
    "sequence has its own length and start, marked by separators `|`): then only an induction "
    "circuit can copy. Measured on this 2-core CPU (README, *Induction heads*), the varied "
    "task trained 8,000 steps with no crash: the real circuit takes far longer to form than "
    "the shortcut."
)
with st.expander(_("What is happening here?"), icon=":material/info:"):
    for text in (WHAT, DATA, SCORES, SHORTCUT):
        st.markdown(_(text))
