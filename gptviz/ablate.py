"""Ablation: switch parts of a trained GPT off and measure what they did.

A part is an attention head, a block's MLP, or a whole block. Switching it off replaces its
output, never its weights (forward hooks, removed on exit):
- zero ablation: the part writes nothing into the residual stream;
- mean ablation: it writes its mean output over the training data, so what is removed is what
  the part does *differently* for each input, not its average push (TransformerLens's
  "mean ablation"; the mean is over every position of the batches given to `mean_outputs`).

What each part writes:
- head h of block l: its slice of the attention output, columns h*hs:(h+1)*hs of the input to
  `attn.c_proj` (the output projection mixes the heads; each head's contribution is its slice);
- the MLP of block l: the MLP's output, added to the stream;
- block l: attention and MLP together: the block returns its input plus (mean: the block's
  mean change to the stream; zero: nothing).

    with ablate(model, Ablation(heads=frozenset({(0, 1)}))):
        loss = model(x, y).loss        # head 1 of block 0 switched off
    # here the model is whole again
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch.utils.hooks import RemovableHandle

from gptviz.config import GPTConfig
from gptviz.i18n import N_, _
from gptviz.model import GPT

MODES = ("zero", "mean")
MODE_WORDS = {"zero": N_("zero ablation"), "mean": N_("mean ablation")}
Batch = tuple[torch.Tensor, torch.Tensor]  # (x, y), y = -1 where no loss is taken


def mode_text(mode: str) -> str:
    """'zero ablation', 'mean ablation', in the reader's language."""
    return _(MODE_WORDS[mode]) if mode in MODE_WORDS else f"{mode} ablation"


@dataclass(frozen=True)
class Ablation:
    """Which parts are off. Layers and heads count from 0; the page shows them from 1."""

    heads: frozenset[tuple[int, int]] = frozenset()  # (layer, head)
    mlps: frozenset[int] = frozenset()  # layer
    blocks: frozenset[int] = frozenset()  # layer: attention and MLP together
    mode: str = "zero"  # "zero" or "mean"

    def __bool__(self) -> bool:
        return bool(self.heads or self.mlps or self.blocks)

    def head_off(self, layer: int, head: int) -> bool:
        return (layer, head) in self.heads or layer in self.blocks

    def mlp_off(self, layer: int) -> bool:
        return layer in self.mlps or layer in self.blocks

    def check(self, config: GPTConfig) -> None:
        """ValueError with a sentence for the page if a part does not exist in this model."""
        if self.mode not in MODES:
            raise ValueError(f"Ablation mode must be one of {', '.join(MODES)}, "
                             f"not {self.mode!r}.")
        L, H = config.n_layer, config.n_head
        for layer, head in sorted(self.heads):
            if not (0 <= layer < L and 0 <= head < H):
                raise ValueError(_("This model has {layers} layer(s) of {heads} head(s): there "
                                   "is no head {head} in layer {layer}.").format(
                    layers=L, heads=H, head=head + 1, layer=layer + 1))
        for layer in sorted(self.mlps | self.blocks):
            if not 0 <= layer < L:
                raise ValueError(_("This model has {layers} layer(s): there is no layer "
                                   "{layer}.").format(layers=L, layer=layer + 1))

    def everything_off(self, config: GPTConfig) -> bool:
        """True when no head and no MLP is left: the model is its embeddings and output layer."""
        return all(self.mlp_off(layer) and all(self.head_off(layer, h)
                                               for h in range(config.n_head))
                   for layer in range(config.n_layer))

    def parts(self) -> list[str]:
        """E.g. ['head 2 of layer 1', 'the MLP of layer 2'], in the reader's language."""
        parts = [_("head {head} of layer {layer}").format(head=h + 1, layer=layer + 1)
                 for layer, h in sorted(self.heads) if layer not in self.blocks]
        parts += [_("the MLP of layer {layer}").format(layer=layer + 1)
                  for layer in sorted(self.mlps) if layer not in self.blocks]
        parts += [_("all of layer {layer}").format(layer=layer + 1)
                  for layer in sorted(self.blocks)]
        return parts

    def describe(self) -> str:
        """E.g. 'head 2 of layer 1, the MLP of layer 2 (zero ablation)'; 'nothing'."""
        parts = self.parts()
        if not parts:
            return _("nothing")
        return _("{parts} ({ablation})").format(parts=_(", ").join(parts),
                                                ablation=mode_text(self.mode))


@dataclass
class MeanOutputs:
    """Each part's mean output over some data (for mean ablation)."""

    heads: list[torch.Tensor] = field(default_factory=list)  # per layer, (n_head, head_size)
    mlps: list[torch.Tensor] = field(default_factory=list)  # per layer, (n_embd,)
    blocks: list[torch.Tensor] = field(default_factory=list)  # per layer, (n_embd,)


@torch.no_grad()
def mean_outputs(model: GPT, batches: Iterable[Batch]) -> MeanOutputs:
    """The mean of every head's, MLP's and block's output over every position of `batches`."""
    cfg = model.config
    hs = cfg.n_embd // cfg.n_head
    sums = {k: [torch.zeros(cfg.n_embd, dtype=torch.float64) for _ in range(cfg.n_layer)]
            for k in ("heads", "mlps", "blocks")}
    count = 0
    handles: list[RemovableHandle] = []

    def adder(kind: str, layer: int, delta_of_input: bool = False):  # noqa: ANN202
        def hook(module, args, output):  # noqa: ANN001, ANN202
            if kind == "heads":  # a pre-hook: args[0] is the heads' concatenated outputs
                value = args[0]
            elif delta_of_input:  # the block: what it adds to its input
                value = output[0] - args[0]
            else:
                value = output
            sums[kind][layer] += value.detach().double().sum(dim=(0, 1)).cpu()
        return hook

    for layer, block in enumerate(model.transformer.h):
        handles.append(block.attn.c_proj.register_forward_pre_hook(
            lambda m, a, layer=layer: adder("heads", layer)(m, a, None)))
        handles.append(block.mlp.register_forward_hook(adder("mlps", layer)))
        handles.append(block.register_forward_hook(adder("blocks", layer, True)))
    try:
        for x, _ in batches:
            x = x.to(model.device)
            model(x)
            count += x.numel()
    finally:
        for h in handles:
            h.remove()
    if count == 0:
        raise ValueError("Mean ablation needs some data to average over; none was given.")
    dtype = model.lm_head.weight.dtype
    return MeanOutputs(
        heads=[(s / count).to(dtype).view(cfg.n_head, hs).to(model.device)
               for s in sums["heads"]],
        mlps=[(s / count).to(dtype).to(model.device) for s in sums["mlps"]],
        blocks=[(s / count).to(dtype).to(model.device) for s in sums["blocks"]],
    )


class Hooks:
    """The hooks that hold an ablation on one model; `remove()` makes it whole again."""

    def __init__(self, model: GPT, ablation: Ablation, means: MeanOutputs | None = None) -> None:
        ablation.check(model.config)
        if ablation and ablation.mode == "mean" and means is None:
            raise ValueError("Mean ablation needs the parts' mean outputs (mean_outputs()).")
        self.ablation = ablation
        self._handles: list[RemovableHandle] = []
        cfg = model.config
        hs = cfg.n_embd // cfg.n_head
        mean = ablation.mode == "mean"
        for layer, block in enumerate(model.transformer.h):
            if layer in ablation.blocks:
                delta = means.blocks[layer] if mean and means else None
                self._handles.append(block.register_forward_hook(_block_hook(delta)))
                continue  # the block's own parts are off with it
            heads = sorted(h for lay, h in ablation.heads if lay == layer)
            if heads:
                values = means.heads[layer] if mean and means else None
                self._handles.append(block.attn.c_proj.register_forward_pre_hook(
                    _heads_hook(heads, hs, values)))
            if layer in ablation.mlps:
                value = means.mlps[layer] if mean and means else None
                self._handles.append(block.mlp.register_forward_hook(_mlp_hook(value)))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()


def _heads_hook(heads: Sequence[int], hs: int, means: torch.Tensor | None):  # noqa: ANN202
    def hook(module, args):  # noqa: ANN001, ANN202
        y = args[0].clone()
        for h in heads:
            y[..., h * hs:(h + 1) * hs] = 0.0 if means is None else means[h]
        return (y,) + tuple(args[1:])
    return hook


def _mlp_hook(mean: torch.Tensor | None):  # noqa: ANN202
    def hook(module, args, output):  # noqa: ANN001, ANN202
        return torch.zeros_like(output) if mean is None else mean.expand_as(output).clone()
    return hook


def _block_hook(mean_delta: torch.Tensor | None):  # noqa: ANN202
    def hook(module, args, output):  # noqa: ANN001, ANN202
        x = args[0]
        _, att = output
        return (x if mean_delta is None else x + mean_delta), att
    return hook


@contextmanager
def ablate(model: GPT, ablation: Ablation, means: MeanOutputs | None = None) -> Iterator[GPT]:
    """The model with `ablation` held inside the block; its weights are never touched."""
    hooks = Hooks(model, ablation, means)
    try:
        yield model
    finally:
        hooks.remove()


@torch.no_grad()
def mean_loss(model: GPT, batches: Sequence[Batch]) -> float:
    """Cross-entropy averaged over every scored target (y != -1) of `batches`."""
    total, n = 0.0, 0
    for x, y in batches:
        x, y = x.to(model.device), y.to(model.device)
        logits = model(x).logits
        scored = y != -1
        if not scored.any():
            continue
        total += torch.nn.functional.cross_entropy(
            logits[scored].float(), y[scored], reduction="sum").item()
        n += int(scored.sum())
    if n == 0:
        raise ValueError("These batches have no scored targets to measure a loss on.")
    return total / n


@dataclass(frozen=True)
class PartEffect:
    """The loss with one part switched off, against the whole model's."""

    layer: int
    head: int | None  # None: the layer's MLP
    loss: float
    base_loss: float

    @property
    def increase(self) -> float:
        return self.loss - self.base_loss

    @property
    def name(self) -> str:
        if self.head is None:
            return f"MLP {self.layer + 1}"
        return f"L{self.layer + 1} H{self.head + 1}"


def part_effects(model: GPT, batches: Sequence[Batch], mode: str = "zero",
                 means: MeanOutputs | None = None, mlps: bool = True) -> list[PartEffect]:
    """'What each head does': the loss with each head (and each MLP) alone switched off."""
    if mode == "mean" and means is None:
        means = mean_outputs(model, batches)
    base = mean_loss(model, batches)
    cfg = model.config
    out = []
    for layer in range(cfg.n_layer):
        for head in range(cfg.n_head):
            with ablate(model, Ablation(heads=frozenset({(layer, head)}), mode=mode), means):
                out.append(PartEffect(layer, head, mean_loss(model, batches), base))
        if mlps:
            with ablate(model, Ablation(mlps=frozenset({layer}), mode=mode), means):
                out.append(PartEffect(layer, None, mean_loss(model, batches), base))
    return out
