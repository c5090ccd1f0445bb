"""The Trainer: AdamW steps on a task, N at a time, reporting through events.

It knows nothing of any UI: a page, a notebook or the command line subscribes to its events
(minGPT's callbacks) and decides how to show them; `run(n)` returns so a caller can advance it,
pause and resume.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from gptviz.config import ConfigError, GPTConfig, TrainConfig
from gptviz.i18n import _
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
    lr: float = 0.0  # the learning rate this step used


def lr_at(config: TrainConfig, step: int) -> float:
    """The learning rate of step `step` (0-based), as nanoGPT's train.py get_lr computes it."""
    peak = config.learning_rate
    if step < config.warmup_steps:
        return peak * (step + 1) / (config.warmup_steps + 1)
    if config.schedule == "constant":
        return peak
    end = config.schedule_steps
    if step > end:
        return config.min_lr
    ratio = (step - config.warmup_steps) / (end - config.warmup_steps)
    return config.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (peak - config.min_lr)


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
        raise ConfigError(_("CUDA was chosen, but PyTorch finds no CUDA GPU on this machine. "
                            "Choose the CPU."))
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


def param_groups(model: torch.nn.Module, config: TrainConfig) -> list[dict]:
    """AdamW's parameter groups: every parameter decayed (document 000), or, with
    decay_matrices_only, nanoGPT's two groups: tensors of 2+ dimensions decayed, the rest not.
    Each group says whether it is decayed, so a new weight decay reaches the right ones."""
    params = list(model.parameters())
    if not config.decay_matrices_only:
        return [{"params": params, "weight_decay": config.weight_decay, "decayed": True}]
    return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay,
             "decayed": True},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0,
             "decayed": False}]


def make_optimizer(model: torch.nn.Module, config: TrainConfig,
                   fused: bool = True) -> tuple[torch.optim.AdamW, bool]:
    """AdamW (returns it and whether it is fused), over param_groups(model, config).

    The fused kernel updates all parameters in one call: for document 000's 41 small tensors
    that is most of the step's optimizer time (the per-tensor loop costs more than the maths).
    Its results equal the loop's up to float rounding.
    """
    groups = param_groups(model, config)
    if fused:
        try:
            return torch.optim.AdamW(groups, lr=config.learning_rate, fused=True), True
        except (RuntimeError, ValueError):  # a device or dtype without the fused kernel
            pass
    return torch.optim.AdamW(groups, lr=config.learning_rate, foreach=True), False


def _non_finite(tensors: list[torch.Tensor]) -> torch.Tensor:
    """1.0 if any value in tensors is NaN or infinite, else 0.0, as a () tensor (no sync).

    PyTorch's gradient scaler's check (a private op, kept because it is measured to pay): one
    fused pass over every tensor, 27 us for document 000's 41 weights against 125-150 us for
    the public ways (get_total_norm, a torch.cat, _foreach_norm), 1.5% of its 7.7 ms step. It
    also multiplies each tensor by inv_scale, here exactly 1.0, which leaves every value as it
    was.
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


class _ReadyForward:
    """evaluate()'s forward on the training batch, kept with its graph for the next step.

    When every step trains on all of a task's examples (document 000: its 12 windows) and the
    page evaluates after every step (Baby GPT), the next step's forward computes exactly what
    evaluate() just did: same weights, same batch, same mode. Running it once instead of twice
    takes a step plus its evaluation from 3.41 to 2.61 ms (medians of 7 paired runs of 200
    steps, document 000's model, one thread, 2026-12-01): 0.74x. It is used only if the batch
    is equal and no weight changed in between: every in-place change to a parameter (an
    optimizer step, load_state_dict, a restore) bumps its version counter (Tensor._version,
    the counter autograd itself checks before a backward; reading it costs about 5 us for
    document 000's 41 tensors).
    """

    def __init__(self, params: list[torch.nn.Parameter]) -> None:
        self._params = params
        self._kept: tuple[tuple[int, ...], torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def _versions(self) -> tuple[int, ...]:
        return tuple(p._version for p in self._params)

    def keep(self, x: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None:
        self._kept = (self._versions(), x, y, loss)

    def take(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        kept, self._kept = self._kept, None
        if kept is None:
            return None
        versions, kx, ky, loss = kept
        same = (versions == self._versions() and kx.shape == x.shape and ky.shape == y.shape
                and torch.equal(kx, x) and torch.equal(ky, y))
        return loss if same else None

    def forget(self) -> None:
        self._kept = None


class _GoodState:
    """A copy of the weights and AdamW's moments every SNAPSHOT_EVERY steps, to fall back on
    when training diverges. Plain tensor clones: a deepcopy of the state_dicts cost 20x more."""

    def __init__(self) -> None:
        self.step = -1
        self._params: list[torch.Tensor] = []
        self._opt: dict = {}

    def save(self, step: int, params: list[torch.nn.Parameter],
             optimizer: torch.optim.Optimizer) -> None:
        with torch.no_grad():
            self._params = [p.detach().clone() for p in params]
            self._opt = _clone_state(optimizer.state)
        self.step = step

    def restore(self, params: list[torch.nn.Parameter], optimizer: torch.optim.Optimizer) -> int:
        with torch.no_grad():
            for p, saved in zip(params, self._params, strict=True):
                p.copy_(saved)
        # clones again, so the saved state survives a second divergence; the learning rate
        # stays whatever the user has set since
        optimizer.state = defaultdict(dict, _clone_state(self._opt))
        optimizer.zero_grad(set_to_none=True)
        return self.step


def _clone_state(state: dict) -> dict:
    return {p: {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
            for p, s in state.items()}


class Trainer:
    def __init__(self, model: GPT, task: Task, config: TrainConfig,
                 speedups: Speedups | None = None) -> None:
        config.validate()
        self._check_task(task, model)
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.task = task
        self.config = config
        speed = _resolve_speedups(speedups or Speedups(), self.device)
        # AdamW is built at its first use (the first step, a checkpoint, a test that reads it):
        # a trainer a page shows but has not trained needs none, and PyTorch's first optimizer
        # in a process imports torch._dynamo, 0.8 s here, which a page's first visit then
        # waited for (README, Benchmarks: First paint). The result is the same AdamW.
        self._speed = speed
        self._optimizer: torch.optim.AdamW | None = None
        self._fused = False
        self._optimizer_lock = threading.Lock()  # the page's thread or the training thread
        # the training forward: compiled on request; analysis and attention capture always use
        # self.model itself, so they never trigger a recompilation or slow the training graph
        self._forward: Callable[..., GPTOutput] = (
            torch.compile(model, dynamic=False) if speed.compile else model)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step_count = 0
        self._callbacks: list[Callback] = []
        self._params: list[torch.nn.Parameter] = list(model.parameters())
        self._good = _GoodState()
        self._ready = _ReadyForward(self._params)

    @property
    def optimizer(self) -> torch.optim.AdamW:
        """AdamW over the model, with this trainer's current learning rate and weight decay."""
        if self._optimizer is None:
            with self._optimizer_lock:
                if self._optimizer is None:
                    self._optimizer, self._fused = make_optimizer(
                        self.model, self.config, self._speed.fused_optimizer)
        return self._optimizer

    @property
    def speedups(self) -> ResolvedSpeedups:
        """What this trainer uses; builds AdamW if it is not yet (only then is it known whether
        the fused kernel took)."""
        _ = self.optimizer
        return ResolvedSpeedups(self._fused, self._speed.autocast, self._speed.compile)

    @staticmethod
    def _check_task(task: Task, model: GPT) -> None:
        if task.vocab_size > model.config.vocab_size:
            raise ConfigError(_("The task has {task} tokens but the model only {model}.")
                              .format(task=task.vocab_size, model=model.config.vocab_size))
        if task.block_size > model.config.block_size:
            raise ConfigError(_("The task's examples are {task} tokens long but the model's "
                                "context is {model}.").format(task=task.block_size,
                                                              model=model.config.block_size))

    def add_callback(self, fn: Callback) -> None:
        self._callbacks.append(fn)

    def _emit(self, event: Event) -> None:
        for fn in self._callbacks:
            fn(event)

    def update(self, config: TrainConfig | None = None, task: Task | None = None) -> None:
        """New hyperparameters or data between steps, keeping the weights and AdamW's moments.

        Every setting a page lets the user change during a run comes through here: the
        learning rate and weight decay go into the optimizer's parameter groups (AdamW reads
        them at every step); batch size, clipping and evaluation settings are read from
        self.config at every step. The seed and the device are fixed once the model is built.
        """
        if config is not None:
            config.validate()
            fixed = ("seed", "device", "decay_matrices_only")
            if any(getattr(config, f) != getattr(self.config, f) for f in fixed):
                raise ConfigError(_("The seed, the device and which tensors are decayed are "
                                    "fixed when the model is built; build a new Trainer to "
                                    "change them."))
            # an AdamW not built yet takes them from self.config when it is
            for g in self._optimizer.param_groups if self._optimizer is not None else ():
                g["lr"] = lr_at(config, self.step_count)
                if g["decayed"]:
                    g["weight_decay"] = config.weight_decay
            self.config = config
        if task is not None:
            self._check_task(task, self.model)
            self.task = task
        self._ready.forget()

    def set_learning_rate(self, lr: float) -> None:
        self.update(config=replace(self.config, learning_rate=lr))

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self._speed.autocast:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            return self._forward(x.to(self.device), y.to(self.device)).loss

    def step(self) -> StepEvent:
        t0 = time.perf_counter()
        if self._good.step < 0 or self.step_count % SNAPSHOT_EVERY == 0:
            self._good.save(self.step_count, self._params, self.optimizer)
        if not self.model.training:  # a walk over every module: only when it changes anything
            self.model.train()
        x, y = self.task.get_batch("train", self.config.batch_size, self.generator)
        loss = self._ready.take(x, y)
        if loss is None:
            loss = self._loss(x, y)
        lr = lr_at(self.config, self.step_count)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self._params, self.config.grad_clip, foreach=True)
        self.optimizer.step()
        # One check, after the update, catches every way training breaks: a NaN or infinite
        # loss or gradient makes NaN weights, and so does a finite update that overflows them
        # (a huge learning rate times weight decay). The loss and the flag are read together:
        # one GPU sync per step.
        loss_value, broken = torch.stack([loss.detach().float(),
                                          _non_finite(self._params)]).tolist()
        if not math.isfinite(loss_value):
            self._diverged(loss_value)
        if broken:
            self._diverged(None)
        self.step_count += 1
        event = StepEvent(self.step_count, loss_value, time.perf_counter() - t0, x.numel(), lr)
        self._emit(event)
        return event

    def _diverged(self, loss: float | None) -> None:
        """Put the last good state back and raise; `loss` is the non-finite loss, or None when
        the loss was finite but the weights were not."""
        failed = self.step_count + 1
        self.step_count = self._good.restore(self._params, self.optimizer)
        self._ready.forget()
        # made in the thread that trains: in the page's language where that thread runs in a
        # copy of the script run's context (contextvars), else in English
        if loss is not None:
            message = _("The loss became {loss} at step {step}: the learning rate ({lr:g}) is "
                        "probably too high. The model was put back as it was at step {good}, its "
                        "last good state; lower the learning rate and train on.")
        else:
            message = _("The weights became infinite at step {step}: the learning rate ({lr:g}) "
                        "is probably too high. The model was put back as it was at step {good}, "
                        "its last good state; lower the learning rate and train on.")
        raise TrainingDiverged(message.format(loss=loss, step=failed,
                                              lr=self.config.learning_rate,
                                              good=self.step_count))

    def evaluate(self) -> EvalEvent:
        """The loss on each split (averaged over the task's evaluation batches, weighted by the
        targets each scores) and the task's own metrics, as an event."""
        # The mode only switches dropout; with none, the walk over every module is skipped.
        if self.model.config.dropout > 0:
            self.model.eval()
        self._ready.forget()
        losses = {}
        for split in ("train", "val"):
            if not self.task.has_split(split):
                continue
            gen = torch.Generator().manual_seed(self.config.seed + 1)  # same batches each time
            batches = self.task.eval_batches(split, self.config.batch_size,
                                             self.config.eval_batches, gen)
            values, weights = [], []
            for x, y in batches:
                reuse = (split == "train" and len(batches) == 1 and
                         self.task.full_batch(self.config.batch_size) and
                         self.model.config.dropout == 0)
                values.append(self._eval_loss(x, y, keep=reuse))
                weights.append(int((y != -1).sum()))
            # one sync for all batches
            total = sum(weights)
            losses[split] = sum(v * w for v, w in zip(torch.stack(values).tolist(), weights,
                                                      strict=True)) / max(1, total)
        with torch.no_grad():  # not inference mode: a task may keep tensors it makes here
            metrics = self.task.metrics(self.model)
        event = EvalEvent(self.step_count, losses["train"], losses.get("val"), metrics)
        self._emit(event)
        return event

    def _eval_loss(self, x: torch.Tensor, y: torch.Tensor, keep: bool) -> torch.Tensor:
        """The loss of one evaluation batch, (). With keep (the batch is every training example
        and there is no dropout), it is run in training mode with its graph and kept for the
        next step (see _ReadyForward)."""
        if keep:
            if not self.model.training:
                self.model.train()
            loss = self._loss(x, y)
            self._ready.keep(x, y, loss)
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
