"""The Trainer: AdamW steps on a task, N at a time, reporting through events.

It knows nothing of any UI: a page, a notebook or the command line subscribes to its events
(minGPT's callbacks) and decides how to show them; `run(n)` returns so a caller can advance it,
pause and resume.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.nn.utils import get_total_norm

from gptviz.config import ConfigError, GPTConfig, TrainConfig
from gptviz.model import GPT
from gptviz.tasks.base import Task

SNAPSHOT_EVERY = 25  # steps between copies of a known-good state (weights and optimizer)


class TrainingDiverged(RuntimeError):
    """The loss or the weights became NaN or infinite; the last good state was restored."""


@dataclass(frozen=True)
class StepEvent:
    step: int  # steps completed, this one included
    loss: float  # training loss of this step's batch
    seconds: float  # wall time of this step
    tokens: int  # tokens in this step's batch


@dataclass(frozen=True)
class EvalEvent:
    step: int
    train_loss: float
    val_loss: float | None
    metrics: dict[str, float] = field(default_factory=dict)


Event = StepEvent | EvalEvent
Callback = Callable[[Event], None]


def resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA was chosen, but PyTorch finds no CUDA GPU on this machine. "
                          "Choose the CPU.")
    return torch.device(name)


def build_model(config: GPTConfig, seed: int) -> GPT:
    """torch.manual_seed(seed) immediately before GPT(config), as in document 000."""
    torch.manual_seed(seed)
    return GPT(config)


class Trainer:
    def __init__(self, model: GPT, task: Task, config: TrainConfig) -> None:
        config.validate()
        if task.vocab_size > model.config.vocab_size:
            raise ConfigError(f"The task has {task.vocab_size} tokens but the model only "
                              f"{model.config.vocab_size}.")
        if task.block_size > model.config.block_size:
            raise ConfigError(f"The task's examples are {task.block_size} tokens long but the "
                              f"model's context is {model.config.block_size}.")
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.task = task
        self.config = config
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step_count = 0
        self._callbacks: list[Callback] = []
        self._good: tuple[int, dict, dict] | None = None

    def add_callback(self, fn: Callback) -> None:
        self._callbacks.append(fn)

    def _emit(self, event: Event) -> None:
        for fn in self._callbacks:
            fn(event)

    def set_learning_rate(self, lr: float) -> None:
        """Change hyperparameters that need no new optimizer, keeping its state."""
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def step(self) -> StepEvent:
        t0 = time.perf_counter()
        if self._good is None or self.step_count % SNAPSHOT_EVERY == 0:
            self._save_good()
        self.model.train()
        x, y = self.task.get_batch("train", self.config.batch_size, self.generator)
        x, y = x.to(self.device), y.to(self.device)
        loss = self.model(x, y).loss
        if not torch.isfinite(loss):
            self._diverged(f"The loss became {loss.item()}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        if not torch.isfinite(get_total_norm([p.detach() for p in self.model.parameters()])):
            self._diverged("The weights became infinite")
        self.step_count += 1
        event = StepEvent(self.step_count, loss.item(), time.perf_counter() - t0, x.numel())
        self._emit(event)
        return event

    def _save_good(self) -> None:
        """Keep a copy of a known-good state to fall back on (cheap: every few steps)."""
        self._good = (self.step_count, copy.deepcopy(self.model.state_dict()),
                      copy.deepcopy(self.optimizer.state_dict()))

    def _diverged(self, what: str) -> None:
        step, model_state, opt_state = self._good
        self.model.load_state_dict(model_state)
        self.optimizer.load_state_dict(opt_state)
        self.step_count = step
        raise TrainingDiverged(
            f"{what} at step {self.step_count + 1}: the learning rate "
            f"({self.config.learning_rate:g}) is probably too high. The model was put back as it "
            f"was at step {step}, its last good state; lower the learning rate and train on."
        )

    @torch.no_grad()
    def evaluate(self) -> EvalEvent:
        self.model.eval()
        losses = {}
        for split in ("train", "val"):
            if not self.task.has_split(split):
                continue
            gen = torch.Generator().manual_seed(self.config.seed + 1)  # same batches each time
            total = 0.0
            for _ in range(self.config.eval_batches):
                x, y = self.task.get_batch(split, self.config.batch_size, gen)
                total += self.model(x.to(self.device), y.to(self.device)).loss.item()
            losses[split] = total / self.config.eval_batches
        event = EvalEvent(self.step_count, losses["train"], losses.get("val"),
                          self.task.metrics(self.model))
        self._emit(event)
        return event

    def run(self, n: int, should_stop: Callable[[], bool] | None = None) -> int:
        """Run up to n steps, evaluating every eval_interval; returns the steps taken."""
        done = 0
        while done < n and not (should_stop and should_stop()):
            self.step()
            done += 1
            if self.step_count % self.config.eval_interval == 0:
                self.evaluate()
        return done
