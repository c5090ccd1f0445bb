"""Character-level language modelling on a corpus: named presets and the pieces that build a run.

minGPT's char demo and nanoGPT's shakespeare_char: one token per character, the model learns to
continue the text. Presets are sized for a 2-core CPU; the numbers in their descriptions were
measured with `python -m bench.text_model` on the built-in corpus.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace

from gptviz.config import GPTConfig, TrainConfig
from gptviz.i18n import N_
from gptviz.model import GPT
from gptviz.tasks.text import TextTask
from gptviz.tokenizers import CharTokenizer, Tokenizer
from gptviz.train import Trainer, build_model


@dataclass(frozen=True)
class TextPreset:
    """A named model size and training schedule for character-level text."""

    label: str  # marked with N_ (also the preset's key): shown with _(label)
    description: str  # N_, as the label
    block_size: int  # context length in characters
    n_layer: int
    n_head: int
    n_embd: int
    batch_size: int
    learning_rate: float
    steps: int  # steps one press of Train runs
    eval_interval: int = 50
    eval_batches: int = 4
    grad_clip: float = 1.0  # keeps the high constant learning rate from blowing up early steps
    # the learning-rate schedule (TrainConfig's): "constant", or nanoGPT's warm-up and cosine
    # decay to min_lr at the last step; weight decay on matrices only, as nanoGPT groups it
    schedule: str = "constant"
    warmup_steps: int = 0
    min_lr: float = 0.0
    decay_matrices_only: bool = False

    def model_config(self, vocab_size: int) -> GPTConfig:
        return GPTConfig(vocab_size=vocab_size, block_size=self.block_size, n_layer=self.n_layer,
                         n_head=self.n_head, n_embd=self.n_embd, dropout=0.0, bias=False)

    def train_config(self, seed: int = 1337, device: str = "cpu") -> TrainConfig:
        return TrainConfig(learning_rate=self.learning_rate, weight_decay=0.1,
                           batch_size=self.batch_size, max_steps=self.steps, seed=seed,
                           device=device, grad_clip=self.grad_clip,
                           eval_interval=self.eval_interval, eval_batches=self.eval_batches,
                           schedule=self.schedule, warmup_steps=self.warmup_steps,
                           min_lr=self.min_lr, decay_matrices_only=self.decay_matrices_only)


TEXT_PRESETS: dict[str, TextPreset] = {p.label: p for p in [
    # Measured on the built-in corpus, one torch thread (as the app runs), CPU seconds:
    # Tiny 500 steps ~10 s -> val ~1.7; Small 2,000 steps ~65 s -> val ~1.4 (README, report).
    # Wider or deeper models (4 layers x 128 dims, context 64: 0.23 s/step) reach only ~2.0 in
    # the same two minutes: on a CPU, many cheap steps beat a few expensive ones (that at a
    # constant rate on a loaded host; with a schedule, see "nanoGPT size" below).
    TextPreset(N_("Tiny"), N_("2 layers, 2 heads, 64 dims, context 32: spaces, letters and short "
               "words within 500 steps (about 10 seconds)."),
               block_size=32, n_layer=2, n_head=2, n_embd=64, batch_size=32,
               learning_rate=3e-3, steps=500, eval_interval=50),
    TextPreset(N_("Small"), N_("3 layers, 4 heads, 64 dims, context 32: English words and the "
               "corpus's layout within 2,000 steps (about a minute)."),
               block_size=32, n_layer=3, n_head=4, n_embd=64, batch_size=32,
               learning_rate=3e-3, steps=2000, eval_interval=100),
    # nanoGPT's CPU recipe's model (its README) with the recipe `python -m bench quality` chose
    # for it (bench/quality.py, CHOSEN): peak 3e-3 (nanoGPT: 1e-3), warm-up 50 (100), cosine to
    # 3e-4 at step 1,500 (1e-4 at 2,000), decay on matrices only. Measured on the built-in
    # corpus against nanoGPT's own recipe, same model and data, interleaved in one process, one
    # thread each, two races (seeds 1337, 1338): it reached nanoGPT's final validation loss
    # (1.419, 1.411) in 0.56x and 0.60x nanoGPT's wall time (0.66x, 0.68x its CPU time), after
    # 68-71% of nanoGPT's steps, and ends at 1.405, 1.400 (README, "Time to quality against
    # nanoGPT"). Small (above) was measured in another run; per CPU-second it is cheaper.
    TextPreset(N_("nanoGPT size"), N_("4 layers, 4 heads, 128 dims, context 64 (nanoGPT's CPU "
               "model), warm-up and cosine decay over 1,500 steps: a lower loss than Small "
               "(about 1.41 against 1.44) in about twice its time (two CPU-minutes)."),
               block_size=64, n_layer=4, n_head=4, n_embd=128, batch_size=12,
               learning_rate=3e-3, steps=1500, eval_interval=100, schedule="cosine",
               warmup_steps=50, min_lr=3e-4, decay_matrices_only=True),
]}
DEFAULT_PRESET = "Small"


@dataclass
class TextRun:
    """Everything one character model needs: its tokenizer, data, model and trainer."""

    tokenizer: Tokenizer
    task: TextTask
    model: GPT
    trainer: Trainer


def build_text_run(text: str, model_config: GPTConfig, train_config: TrainConfig,
                   tokenizer: Tokenizer | None = None, val_fraction: float = 0.1) -> TextRun:
    """A fresh model over text's characters (ConfigError for settings that cannot work).

    model_config.vocab_size is replaced by the tokenizer's, so a preset fits any corpus.
    """
    tokenizer = tokenizer or CharTokenizer.from_text(text)
    config = replace(model_config, vocab_size=tokenizer.vocab_size).validate()
    train_config.validate()
    task = TextTask(text, tokenizer, config.block_size, val_fraction=val_fraction)
    model = build_model(config, train_config.seed)
    return TextRun(tokenizer, task, model, Trainer(model, task, train_config))


def unigram_entropy(text: str) -> float:
    """Entropy of the character frequencies, in nats: the loss of the best model that ignores
    context. A model below it has learned something from the preceding characters."""
    counts, n = Counter(text), len(text)
    if n == 0:
        raise ValueError("No text.")
    return -sum(c / n * math.log(c / n) for c in counts.values())


def loss_references(text: str, vocab_size: int) -> dict[str, float]:
    """Two milestones for a character model's loss (log V: guessing uniformly; unigram). The
    labels are marked with N_: text_loss_figure shows them with _(label)."""
    return {N_("guessing uniformly (log V)"): math.log(vocab_size),
            N_("letter frequencies only"): unigram_entropy(text)}
