"""The forward pass, stage by stage (document 002), for your prompt and a model of your choice."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from gptviz.ablate import mode_text
from gptviz.config import ConfigError, GPTConfig
from gptviz.i18n import N_, _, ngettext
from gptviz.markup import escape_markdown
from gptviz.model import GPT
from gptviz.tokenizers import ByteTokenizer, Tokenizer, TokenizerError
from gptviz.trace import ForwardTrace, Stage, logit_lens, trace_forward
from gptviz.train import build_model
from gptviz.viz.diagram import (
    MAX_DIAGRAM_HEIGHT,
    STEP_NAMES,
    Part,
    clicked_stage,
    default_part,
    diagram_parts,
    forward_diagram,
    is_off,
    part_of,
    stage_height,
    stage_options,
)
from gptviz.viz.forward import logit_lens_figure, stage_figure, top_k_bar
from gptviz.viz.screen import fit
from gptviz.viz.tokens import spans_html, token_spans, visible
from pages._ablate import held_ablation_note
from pages._entry import enter_through_app  # noqa: E402
from pages._instrument import no_live_view_here
from pages._live import available_models
from pages._tokenizer_ui import (
    builtin_char_tokenizer,
    show_tiktoken_unavailable,
    tiktoken_tokenizer,
)

enter_through_app()
no_live_view_here()  # ?present=1 or ?hide=... links are for the live pages

P = "fp"  # widget-key prefix
FRESH = {  # the values are the selectbox's options (kept in URLs), shown with _()
    "chars": N_("Untrained GPT · characters"),
    "gpt2": N_("Untrained GPT · GPT-2 tokenizer (document 002)"),
    "bytes": N_("Untrained GPT · bytes"),
}
TRAINED_PREFIX = "Trained: "  # an option's prefix: shown as _("Trained: {name}")

defaults = {f"{P}_prompt": "Hello, I am", f"{P}_source": FRESH["chars"], f"{P}_layers": 2,
            f"{P}_heads": 2, f"{P}_embd": 32, f"{P}_context": 32, f"{P}_seed": 1337}
for k, v in defaults.items():
    if k not in st.session_state:
        st.session_state[k] = v

st.title(_("The forward pass, stage by stage"))
st.markdown(_(
    "What happens between typing a prompt and the model's next token? Document 002 does it by "
    "hand: token ids → embeddings → queries, keys and values → attention scores → softmax → "
    "context vectors → a linear layer over the whole vocabulary → softmax → the most probable "
    "token. Here the same steps run on a real GPT (with its LayerNorms, heads, MLPs and "
    "residual connections), for your prompt. **How to read it:** click any box of the diagram "
    "below to see its numbers beside it: one row per token; red is positive, blue negative, "
    "white zero (hover for the exact value). Attention maps show which earlier tokens each "
    "token reads from. An untrained model's prediction is arbitrary: train one on another "
    "page and pick it here."
))

# --- which model ------------------------------------------------------------------------------
trained = available_models()
sources = list(FRESH.values()) + [TRAINED_PREFIX + label for label in trained]
if st.session_state[f"{P}_source"] not in sources:
    st.session_state[f"{P}_source"] = FRESH["chars"]


def _source_label(option: str) -> str:
    if option.startswith(TRAINED_PREFIX):
        return _("Trained: {name}").format(name=option.removeprefix(TRAINED_PREFIX))
    return _(option)


source = st.selectbox(_("Model"), sources, key=f"{P}_source", format_func=_source_label,
                      help=_("Models you train on other pages appear here too."))

model: GPT | None = None
tokenizer: Tokenizer | None = None
run = None  # the LiveRun of a model trained on another page
read_model: Callable[[Callable[[GPT], object]], object]

if source.startswith(TRAINED_PREFIX):
    run = trained[source.removeprefix(TRAINED_PREFIX)]
    tokenizer = run.trainer.task.tokenizer
    read_model = run.read_model  # waits for the training step in progress, if any
    cfg = run.trainer.model.config
    model_cfg = cfg
    block_size = cfg.block_size
    st.caption(_("{layers} layers, {heads} heads, {dims} dimensions, context {context}, "
                 "vocabulary {vocab:,}; trained for {steps:,} steps.").format(
        layers=cfg.n_layer, heads=cfg.n_head, dims=cfg.n_embd, context=cfg.block_size,
        vocab=cfg.vocab_size, steps=run.trainer.step_count))
    held_ablation_note(run)
else:
    kind = next(k for k, v in FRESH.items() if v == source)
    if kind == "gpt2":
        tokenizer, problem = tiktoken_tokenizer("gpt2")
        if problem:
            show_tiktoken_unavailable(problem, key=f"{P}_retry")
            st.info(_("Pick the characters or bytes model above meanwhile: they need no "
                      "download."))
            st.stop()
    elif kind == "bytes":
        tokenizer = ByteTokenizer()
    else:
        tokenizer = builtin_char_tokenizer()
    with st.expander(_("Model size (a fresh, untrained model)"), expanded=False):
        c = st.columns(5)
        n_layer = c[0].number_input(_("Layers"), 1, 6, key=f"{P}_layers")
        n_head = c[1].number_input(_("Heads"), 1, 8, key=f"{P}_heads")
        n_embd = c[2].selectbox(_("Embedding size"), [8, 16, 32, 64, 128, 256],
                                key=f"{P}_embd",
                                help=_("Document 002 uses 768; smaller keeps it fast and the "
                                       "pictures readable."))
        block = c[3].number_input(_("Context length"), 1, 256, key=f"{P}_context")
        seed = c[4].number_input(_("Seed"), 0, 2**31 - 1, key=f"{P}_seed")
    try:
        mcfg = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=int(block),
                         n_layer=int(n_layer), n_head=int(n_head), n_embd=int(n_embd),
                         bias=True).validate()
    except ConfigError as e:
        st.error(_("**Cannot build this model:** {error}").format(error=escape_markdown(e)))
        st.stop()
    arch = (kind, mcfg, int(seed))
    if st.session_state.get(f"{P}_arch") != arch:
        st.session_state[f"{P}_model"] = build_model(mcfg, int(seed)).eval()
        st.session_state[f"{P}_arch"] = arch
    model = st.session_state[f"{P}_model"]
    model_cfg = mcfg
    block_size = mcfg.block_size

    def read_model(fn: Callable[[GPT], object]) -> object:
        return fn(model)

    st.caption(_("{layers} layers, {heads} heads, {dims} dimensions, context {context}, "
                 "vocabulary {vocab:,} ({tokenizer}); random weights from seed {seed}.").format(
        layers=mcfg.n_layer, heads=mcfg.n_head, dims=mcfg.n_embd, context=mcfg.block_size,
        vocab=mcfg.vocab_size, tokenizer=_(tokenizer.name), seed=int(seed)))

assert tokenizer is not None

# --- the prompt -------------------------------------------------------------------------------
prompt = st.text_input(_("Prompt"), key=f"{P}_prompt")
if not prompt:
    st.warning(_("Type a prompt: the model needs at least one token."))
    st.stop()
try:
    ids = tokenizer.encode(prompt)
except TokenizerError as e:
    st.error(_("**The model's tokenizer cannot read this prompt.** {error}").format(
        error=escape_markdown(e)), icon=":material/block:")
    st.stop()
if len(ids) > block_size:
    st.info(_("The prompt is {n} tokens long, but the model's context window holds {block}. "
              "Only the last {block} tokens go in, as when a GPT generates text.").format(
        n=len(ids), block=block_size), icon=":material/content_cut:")
    ids = ids[-block_size:]

st.html(spans_html(token_spans(tokenizer, ids)))


def _trace(m: GPT) -> tuple[ForwardTrace, object]:
    return trace_forward(m, ids, tokenizer), logit_lens(m, ids)


trace, lens = read_model(_trace)  # type: ignore[misc]

# --- the answer first -------------------------------------------------------------------------
p_next = float(trace.probs[-1, trace.next_id])
st.subheader(_("Prediction: “{token}” (id {id}, p = {p:.1%})").format(
    token=visible(trace.next_text or ""), id=trace.next_id, p=p_next))
if trace.next_id == trace.ids[-1] and not source.startswith(TRAINED_PREFIX):
    st.caption(_("Why does an untrained model so often repeat the last token? Its output layer "
                 "shares its weights with the token embedding table (weight tying: "
                 "lm_head.weight is wte.weight), so a token's own vector scores highest against "
                 "itself until training teaches it better."))


def _axis_text(n: int, axis: str) -> str:
    """ "3 positions": an axis of a stage's tensor (trace.py's axis names) and its size."""
    forms = {
        "position": ngettext("{n} position", "{n} positions", n),
        "dimension": ngettext("{n} dimension", "{n} dimensions", n),
        "head": ngettext("{n} head", "{n} heads", n),
        "query position": ngettext("{n} query position", "{n} query positions", n),
        "key position": ngettext("{n} key position", "{n} key positions", n),
        "hidden unit": ngettext("{n} hidden unit", "{n} hidden units", n),
        "vocabulary": ngettext("{n} vocabulary", "{n} vocabularys", n),
        "token": ngettext("{n} token", "{n} tokens", n),
    }
    form = forms.get(axis)
    return form.format(n=n) if form else f"{n} {axis}{'s' if n != 1 else ''}"


def _shape_text(shape: tuple[int, ...], axes: tuple[str, ...]) -> str:
    return " × ".join(_axis_text(n, a) for n, a in zip(shape, axes, strict=True))


def _stage_body(s: Stage, key: str, head: int | None = None, title: str | None = None,
                picture_first: bool = False) -> None:
    """A stage's shape, explanation and picture (of one head, if head is given); beside the
    diagram the picture comes before the words, so that both fit on one screen."""
    shape, axes = (s.shape[1:], s.axes[1:]) if head is not None else (s.shape, s.axes)
    if head is None:
        st.caption(_("Shape: {shape}").format(shape=_shape_text(shape, axes)))
    else:
        st.caption(_("Shape: {shape} (head {head} of {heads})").format(
            shape=_shape_text(shape, axes), head=head + 1, heads=s.shape[0]))
    if not picture_first:
        st.markdown(s.explanation)
    if s.key == "ids":
        st.dataframe([{_("position"): i, _("token"): visible(t), "id": j}
                      for i, (t, j) in enumerate(zip(trace.tokens, trace.ids, strict=True))],
                     hide_index=True)
    elif s.key == "next_token":
        st.markdown(_("argmax at the last position: id **{id}** → `{token}`").format(
            id=trace.next_id, token=visible(trace.next_text or "")))
        st.plotly_chart(fit(top_k_bar(trace.probs[-1], tokenizer.token_str,
                                      title=_("The 10 most probable next tokens"))), key=key)
    else:
        fig = stage_figure(s, trace.tokens, tokenizer.token_str, head=head, title=title)
        if fig is not None:
            height = stage_height(len(trace.tokens), fig.layout.height) if picture_first else None
            st.plotly_chart(fit(fig, height=height), key=key)
    if picture_first:
        st.markdown(s.explanation)


# --- the diagram: click a box, its stage opens beside it --------------------------------------
st.header(_("The model, box by box"))
st.markdown(_("The prompt's tokens enter at the top and flow down; the thick line is the "
              "residual stream, and each ⊕ adds a sublayer's output to it. Each box shows the "
              "shape of what comes out of it. **Click a box** (or pick it in *{stage}*) to open "
              "it on the right.").format(stage=_("Stage")))
parts = diagram_parts(model_cfg.n_layer, model_cfg.n_head)
options = stage_options(parts)
STAGE_KEY = f"{P}_stage"
SCROLLBAR_PX = 16
if st.session_state.get(STAGE_KEY) not in options:
    st.session_state[STAGE_KEY] = default_part(model_cfg.n_layer, model_cfg.n_head).id
ablation = getattr(run, "ablation", None)  # the parts a LiveRun has switched off, if any


def _on_click() -> None:
    # runs before the rerun, so the selectbox below shows what was clicked: one source of truth
    picked = clicked_stage(st.session_state.get(f"{P}_diagram"), trace.stages)
    if picked is not None:
        st.session_state[STAGE_KEY] = picked


diagram = forward_diagram(model_cfg, trace.tokens, selected=st.session_state[STAGE_KEY],
                          ablation=ablation, next_token=trace.next_text)
tall = diagram.layout.height > MAX_DIAGRAM_HEIGHT  # many blocks: it scrolls on its own
# side by side: the diagram at its own width (its text is sized in px), the stage in the rest;
# on a narrow screen the stage goes under it
row = st.container(horizontal=True, gap="medium")
with row.container(width=diagram.layout.width + (SCROLLBAR_PX if tall else 0),
                   height=MAX_DIAGRAM_HEIGHT if tall else "content", border=False):
    st.plotly_chart(diagram, key=f"{P}_diagram", on_select=_on_click, selection_mode="points",
                    theme=None, width="content", config={"displayModeBar": False})
with row.container(width="stretch"):
    st.selectbox(_("Stage"), list(options), format_func=options.__getitem__, key=STAGE_KEY,
                 help=_("The same as clicking its box in the diagram."))
    part: Part = part_of(st.session_state[STAGE_KEY])
    if is_off(part, ablation):
        st.info(_("Switched off in this model ({ablation}).").format(
            ablation=mode_text(ablation.mode)),  # type: ignore[union-attr]
            icon=":material/block:")
    step = part.key
    if len(part.steps) > 1:  # a head's or the MLP's steps; the same step stays for the next head
        step_key = f"{P}_step_{'head' if part.head is not None else part.key}"
        if st.session_state.get(step_key) not in part.steps:
            st.session_state[step_key] = part.key
        step = st.segmented_control(_("Step"), part.steps,
                                    format_func=lambda k: _(STEP_NAMES[k]),
                                    key=step_key, label_visibility="collapsed") or part.key
    stage = trace.get(step, part.layer)
    _stage_body(stage, key=f"{P}_detail", head=part.head, title=stage.name, picture_first=True)

st.plotly_chart(fit(top_k_bar(trace.probs[-1], tokenizer.token_str,
                              title=_("The 10 most probable next tokens"))), key=f"{P}_topk")

# --- logit lens -------------------------------------------------------------------------------
st.header(_("Logit lens: what each block adds"))
st.markdown(_(
    "Stop the model after any block and read its residual stream with the final LayerNorm and "
    "the output layer: what would it predict then? Each cell shows the top guess for the token "
    "after that position, darker when more confident. The bottom row is the model's real "
    "output; in a trained model you can watch the guess form layer by layer."
))
st.plotly_chart(fit(logit_lens_figure(lens, trace.tokens,  # type: ignore[arg-type]
                                      tokenizer.token_str)), key=f"{P}_lens")

# --- every stage ------------------------------------------------------------------------------
st.header(_("Every stage, in order"))
st.markdown(_("Each step opens to show its numbers: every stage at once, for those who want the "
              "whole list. *Shape* lists the size of each axis; the batch axis (one prompt) is "
              "left out."))


def _show(s: Stage) -> None:
    label = _("{title} · shape {shape}").format(title=s.title, shape=tuple(s.shape))
    # lazy: a stage's figure is built only while its expander is open
    with st.expander(label, key=f"{P}_x_{s.layer}_{s.key}", on_change="rerun") as box:
        if box.open:
            _stage_body(s, key=f"{P}_fig_{s.layer}_{s.key}")


n_layer_model = max((s.layer for s in trace.stages if s.layer is not None), default=-1) + 1
st.subheader(_("Input: from text to vectors"))
for s in trace.stages:
    if s.key in ("ids", "tok_emb", "pos_emb", "embed"):
        _show(s)
for layer in range(n_layer_model):
    st.subheader(_("Block {block} of {blocks}: attention, then MLP").format(
        block=layer + 1, blocks=n_layer_model))
    for s in trace.stages:
        if s.layer == layer:
            _show(s)
st.subheader(_("Output: from vectors to the next token"))

for s in trace.stages:
    if s.key in ("ln_f", "logits", "probs", "next_token"):
        _show(s)
