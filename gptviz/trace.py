"""The forward pass by hand, stage by stage (document 002), and the logit lens.

`trace_forward` recomputes what `GPT.forward` does, one small step at a time, and keeps every
intermediate tensor with a name and a plain-language explanation, so a page can show the whole
path from token ids to the next token. Dropout is left out (the model is traced in eval mode,
then put back): the trace shows what the model computes when it is used, not during a training
step. Hooks on the model hold in the trace too, so an ablation (gptviz/ablate.py) shows: a head
switched off writes nothing (or its mean) into attn_out, an MLP switched off into mlp_out, and a
block switched off returns its input (plus its mean change) as resid_mlp, whatever its parts
computed. Tests check the trace against `model(idx)` itself, whole and ablated.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from gptviz.config import GPTConfig
from gptviz.i18n import _
from gptviz.model import GPT
from gptviz.tokenizers import Tokenizer


@dataclass(frozen=True)
class Stage:
    """One intermediate result of the forward pass, for a single sequence (no batch axis)."""

    key: str  # stable id, e.g. "attn_weights"
    name: str  # heading for people, e.g. "Attention weights (softmax)"
    explanation: str
    tensor: torch.Tensor  # detached, on the CPU
    axes: tuple[str, ...]  # what each axis means, e.g. ("head", "query position", "key position")
    layer: int | None = None  # block index (0-based) or None outside the blocks
    text: str | None = None  # for the last stage: the decoded token

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)

    @property
    def title(self) -> str:
        if self.layer is None:
            return self.name
        return _("Block {block} · {name}").format(block=self.layer + 1, name=self.name)


@dataclass
class ForwardTrace:
    ids: list[int]
    tokens: list[str]  # readable text of each input token
    stages: list[Stage] = field(default_factory=list)

    def get(self, key: str, layer: int | None = None) -> Stage:
        for s in self.stages:
            if s.key == key and s.layer == layer:
                return s
        raise KeyError(f"No stage {key!r} at layer index {layer} (0-based).")

    @property
    def logits(self) -> torch.Tensor:
        return self.get("logits").tensor  # (T, V)

    @property
    def probs(self) -> torch.Tensor:
        return self.get("probs").tensor  # (T, V)

    @property
    def next_id(self) -> int:
        return int(self.get("next_token").tensor.item())

    @property
    def next_text(self) -> str | None:
        return self.get("next_token").text


def _as_ids(idx: torch.Tensor | Sequence[int]) -> torch.Tensor:
    t = torch.as_tensor(idx, dtype=torch.long)
    if t.dim() == 2:
        if t.size(0) != 1:
            raise ValueError("trace_forward follows one sequence: idx must be (T,) or (1, T).")
        t = t[0]
    if t.dim() != 1 or t.numel() == 0:
        raise ValueError("idx must hold at least one token id.")
    return t


def _walk(model: GPT, idx: torch.Tensor) -> Iterator[tuple[str, int | None, torch.Tensor]]:
    """GPT.forward by hand, yielding (key, layer, tensor) for a (1, T) batch, without dropout."""
    cfg = model.config
    T = idx.size(1)
    if T > cfg.block_size:
        raise ValueError(f"The prompt has {T} tokens; the model's context length is "
                         f"{cfg.block_size}.")
    tr = model.transformer
    tok = tr.wte(idx)  # (1, T, C)
    pos = tr.wpe(torch.arange(T, device=idx.device))  # (T, C)
    yield "tok_emb", None, tok
    yield "pos_emb", None, pos.unsqueeze(0)
    x = tok + pos  # (1, T, C)
    yield "embed", None, x
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool, device=idx.device))  # (T, T)
    for layer, block in enumerate(tr.h):
        x_in = x
        h = block.ln_1(x)
        yield "ln_1", layer, h
        q, k, v = block.attn.qkv(h)  # each (1, nh, T, hs)
        yield "q", layer, q
        yield "k", layer, k
        yield "v", layer, v
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))  # (1, nh, T, T)
        yield "scores", layer, scores
        masked = scores.masked_fill(~mask, float("-inf"))
        yield "masked_scores", layer, masked
        att = F.softmax(masked, dim=-1)  # (1, nh, T, T), rows sum to 1
        yield "attn_weights", layer, att
        ctx = att @ v  # (1, nh, T, hs)
        yield "context", layer, ctx
        y = ctx.transpose(1, 2).contiguous().view(1, T, cfg.n_embd)  # heads side by side
        a = block.attn.c_proj(y)  # (1, T, C); a hook here can switch heads off
        yield "attn_out", layer, a
        x = x + a
        yield "resid_attn", layer, x
        h = block.ln_2(x)
        yield "ln_2", layer, h
        hidden = block.mlp.gelu(block.mlp.c_fc(h))  # (1, T, 4C)
        yield "mlp_hidden", layer, hidden
        m = block.mlp(h)  # (1, T, C): c_proj(hidden), through the module so its hooks hold
        yield "mlp_out", layer, m
        x = x + m
        if block._forward_hooks or block._forward_pre_hooks:  # e.g. the whole block ablated
            x = block(x_in)[0]
        yield "resid_mlp", layer, x
    x = tr.ln_f(x)
    yield "ln_f", None, x
    logits = model.lm_head(x)  # (1, T, V)
    yield "logits", None, logits
    yield "probs", None, F.softmax(logits.float(), dim=-1)


def _explain(key: str, cfg: GPTConfig, T: int,
             layer: int | None) -> tuple[str, str, tuple[str, ...]]:
    """(name, explanation, axes) of a stage, with this model's sizes filled in."""
    C, V, nh = cfg.n_embd, cfg.vocab_size, cfg.n_head
    hs = C // nh
    where = _("block {block}").format(block=layer + 1) if layer is not None else ""
    tc = ("position", "dimension")
    qk = ("head", "query position", "key position")
    table = {
        "ids": (_("Token ids"), _("The tokenizer turned the prompt into {T} token ids, one "
                                  "integer per token, each below the vocabulary size {V}. This is "
                                  "all the model ever sees.").format(T=T, V=V),
                ("position",)),
        "tok_emb": (_("Token embeddings"), _("Each id picks one row of the token embedding table "
                                             "wte ({V} × {C}): every token becomes a vector of {C} "
                                             "numbers. Document 002 does this with "
                                             "nn.Embedding(50257, 768).").format(V=V, C=C), tc),
        "pos_emb": (_("Position embeddings"), _("A second table, wpe ({block_size} × {C}), gives "
                                                "each position 0..{last} its own vector, so the "
                                                "model can tell the first token from the last."
                                                ).format(block_size=cfg.block_size, C=C,
                                                         last=T - 1), tc),
        "embed": (_("Token + position"), _("The two are added. This sum is the start of the "
                                           "residual stream: every block reads it and adds its own "
                                           "contribution to it."), tc),
        "ln_1": (_("LayerNorm 1"), _("Before attention, {where} rescales each token's vector to "
                                     "mean 0 and variance 1 (then a learned scale and shift)."
                                     ).format(where=where), tc),
        "q": (_("Queries Q"), _("A linear layer (W_q) makes a query per token, split into {nh} "
                                "heads of {hs} numbers: what this token is looking for."
                                ).format(nh=nh, hs=hs),
              ("head", "position", "dimension")),
        "k": (_("Keys K"), _("W_k makes a key per token and head ({hs} numbers): what this token "
                             "offers to the tokens that look at it.").format(hs=hs),
              ("head", "position", "dimension")),
        "v": (_("Values V"), _("W_v makes a value per token and head ({hs} numbers): what this "
                               "token passes on when it is attended to.").format(hs=hs),
              ("head", "position", "dimension")),
        "scores": (_("Attention scores q·k / √hs"), _("Every query is compared with every key: "
                                                      "q @ kᵀ, divided by √{hs} so the numbers "
                                                      "stay moderate. Row = the token looking, "
                                                      "column = the token looked at."
                                                      ).format(hs=hs), qk),
        "masked_scores": (_("Causal mask"), _("A token may not look ahead: scores for later "
                                              "positions (above the diagonal) are set to −∞ (blank "
                                              "here), so they get zero weight. Document 002 skips "
                                              "this; GPT needs it to learn to predict."), qk),
        "attn_weights": (_("Attention weights (softmax)"), _("Softmax turns each row of scores "
                                                             "into weights that are ≥ 0 and sum "
                                                             "to 1: how much each token takes "
                                                             "from each earlier token. Masked "
                                                             "places get exactly 0."), qk),
        "context": (_("Context vectors (weights @ V)"), _("Each token's new vector is the "
                                                          "weighted average of the values it "
                                                          "attends to: attn_weights @ V."),
                    ("head", "position", "dimension")),
        "attn_out": (_("Attention output (c_proj)"), _("The {nh} heads' context vectors are put "
                                                       "side by side ({nh} × {hs} = {C}) and "
                                                       "mixed by one more linear layer, c_proj."
                                                       ).format(nh=nh, hs=hs, C=C), tc),
        "resid_attn": (_("Residual: x + attention"), _("The attention output is added to the "
                                                       "residual stream rather than replacing "
                                                       "it."), tc),
        "ln_2": (_("LayerNorm 2"), _("Normalise again, before the MLP."), tc),
        "mlp_hidden": (_("MLP hidden layer (after GELU)"), _("Each token on its own goes through "
                                                             "a linear layer to {hidden} numbers "
                                                             "and the GELU non-linearity: the MLP "
                                                             "works per token, attention is where "
                                                             "tokens meet.").format(hidden=4 * C),
                       ("position", "hidden unit")),
        "mlp_out": (_("MLP output"), _("A second linear layer brings the {hidden} numbers back to "
                                       "{C}.").format(hidden=4 * C, C=C), tc),
        "resid_mlp": (_("Residual: x + MLP"), _("Added to the residual stream: this is the output "
                                                "of {where}, the input of the next."
                                                ).format(where=where), tc),
        "ln_f": (_("Final LayerNorm"), _("After the last block, one more LayerNorm."), tc),
        "logits": (_("Logits"), _("The output layer lm_head ({C} → {V}) scores every token of "
                                  "the vocabulary at every position (document 002: Linear(768, "
                                  "50257)). Only the last position predicts the token after the "
                                  "prompt.").format(C=C, V=V),
                   ("position", "vocabulary")),
        "probs": (_("Probabilities (softmax)"), _("Softmax turns each position's logits into a "
                                                  "probability distribution over the next "
                                                  "token."),
                  ("position", "vocabulary")),
        "next_token": (_("Chosen token (argmax)"), _("The most probable token at the last "
                                                     "position is the prediction; the tokenizer "
                                                     "decodes it back to text. An untrained model "
                                                     "picks an arbitrary token (document 002 got "
                                                     "'Republican')."),
                       ("token",)),
    }
    return table[key]


@contextmanager
def _eval(model: GPT) -> Iterator[GPT]:
    """The model in eval mode (no dropout) inside the block, in its own mode again after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.no_grad()
def trace_forward(model: GPT, idx: torch.Tensor | Sequence[int],
                  tokenizer: Tokenizer | None = None) -> ForwardTrace:
    """Every stage of the forward pass for one sequence idx ((T,) or (1, T) token ids).

    Tensors lose the batch axis: (T, C) vectors, (nh, T, hs) per-head vectors, (nh, T, T)
    attention, (T, V) logits and probabilities.
    """
    ids = _as_ids(idx)
    T = ids.numel()
    cfg = model.config
    tokens = [tokenizer.token_str(int(i)) for i in ids] if tokenizer else [str(int(i))
                                                                          for i in ids]
    trace = ForwardTrace(ids=ids.tolist(), tokens=tokens)

    def add(key: str, layer: int | None, t: torch.Tensor, text: str | None = None) -> None:
        name, explanation, axes = _explain(key, cfg, T, layer)
        trace.stages.append(Stage(key, name, explanation, t.detach().cpu(), axes, layer, text))

    add("ids", None, ids.clone())
    with _eval(model):
        for key, layer, t in _walk(model, ids.unsqueeze(0).to(model.device)):
            add(key, layer, t[0])
    next_id = int(trace.probs[-1].argmax())
    add("next_token", None, torch.tensor([next_id]),
        tokenizer.decode([next_id]) if tokenizer else None)
    return trace


@torch.no_grad()
def logit_lens(model: GPT, idx: torch.Tensor | Sequence[int]) -> torch.Tensor:
    """P(next token) read off the residual stream after the embeddings and after each block.

    The residual stream at each depth goes through the final LayerNorm and the output layer, as
    if the model stopped there. Returns (n_layer + 1, T, V): row 0 = embeddings only, row l =
    after block l; the last row is the model's own output.
    """
    ids = _as_ids(idx).unsqueeze(0).to(model.device)
    with _eval(model):
        rows = [t for key, _, t in _walk(model, ids) if key in ("embed", "resid_mlp")]
        resid = torch.cat(rows, dim=0)  # (n_layer + 1, T, C)
        logits = model.lm_head(model.transformer.ln_f(resid))
    return F.softmax(logits.float(), dim=-1).cpu()
