"""What switching parts of a trained GPT off does, measured for a page (gptviz/ablate.py does
the switching).

- `whole_copy(model)`: the model's weights in a fresh GPT with no hooks, so that a report
  compares against the whole model even while an ablation is held on the original;
- `evaluation_batches(task, config)`: the batches the Trainer's evaluation averages, per split
  (the same seeds), so "the loss with every part on" is the page's own evaluation loss;
- `ablation_report(model, ablation, batches, means, task)`: the loss on each split, and the
  task's metrics (held-out accuracy), with every part on and with the ablation's parts off;
- `arrow_changes(states, before, after, context)`: Baby GPT's arrows, sorted by how far the
  ablation moved their probability;
- `held_text(ablation, training)`: the status line's words for an ablation that is held.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from gptviz.ablate import (
    Ablation,
    Batch,
    MeanOutputs,
    ablate,
    mean_loss,
    mean_outputs,
    mode_text,
)
from gptviz.analysis import State, next_state
from gptviz.config import TrainConfig
from gptviz.i18n import _
from gptviz.model import GPT
from gptviz.tasks.base import Task

SPLITS = ("train", "val")


def whole_copy(model: GPT) -> GPT:
    """A new GPT with `model`'s weights, on its device, in eval mode, without any hook.

    Hooks are not part of a state_dict, so an ablation held on `model` (LiveRun.set_ablation)
    is not copied. Building the GPT draws its initial weights from torch's global generator;
    that draw is forked off, so making a copy never changes what a later seeded call draws.
    """
    with torch.random.fork_rng(devices=[]):
        fresh = GPT(model.config)
    fresh.load_state_dict(model.state_dict())
    return fresh.to(model.device).eval()


def evaluation_batches(task: Task, config: TrainConfig) -> dict[str, list[Batch]]:
    """Per split the task has, the batches Trainer.evaluate averages: config.eval_batches of
    config.batch_size examples (all of them where the task says so), drawn with its seed."""
    out = {}
    for split in SPLITS:
        if task.has_split(split):
            gen = torch.Generator().manual_seed(config.seed + 1)  # as Trainer.evaluate
            out[split] = task.eval_batches(split, config.batch_size, config.eval_batches, gen)
    return out


@dataclass(frozen=True)
class AblationReport:
    """The model with every part on against the model with `ablation`'s parts off."""

    ablation: Ablation
    loss_before: dict[str, float]  # split -> mean loss per scored token, every part on
    loss_after: dict[str, float]  # ... with the ablation's parts off
    metrics_before: dict[str, float]  # Task.metrics, e.g. {"accuracy": held-out exact match}
    metrics_after: dict[str, float]
    everything_off: bool  # no head and no MLP left: embeddings and the output layer only

    def loss_change(self, split: str) -> float:
        return self.loss_after[split] - self.loss_before[split]


def ablation_report(model: GPT, ablation: Ablation, batches: Mapping[str, Sequence[Batch]],
                    means: MeanOutputs | None = None, task: Task | None = None) -> AblationReport:
    """The loss on each split of `batches` and `task.metrics` with every part of `model` on,
    then again inside `ablate(model, ablation, means)`. `model` must have no ablation held
    (whole_copy gives one); for mean ablation without `means`, the means over
    batches["train"] are used. The weights are never changed."""
    ablation.check(model.config)
    if ablation and ablation.mode == "mean" and means is None:
        means = mean_outputs(model, batches["train"])

    def measure() -> tuple[dict[str, float], dict[str, float]]:
        losses = {split: mean_loss(model, b) for split, b in batches.items()}
        with torch.no_grad():
            metrics = task.metrics(model) if task is not None else {}
        return losses, metrics

    loss_before, metrics_before = measure()
    with ablate(model, ablation, means):
        loss_after, metrics_after = measure()
    return AblationReport(ablation, loss_before, loss_after, metrics_before, metrics_after,
                          bool(ablation) and ablation.everything_off(model.config))


@dataclass(frozen=True)
class ArrowChange:
    """One arrow of the chain: state --token--> next, its probability before and after."""

    state: State
    token: int
    next: State
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


def arrow_changes(states: Sequence[State], before: npt.ArrayLike, after: npt.ArrayLike,
                  context: int) -> list[ArrowChange]:
    """Every arrow (state, token), the one that moved most first (ties in state order).

    before, after: (S, V) next-token probabilities at each state (model_transition_probs of the
    whole model and of the ablated one)."""
    p, q = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if p.shape != q.shape or p.ndim != 2 or p.shape[0] != len(states):
        raise ValueError(f"{len(states)} states, probabilities of shapes {p.shape} and "
                         f"{q.shape}")
    out = [ArrowChange(tuple(s), t, next_state(tuple(s), t, context), float(p[i, t]),
                       float(q[i, t]))
           for i, s in enumerate(states) for t in range(p.shape[1])]
    order = sorted(range(len(out)), key=lambda k: (-abs(out[k].change), k))
    return [out[k] for k in order]


def parts_off(ablation: Ablation) -> str:
    """'head 2 of layer 1 and the MLP of layer 2': the parts, without the mode."""
    parts = ablation.parts() or [_("nothing")]
    if len(parts) == 1:
        return parts[0]
    return _("{parts} and {last}").format(parts=_(", ").join(parts[:-1]), last=parts[-1])


def held_text(ablation: Ablation, training: bool, since: int | None = None) -> str:
    """The status line's words for a held ablation ('' when none is held); since: the step
    it was put on (LiveRun.ablation_step), so that curves and samples from before read right."""
    if not ablation:
        return ""
    parts, mode = parts_off(ablation), mode_text(ablation.mode)
    if training:
        if since is not None:
            return _("training with {parts} off since step {step:,} ({ablation})").format(
                parts=parts, step=since, ablation=mode)
        return _("training with {parts} off ({ablation})").format(parts=parts, ablation=mode)
    if since is not None:
        return _("model with {parts} off since step {step:,} ({ablation})").format(
            parts=parts, step=since, ablation=mode)
    return _("model with {parts} off ({ablation})").format(parts=parts, ablation=mode)
