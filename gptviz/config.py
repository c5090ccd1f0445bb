"""Typed configuration for the model and for training, in one place.

Every module takes its config whole (nanoGPT's habit): `GPT(config)`, `Trainer(model, task, cfg)`.
`validate()` turns a bad combination into a `ConfigError` with a sentence a student can act on,
before anything is allocated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from gptviz.i18n import N_, _


class ConfigError(ValueError):
    """A configuration the app refuses, with a message meant for the page."""


# Limits that keep one user's model inside a laptop's (and a shared hosted app's) memory and time.
MAX_PARAMS = 30_000_000  # ~120 MB of float32 weights, ~480 MB with AdamW state and gradients
MAX_BLOCK_SIZE = 1024
MAX_VOCAB = 60_000
MAX_LAYERS = 16
MAX_EMBD = 1024
MAX_BATCH = 512
MAX_EVAL_BATCHES = 1_000
MAX_SEED = 2**31 - 1  # what every page's seed widget allows
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class GPTConfig:
    """Architecture of the GPT (names follow nanoGPT and GPT-2)."""

    vocab_size: int = 2  # number of distinct tokens
    block_size: int = 3  # context length: how many tokens the model sees at once
    n_layer: int = 4  # transformer blocks stacked
    n_head: int = 4  # attention heads per block
    n_embd: int = 16  # width of the residual stream
    dropout: float = 0.0  # dropout probability while training
    bias: bool = False  # biases in Linear layers and LayerNorms (GPT-2: True)

    def validate(self) -> GPTConfig:
        # (ok, message, its values): the message is translated only when it is raised
        checks = [
            (1 <= self.vocab_size <= MAX_VOCAB,
             N_("Vocabulary size must be 1 to {max:,}."), {"max": MAX_VOCAB}),
            (1 <= self.block_size <= MAX_BLOCK_SIZE,
             N_("Context length must be 1 to {max}."), {"max": MAX_BLOCK_SIZE}),
            (1 <= self.n_layer <= MAX_LAYERS, N_("Layers must be 1 to {max}."),
             {"max": MAX_LAYERS}),
            (1 <= self.n_head <= self.n_embd,
             N_("There must be at least one attention head, and no more heads than embedding "
                "dimensions."), {}),
            (1 <= self.n_embd <= MAX_EMBD, N_("Embedding size must be 1 to {max}."),
             {"max": MAX_EMBD}),
            (0.0 <= self.dropout < 1.0, N_("Dropout must be at least 0 and below 1."), {}),
        ]
        for ok, message, values in checks:
            if not ok:
                raise ConfigError(_(message).format(**values))
        # only now that n_head >= 1 (a file can say 0: no ZeroDivisionError before the check)
        if self.n_embd % self.n_head:
            raise ConfigError(_(
                "Embedding size {n_embd} is not divisible by {n_head} heads: each head gets "
                "n_embd / n_head dimensions. Try {suggestion}.").format(
                n_embd=self.n_embd, n_head=self.n_head, suggestion=self._divisible_embd()))
        if self.num_params() > MAX_PARAMS:
            raise ConfigError(_(
                "This model would have {params:,} parameters; the limit here is {limit:,} so "
                "that training fits in memory and time. Make it smaller.").format(
                params=self.num_params(), limit=MAX_PARAMS))
        return self

    def _divisible_embd(self) -> int:
        return self.n_head * max(1, round(self.n_embd / self.n_head))

    def num_params(self) -> int:
        """Parameter count computed from the config alone (no allocation), as GPT counts it."""
        c, v, t, L = self.n_embd, self.vocab_size, self.block_size, self.n_layer
        ln = 2 * c if self.bias else c  # our LayerNorm has an optional bias, like nanoGPT's
        b = 1 if self.bias else 0
        attn = c * 3 * c + b * 3 * c + c * c + b * c
        mlp = c * 4 * c + b * 4 * c + 4 * c * c + b * c
        block = 2 * ln + attn + mlp
        return v * c + t * c + L * block + ln  # lm_head shares wte's weights

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GPTConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class TrainConfig:
    """How the Trainer optimises (AdamW, as in document 000 and nanoGPT)."""

    learning_rate: float = 1e-3
    weight_decay: float = 1e-1
    batch_size: int = 12  # examples per step (a task with fewer examples uses them all)
    max_steps: int = 50  # steps a full run takes
    seed: int = 1337  # seeds weights (when the model is built) and batch sampling
    device: str = "cpu"  # "cpu" or "cuda"
    grad_clip: float = 0.0  # clip gradient norm to this value; 0 turns clipping off
    eval_interval: int = 10  # steps between validation-loss measurements
    eval_batches: int = 4  # batches averaged per validation measurement
    # the learning-rate schedule (nanoGPT's get_lr): "constant" holds learning_rate after the
    # warm-up; "cosine" warms up linearly, then decays along a cosine to min_lr at decay_steps
    schedule: str = "constant"
    warmup_steps: int = 0  # steps of linear warm-up from about 0 to learning_rate
    decay_steps: int = 0  # cosine: the step it reaches min_lr; 0 means max_steps
    min_lr: float = 0.0  # cosine: the floor of the learning rate
    # nanoGPT's configure_optimizers: weight decay only on tensors of 2 or more dimensions (the
    # matrices and embeddings), none on biases and LayerNorm gains. Off: on every parameter, as
    # document 000's notebook does. Fixed once the optimizer is built.
    decay_matrices_only: bool = False

    @property
    def schedule_steps(self) -> int:
        """The step at which a cosine schedule reaches its floor."""
        return self.decay_steps or self.max_steps

    def validate(self) -> TrainConfig:
        # (ok, message, its values): the message is translated only when it is raised
        checks = [
            (0.0 < self.learning_rate <= 100.0,
             N_("Learning rate must be above 0 and at most 100."), {}),
            (0.0 <= self.weight_decay <= 10.0, N_("Weight decay must be 0 to 10."), {}),
            (1 <= self.batch_size <= MAX_BATCH, N_("Batch size must be 1 to {max}."),
             {"max": MAX_BATCH}),
            (1 <= self.max_steps <= 1_000_000, N_("Steps must be 1 to 1,000,000."), {}),
            (0 <= self.seed <= MAX_SEED, N_("The seed must be 0 to {max:,}."), {"max": MAX_SEED}),
            (self.device in ("cpu", "cuda"), N_("Device must be 'cpu' or 'cuda'."), {}),
            (0.0 <= self.grad_clip <= 1e6,
             N_("Gradient clipping must be 0 (off) to 1,000,000."), {}),
            (1 <= self.eval_interval <= 1_000_000,
             N_("Evaluation interval must be 1 to 1,000,000 steps."), {}),
            (1 <= self.eval_batches <= MAX_EVAL_BATCHES,
             N_("Evaluation averages 1 to {max:,} batches."), {"max": MAX_EVAL_BATCHES}),
            (self.schedule in SCHEDULES, N_("The schedule must be one of {choices}."),
             {"choices": ", ".join(SCHEDULES)}),
            (self.warmup_steps >= 0, N_("Warm-up steps must be 0 or more."), {}),
            (self.decay_steps >= 0, N_("Decay steps must be 0 (the run's length) or more."), {}),
            (0.0 <= self.min_lr <= self.learning_rate,
             N_("The floor of the learning rate ({min_lr:g}) must be 0 to the peak learning "
                "rate ({learning_rate:g})."),
             {"min_lr": self.min_lr, "learning_rate": self.learning_rate}),
            (self.warmup_steps <= self.max_steps,
             N_("The warm-up ({warmup:,} steps) is longer than the run ({steps:,} steps): "
                "shorten it or train longer."),
             {"warmup": self.warmup_steps, "steps": self.max_steps}),
            (self.schedule != "cosine" or self.warmup_steps < self.schedule_steps,
             N_("The cosine decay must end after the warm-up: it ends at step {end:,}, the "
                "warm-up at step {warmup:,}."),
             {"end": self.schedule_steps, "warmup": self.warmup_steps}),
        ]
        for ok, message, values in checks:
            if not ok:
                raise ConfigError(_(message).format(**values))
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class RoomLimits:
    """What one class room allows (gptviz/rooms): enough for a class, too little for a flood."""

    max_members: int = 60  # students in one room
    max_runs_per_member: int = 10  # runs one student may post to a room
    posts_per_second: float = 1.0  # posts one student may make a second (the pages post every 2 s)
    max_name_chars: int = 24  # a display name's length: fits a leaderboard and a legend
    room_hours: float = 4.0  # a room expires this long after it was opened: a school day
    curve_points: int = 200  # points kept of a posted loss curve (thinned evenly)

    def validate(self) -> RoomLimits:
        checks = [
            (1 <= self.max_members <= 10_000, "A room holds 1 to 10,000 students."),
            (1 <= self.max_runs_per_member <= 1_000, "A student posts 1 to 1,000 runs."),
            (0.01 <= self.posts_per_second <= 100, "Posts per second must be 0.01 to 100."),
            (1 <= self.max_name_chars <= 100, "A name's limit must be 1 to 100 characters."),
            (0.01 <= self.room_hours <= 24 * 30, "A room lasts 0.01 hours to 30 days."),
            (2 <= self.curve_points <= 2_000, "A posted curve keeps 2 to 2,000 points."),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        return self


# Document 000: Karpathy's "baby GPT" as a finite-state Markov chain.
DOC000_SEQUENCE = "111101111011110"
DOC000_MODEL = GPTConfig(vocab_size=2, block_size=3, n_layer=4, n_head=4, n_embd=16, bias=False)
DOC000_TRAIN = TrainConfig(learning_rate=1e-3, weight_decay=1e-1, batch_size=12, max_steps=50,
                           seed=1337, eval_interval=1)

__all__ = ["ConfigError", "GPTConfig", "TrainConfig", "DOC000_MODEL", "DOC000_TRAIN",
           "DOC000_SEQUENCE", "RoomLimits", "replace"]
