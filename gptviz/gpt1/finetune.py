"""GPT-1's stage 2: supervised fine-tuning of a pre-trained GPT with a classification head.

Radford et al. (2018), "Improving Language Understanding by Generative Pre-Training":

- Input transformations: every example becomes one token sequence, framed by special tokens:
  `<start> text <extract>`, or `<start> A <delim> B <extract>` for two inputs (entailment).
- The head: the final transformer state at the `<extract>` token, h_l^m, goes through one new
  linear layer W_y; P(y | x^1..x^m) = softmax(h_l^m W_y).
- The loss: L3 = L2 + lambda * L1, where L2 is the classification cross-entropy and L1 is the
  language-modelling loss on the same sequences, kept as an auxiliary objective.

The special tokens need embeddings. GPT-1 adds them after pre-training; here the vocabulary has
them from the start (`finetune_tokenizer`): pre-training never sees them, so their embeddings stay
as initialised (and weight decay shrinks them), and fine-tuning learns them. That keeps the GPT
unchanged between the stages: same vocabulary, same weights, only the head is new.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
from torch.nn import functional as F

from gptviz.config import ConfigError, GPTConfig
from gptviz.gpt1.labelled import LabelledExample
from gptviz.model import GPT
from gptviz.tokenizers import CharTokenizer, Tokenizer
from gptviz.train import TrainingDiverged, build_model, resolve_device

START, DELIM, EXTRACT = "<start>", "<delim>", "<extract>"
SPECIAL_TOKENS = (START, DELIM, EXTRACT)
INITS = ("pretrained", "scratch")  # where fine-tuning starts from
TRAIN_ACC_EXAMPLES = 128  # training accuracy is measured on the first this-many examples


# --- input transformations -----------------------------------------------------------------

def finetune_tokenizer(text: str) -> CharTokenizer:
    """One token per character of text, then <start>, <delim>, <extract> as the last three ids.

    A character tokenizer encodes text one character at a time, so text can never produce a
    special token: they enter a sequence only through `transform`.
    """
    return CharTokenizer(sorted(set(text)) + list(SPECIAL_TOKENS), name="characters + special")


def special_ids(tokenizer: Tokenizer) -> tuple[int, int, int]:
    """Ids of <start>, <delim>, <extract> in tokenizer, or a ConfigError."""
    stoi = getattr(tokenizer, "stoi", None)
    if stoi is None or any(s not in stoi for s in SPECIAL_TOKENS):
        raise ConfigError("This tokenizer has no <start>, <delim> and <extract> tokens; build "
                          "it with finetune_tokenizer(text) and pre-train with it.")
    return stoi[START], stoi[DELIM], stoi[EXTRACT]


def transform(tokenizer: Tokenizer, a: str, b: str | None = None) -> list[int]:
    """GPT-1's input transformation: <start> a <extract>, or <start> a <delim> b <extract>."""
    start, delim, extract = special_ids(tokenizer)
    ids = [start, *tokenizer.encode(a)]
    if b is not None:
        ids += [delim, *tokenizer.encode(b)]
    return [*ids, extract]


@dataclass(frozen=True)
class EncodedExamples:
    idx: torch.Tensor  # (N, T) token ids, padded with 0 after <extract>
    lm_targets: torch.Tensor  # (N, T) next token at each position, -1 where none (L1 skips it)
    labels: torch.Tensor  # (N,) class indices

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, ix: torch.Tensor | slice) -> EncodedExamples:
        return EncodedExamples(self.idx[ix], self.lm_targets[ix], self.labels[ix])


def encode_examples(tokenizer: Tokenizer, examples: Sequence[LabelledExample],
                    block_size: int) -> EncodedExamples:
    """Transform every example and pad them into tensors the model reads in one batch."""
    if not examples:
        raise ConfigError("There are no labelled examples to encode.")
    seqs = [transform(tokenizer, ex.a, ex.b) for ex in examples]
    T = max(len(s) for s in seqs)
    if T > block_size:
        raise ConfigError(f"An example is {T} tokens long with its special tokens, but the "
                          f"model's context is {block_size}. Pre-train with a longer context.")
    idx = torch.zeros(len(seqs), T, dtype=torch.long)
    lm_targets = torch.full((len(seqs), T), -1, dtype=torch.long)
    for i, s in enumerate(seqs):
        row = torch.tensor(s, dtype=torch.long)
        idx[i, : len(s)] = row
        lm_targets[i, : len(s) - 1] = row[1:]  # as GPT-1's code: every next token, specials too
    labels = torch.tensor([ex.label for ex in examples], dtype=torch.long)
    return EncodedExamples(idx, lm_targets, labels)


# --- the classifier ------------------------------------------------------------------------

class ClassifierHead(nn.Module):
    """W_y: the final hidden state at <extract>, (B, C) -> class logits, (B, n_classes)."""

    def __init__(self, n_embd: int, n_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)  # GPT-1 uses dropout 0.1 on the classifier
        self.W_y = nn.Linear(n_embd, n_classes)
        nn.init.normal_(self.W_y.weight, mean=0.0, std=0.02)
        nn.init.zeros_(self.W_y.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.W_y(self.dropout(h))


class ClassifierOutput(NamedTuple):
    class_logits: torch.Tensor  # (B, n_classes)
    lm_logits: torch.Tensor  # (B, T, vocab_size)
    lm_loss: torch.Tensor | None  # L1 on these sequences, when lm_targets are given


class ClassifierGPT(nn.Module):
    """A GPT plus a classification head on its state at the <extract> token.

    The GPT is used as it is: its language-model head still gives L1, the new head gives L2.
    """

    def __init__(self, gpt: GPT, n_classes: int, extract_id: int, dropout: float = 0.1) -> None:
        super().__init__()
        if not 0 <= extract_id < gpt.config.vocab_size:
            raise ConfigError(f"The <extract> id {extract_id} is outside the model's vocabulary "
                              f"of {gpt.config.vocab_size}.")
        self.gpt = gpt
        self.head = ClassifierHead(gpt.config.n_embd, n_classes, dropout)
        self.extract_id = extract_id

    def hidden_states(self, idx: torch.Tensor) -> torch.Tensor:
        """The final transformer states h_l, (B, T, C): GPT.forward up to ln_f, without lm_head."""
        x = self.gpt.embed(idx)  # (B, T, C)
        for block in self.gpt.transformer.h:
            x, _ = block(x)
        return self.gpt.transformer.ln_f(x)  # (B, T, C)

    def extract_positions(self, idx: torch.Tensor) -> torch.Tensor:
        """Index of the first <extract> in each row, (B,)."""
        is_extract = idx == self.extract_id  # (B, T)
        if not bool(is_extract.any(dim=1).all()):
            raise ValueError("Every sequence needs an <extract> token: use transform().")
        return is_extract.int().argmax(dim=1)

    def forward(self, idx: torch.Tensor,
                lm_targets: torch.Tensor | None = None) -> ClassifierOutput:
        h = self.hidden_states(idx)  # (B, T, C)
        pos = self.extract_positions(idx)  # (B,)
        h_extract = h[torch.arange(idx.size(0), device=idx.device), pos]  # (B, C)
        class_logits = self.head(h_extract)  # (B, n_classes)
        lm_logits = self.gpt.lm_head(h)  # (B, T, vocab_size)
        lm_loss = None
        if lm_targets is not None:
            lm_loss = F.cross_entropy(lm_logits.view(-1, lm_logits.size(-1)),
                                      lm_targets.reshape(-1), ignore_index=-1)
        return ClassifierOutput(class_logits, lm_logits, lm_loss)


class FineTuneLoss(NamedTuple):
    total: torch.Tensor  # L3 = L2 + lambda * L1
    clf: torch.Tensor  # L2, classification cross-entropy
    lm: torch.Tensor  # L1, language-modelling loss on the same sequences


def combined_loss(class_logits: torch.Tensor, labels: torch.Tensor, lm_loss: torch.Tensor,
                  lam: float) -> FineTuneLoss:
    """GPT-1's eq. 5: L3(C) = L2(C) + lambda * L1(C)."""
    clf = F.cross_entropy(class_logits, labels)
    return FineTuneLoss(clf + lam * lm_loss, clf, lm_loss)


@torch.no_grad()
def accuracy(model: ClassifierGPT, data: EncodedExamples, batch_size: int = 256) -> float:
    """Share of examples whose most likely class is the label (model in eval mode)."""
    was_training = model.training
    model.eval()
    device = model.gpt.device
    correct = 0
    for i in range(0, len(data), batch_size):
        part = data.subset(slice(i, i + batch_size))
        logits = model(part.idx.to(device)).class_logits
        correct += int((logits.argmax(dim=-1).cpu() == part.labels).sum())
    model.train(was_training)
    return correct / len(data)


@torch.no_grad()
def predict(model: ClassifierGPT, tokenizer: Tokenizer, a: str,
            b: str | None = None) -> torch.Tensor:
    """Class probabilities for one example, (n_classes,)."""
    model.eval()
    idx = torch.tensor([transform(tokenizer, a, b)], device=model.gpt.device)
    if idx.size(1) > model.gpt.config.block_size:
        raise ConfigError(f"This example is {idx.size(1)} tokens with its special tokens; the "
                          f"model reads at most {model.gpt.config.block_size}. Shorten it.")
    return F.softmax(model(idx).class_logits[0].float(), dim=-1).cpu()


# --- fine-tuning -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FineTuneConfig:
    """How stage 2 trains (the same for both starting points, so the comparison is fair)."""

    lam: float = 0.5  # lambda, weight of the auxiliary LM loss L1 (GPT-1: 0.5)
    n_labelled: int = 128  # labelled training examples
    steps: int = 150  # optimizer steps
    learning_rate: float = 1e-3
    weight_decay: float = 0.01  # GPT-1: 0.01
    batch_size: int = 32
    head_dropout: float = 0.1  # GPT-1: 0.1 on the classifier
    eval_interval: int = 15  # steps between validation-accuracy measurements
    n_val: int = 256  # held-out validation examples (the same set for every run)
    seed: int = 0  # seeds the head, the scratch model, the labelled draw and the batches
    device: str = "cpu"

    def validate(self) -> FineTuneConfig:
        checks = [
            (0.0 <= self.lam <= 10.0, "lambda must be 0 to 10."),
            (2 <= self.n_labelled <= 10_000,
             "The number of labelled examples must be 2 to 10,000."),
            (1 <= self.steps <= 100_000, "Fine-tuning steps must be 1 to 100,000."),
            (0.0 < self.learning_rate <= 1.0, "Learning rate must be above 0 and at most 1."),
            (0.0 <= self.weight_decay <= 10.0, "Weight decay must be 0 to 10."),
            (1 <= self.batch_size <= 512, "Batch size must be 1 to 512."),
            (0.0 <= self.head_dropout < 1.0, "Head dropout must be at least 0 and below 1."),
            (self.eval_interval >= 1, "Evaluation interval must be at least 1 step."),
            (10 <= self.n_val <= 10_000, "Validation examples must be 10 to 10,000."),
            (self.device in ("cpu", "cuda"), "Device must be 'cpu' or 'cuda'."),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        return self


@dataclass(frozen=True)
class FineTuneStep:
    step: int
    loss: float  # L3
    clf_loss: float  # L2
    lm_loss: float  # L1


@dataclass(frozen=True)
class FineTuneEval:
    step: int
    val_accuracy: float
    train_accuracy: float


FineTuneEvent = FineTuneStep | FineTuneEval


def new_classifier(init: str, model_config: GPTConfig, n_classes: int, extract_id: int,
                   pretrained: GPT | None = None, seed: int = 0,
                   head_dropout: float = 0.1) -> ClassifierGPT:
    """A ClassifierGPT starting from a copy of the pre-trained GPT, or from random weights.

    Both get the same head (seeded alike), so the only difference is the GPT's starting weights.
    The pre-trained model is copied, never changed.
    """
    if init == "pretrained":
        if pretrained is None:
            raise ConfigError("There is no pre-trained model yet: run stage 1 first, or fine-tune "
                              "from scratch.")
        if pretrained.config != model_config:
            raise ConfigError("The pre-trained model's configuration differs from the one asked "
                              "for.")
        gpt = copy.deepcopy(pretrained).cpu()
    elif init == "scratch":
        gpt = build_model(model_config, seed)
    else:
        raise ValueError(f"init must be one of {INITS}, not {init!r}")
    torch.manual_seed(seed)  # the head's W_y, the same for both starting points
    return ClassifierGPT(gpt, n_classes, extract_id, head_dropout)


class FineTuner:
    """AdamW on L3 over the labelled examples; events out, like the Trainer."""

    def __init__(self, model: ClassifierGPT, train: EncodedExamples, val: EncodedExamples,
                 config: FineTuneConfig) -> None:
        config.validate()
        T = max(train.idx.size(1), val.idx.size(1))
        if T > model.gpt.config.block_size:
            raise ConfigError(f"Examples are {T} tokens long but the model's context is "
                              f"{model.gpt.config.block_size}.")
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.train_data = train
        self.val_data = val
        self.config = config
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step_count = 0
        self._callbacks: list[Callable[[FineTuneEvent], None]] = []

    def add_callback(self, fn: Callable[[FineTuneEvent], None]) -> None:
        self._callbacks.append(fn)

    def _emit(self, event: FineTuneEvent) -> None:
        for fn in self._callbacks:
            fn(event)

    def batch(self) -> EncodedExamples:
        n = len(self.train_data)
        if self.config.batch_size >= n:
            return self.train_data
        return self.train_data.subset(
            torch.randint(n, (self.config.batch_size,), generator=self.generator))

    def step(self) -> FineTuneStep:
        self.model.train()
        b = self.batch()
        out = self.model(b.idx.to(self.device), b.lm_targets.to(self.device))
        loss = combined_loss(out.class_logits, b.labels.to(self.device), out.lm_loss,
                             self.config.lam)
        if not torch.isfinite(loss.total):
            raise TrainingDiverged(f"The fine-tuning loss became {loss.total.item()} at step "
                                   f"{self.step_count + 1}: lower the learning rate.")
        self.optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        self.optimizer.step()
        self.step_count += 1
        event = FineTuneStep(self.step_count, loss.total.item(), loss.clf.item(), loss.lm.item())
        self._emit(event)
        return event

    def evaluate(self) -> FineTuneEval:
        # training accuracy on at most TRAIN_ACC_EXAMPLES: it shows overfitting, and costs less
        train = self.train_data.subset(slice(0, TRAIN_ACC_EXAMPLES))
        event = FineTuneEval(self.step_count, accuracy(self.model, self.val_data),
                             accuracy(self.model, train))
        self._emit(event)
        return event

    def run(self, n: int, should_stop: Callable[[], bool] | None = None) -> int:
        done = 0
        while done < n and not (should_stop and should_stop()):
            self.step()
            done += 1
            if self.step_count % self.config.eval_interval == 0 or done == n:
                self.evaluate()
        return done
