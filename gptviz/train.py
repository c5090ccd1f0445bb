"""The Trainer: AdamW steps on a task, N at a time, reporting through events.

It knows nothing of any UI: a page, a notebook or the command line subscribes to its events
(minGPT's callbacks) and decides how to show them; `run(n)` returns so a caller can advance it,
pause and resume.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from gptviz.config import ConfigError, GPTConfig, TrainConfig
from gptviz.model import GPT, GPTOutput
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


def auto_device() -> str:
    """"cuda" when PyTorch sees a CUDA GPU, else "cpu" (what a page should offer first)."""
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class Speedups:
    """How the Trainer runs a step. None means "decide from the device".

    None of these changes what is learned beyond float rounding, except bf16 autocast, whose
    rounding is coarser (nanoGPT trains in bf16 on GPUs too; bench/ checks the loss curve).
    """

    fused_optimizer: bool | None = None  # None: fused AdamW wherever PyTorch has it (CPU, CUDA)
    autocast: bool | None = None  # None: bf16 matmuls on a CUDA GPU that has them; never on CPU
    compile: bool = False  # torch.compile the training forward (CUDA only; ~1 min to start)


@dataclass(frozen=True)
class ResolvedSpeedups:
    """What the Trainer actually uses on its device (shown on pages and in bench/)."""

    fused_optimizer: bool
    autocast: bool
    compile: bool


def _resolve_speedups(s: Speedups, device: torch.device) -> ResolvedSpeedups:
    cuda = device.type == "cuda"
    bf16 = cuda and torch.cuda.is_bf16_supported()
    # autocast on the CPU is left off even when asked for: few CPUs have fast bf16 matmuls, and
    # for the small models trained here it only adds casts
    autocast = bf16 if s.autocast is None else (s.autocast and bf16)
    # torch.compile needs a C++ compiler on the CPU and takes longer to start than a lesson's
    # training run, so only a GPU gets it
    return ResolvedSpeedups(fused_optimizer=s.fused_optimizer is not False,
                            autocast=autocast, compile=s.compile and cuda)


def make_optimizer(model: torch.nn.Module, config: TrainConfig,
                   fused: bool = True) -> tuple[torch.optim.AdamW, bool]:
    """AdamW over every parameter, as document 000 (returns it and whether it is fused).

    The fused kernel updates all parameters in one call: for document 000's 41 small tensors
    that is most of the step's optimizer time (the per-tensor loop costs more than the maths).
    Its results equal the loop's up to float rounding.
    """
    params = list(model.parameters())
    if fused:
        try:
            return torch.optim.AdamW(params, lr=config.learning_rate,
                                     weight_decay=config.weight_decay, fused=True), True
        except (RuntimeError, ValueError):  # a device or dtype without the fused kernel
            pass
    return torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay,
                             foreach=True), False


def _non_finite(tensors: list[torch.Tensor]) -> torch.Tensor:
    """1.0 if any value in tensors is NaN or infinite, else 0.0, as a () tensor (no sync).

    PyTorch's gradient scaler's check: one fused pass over every tensor (12 us for document
    000's weights, against 80 for a norm per tensor). It also multiplies each tensor by
    inv_scale, here exactly 1.0, which leaves every value as it was.
    """
    found = torch.zeros((), device=tensors[0].device)
    with torch.no_grad():
        torch._amp_foreach_non_finite_check_and_unscale_(
            tensors, found, torch.ones((), device=tensors[0].device))
    return found


def build_model(config: GPTConfig, seed: int) -> GPT:
    """torch.manual_seed(seed) immediately before GPT(config), as in document 000."""
    torch.manual_seed(seed)
    return GPT(config)


class Trainer:
    def __init__(self, model: GPT, task: Task, config: TrainConfig,
                 speedups: Speedups | None = None) -> None:
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
        speed = _resolve_speedups(speedups or Speedups(), self.device)
        self.optimizer, fused = make_optimizer(model, config, speed.fused_optimizer)
        self.speedups = ResolvedSpeedups(fused, speed.autocast, speed.compile)
        # the training forward: compiled on request; analysis and attention capture always use
        # self.model itself, so they never trigger a recompilation or slow the training graph
        self._forward: Callable[..., GPTOutput] = (
            torch.compile(model, dynamic=False) if speed.compile else model)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step_count = 0
        self._callbacks: list[Callback] = []
        self._params: list[torch.nn.Parameter] = self.optimizer.param_groups[0]["params"]
        self._good: tuple[int, list[torch.Tensor], dict] | None = None
        self._last_batch: tuple[torch.Tensor, torch.Tensor] | None = None
        # (x, y, weights version, loss with its graph): a forward evaluate() already ran
        self._ready: tuple[torch.Tensor, torch.Tensor, tuple[int, ...], torch.Tensor] | None = None
        self._prefetched: tuple | None = None  # (task, batch_size, x, y, x on device, y on device)

    def add_callback(self, fn: Callback) -> None:
        self._callbacks.append(fn)

    def _emit(self, event: Event) -> None:
        for fn in self._callbacks:
            fn(event)

    def set_learning_rate(self, lr: float) -> None:
        """Change hyperparameters that need no new optimizer, keeping its state."""
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.speedups.autocast:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda":
            # from pinned memory the copy is asynchronous: no wait for the GPU to finish
            return t.pin_memory().to(self.device, non_blocking=True)
        return t.to(self.device)

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            return self._forward(self._to_device(x), self._to_device(y)).loss

    def _fetch(self) -> tuple[torch.Tensor, ...]:
        x, y = self.task.get_batch("train", self.config.batch_size, self.generator)
        return x, y, self._to_device(x), self._to_device(y)

    def _batch(self) -> tuple[torch.Tensor, ...]:
        """(x, y) as the task gave them, and on the device: the prefetched batch when it was
        sampled from the same task with the same batch size."""
        pre, self._prefetched = self._prefetched, None
        if pre is not None and pre[0] is self.task and pre[1] == self.config.batch_size:
            return pre[2:]
        return self._fetch()

    def _weights_version(self) -> tuple[int, ...]:
        # every in-place change to a parameter (an optimizer step, load_state_dict, a restore)
        # bumps its version counter
        return tuple(p._version for p in self._params)

    def step(self) -> StepEvent:
        t0 = time.perf_counter()
        if self._good is None or self.step_count % SNAPSHOT_EVERY == 0:
            self._save_good()
        if not self.model.training:  # a walk over every module: only when it changes anything
            self.model.train()
        x, y, xd, yd = self._batch()
        loss = self._take_ready_forward(x, y)
        if loss is None:
            with self._autocast():
                loss = self._forward(xd, yd).loss
        self._last_batch = (x, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self._params, self.config.grad_clip, foreach=True)
        self.optimizer.step()
        if self.device.type == "cuda":
            # sample the next batch and start its copy while the GPU is still busy with this
            # step, instead of after the sync below, when it would sit idle
            self._prefetched = (self.task, self.config.batch_size, *self._fetch())
        # One check, after the update, catches every way training breaks: a NaN or infinite
        # loss or gradient makes NaN weights, and so does a finite update that overflows them
        # (a huge learning rate times weight decay). The loss and the flag are read together:
        # one GPU sync per step.
        loss_value, broken = torch.stack([loss.detach().float(),
                                          _non_finite(self._params)]).tolist()
        if not math.isfinite(loss_value):
            self._diverged(f"The loss became {loss_value}")
        if broken:
            self._diverged("The weights became infinite")
        self.step_count += 1
        event = StepEvent(self.step_count, loss_value, time.perf_counter() - t0, x.numel())
        self._emit(event)
        return event

    def _take_ready_forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """The loss evaluate() computed, with its graph, when it is this step's forward."""
        ready, self._ready = self._ready, None
        if ready is None:
            return None
        rx, ry, version, loss = ready
        same = rx is x and ry is y and version == self._weights_version()
        return loss if same else None

    def _save_good(self) -> None:
        """Keep a copy of a known-good state to fall back on, every SNAPSHOT_EVERY steps.

        Plain tensor clones: a deepcopy of the two state_dicts cost 20 times more.
        """
        with torch.no_grad():
            params = [p.detach().clone() for p in self._params]
            opt_state = {p: {k: (v.clone() if isinstance(v, torch.Tensor) else v)
                             for k, v in s.items()}
                         for p, s in self.optimizer.state.items()}
        self._good = (self.step_count, params, opt_state)

    def _diverged(self, what: str) -> None:
        failed = self.step_count + 1
        step, params, opt_state = self._good
        with torch.no_grad():
            for p, saved in zip(self._params, params, strict=True):
                p.copy_(saved)
        # clones again, so the saved state survives a second divergence; the learning rate
        # stays whatever the user has set since
        self.optimizer.state = defaultdict(dict, {
            p: {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
            for p, s in opt_state.items()})
        self.optimizer.zero_grad(set_to_none=True)
        self._ready = None
        self.step_count = step
        raise TrainingDiverged(
            f"{what} at step {failed}: the learning rate "
            f"({self.config.learning_rate:g}) is probably too high. The model was put back as it "
            f"was at step {step}, its last good state; lower the learning rate and train on."
        )

    def evaluate(self) -> EvalEvent:
        # The mode only switches dropout; with none, the walk over every module is skipped.
        if self.model.config.dropout > 0:
            self.model.eval()
        self._ready = None
        losses = {}
        for split in ("train", "val"):
            if not self.task.has_split(split):
                continue
            gen = torch.Generator().manual_seed(self.config.seed + 1)  # same batches each time
            batch_losses: list[torch.Tensor] = []
            last: tuple[torch.Tensor, torch.Tensor] | None = None
            for _ in range(self.config.eval_batches):
                x, y = self.task.get_batch(split, self.config.batch_size, gen)
                if last is not None and x is last[0] and y is last[1]:
                    # the task handed back the very same tensors (all of its examples): the
                    # same loss again, without running the model again
                    batch_losses.append(batch_losses[-1])
                    continue
                last = (x, y)
                batch_losses.append(self._eval_loss(split, x, y))
            # one sync for all batches; summed in Python as before, so the numbers are unchanged
            losses[split] = sum(torch.stack(batch_losses).tolist()) / self.config.eval_batches
        with torch.no_grad():  # not inference mode: a task may keep tensors it makes here
            metrics = self.task.metrics(self.model)
        event = EvalEvent(self.step_count, losses["train"], losses.get("val"), metrics)
        self._emit(event)
        return event

    def _eval_loss(self, split: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss of one evaluation batch, (). When that batch is the training batch itself
        (a task whose every step trains on all of its examples, as document 000) and there is
        no dropout, the next step's forward would compute exactly this: it is run once, with
        its graph, and the next step starts from it (the page's evaluation every step is then
        nearly free)."""
        if (split == "train" and self._last_batch is not None and x is self._last_batch[0]
                and y is self._last_batch[1] and self.model.config.dropout == 0):
            if not self.model.training:
                self.model.train()
            loss = self._loss(x, y)
            self._ready = (x, y, self._weights_version(), loss)
            return loss.detach().float()
        with torch.inference_mode():
            return self._loss(x, y).float()

    def run(self, n: int, should_stop: Callable[[], bool] | None = None) -> int:
        """Run up to n steps, evaluating every eval_interval; returns the steps taken."""
        done = 0
        while done < n and not (should_stop and should_stop()):
            self.step()
            done += 1
            if self.step_count % self.config.eval_interval == 0:
                self.evaluate()
        return done
