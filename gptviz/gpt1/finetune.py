"""GPT-1's stage 2: supervised fine-tuning of a pre-trained GPT with a classification head.

Radford et al. (2018), "Improving Language Understanding by Generative Pre-Training":

- Input transformations (the paper's figure 1): every example becomes token sequences framed by
  special tokens. Classification: `<start> text <extract>`. Entailment: `<start> A <delim> B
  <extract>`. Similarity: both orders, `<start> A <delim> B <extract>` and `<start> B <delim> A
  <extract>`. Multiple choice: `<start> context <delim> choice_k <extract>` for each choice k.
- The head: the final transformer state at the `<extract>` token, h_l^m, goes through one new
  linear layer W_y; P(y | x^1..x^m) = softmax(h_l^m W_y). Similarity adds the two orders' states
  elementwise before W_y, so swapping A and B cannot change the answer. Multiple choice maps each
  choice's state to one score (W_y has one output) and takes the softmax across the choices.
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
from gptviz.i18n import N_, _
from gptviz.model import GPT
from gptviz.tokenizers import CharTokenizer, Tokenizer
from gptviz.train import TrainingDiverged, build_model, resolve_device

START, DELIM, EXTRACT = "<start>", "<delim>", "<extract>"
SPECIAL_TOKENS = (START, DELIM, EXTRACT)
# the paper's figure 1: how an example becomes sequences, and how the head reads them
CLASSIFICATION, ENTAILMENT, SIMILARITY, MULTIPLE_CHOICE = (
    "classification", "entailment", "similarity", "multiple choice")
TRANSFORMATIONS = (CLASSIFICATION, ENTAILMENT, SIMILARITY, MULTIPLE_CHOICE)
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
        raise ConfigError(_("This tokenizer has no <start>, <delim> and <extract> tokens; "
                            "build it with finetune_tokenizer(text) and pre-train with it."))
    return stoi[START], stoi[DELIM], stoi[EXTRACT]


def transform(tokenizer: Tokenizer, a: str, b: str | None = None) -> list[int]:
    """GPT-1's input transformation: <start> a <extract>, or <start> a <delim> b <extract>."""
    start, delim, extract = special_ids(tokenizer)
    ids = [start, *tokenizer.encode(a)]
    if b is not None:
        ids += [delim, *tokenizer.encode(b)]
    return [*ids, extract]


def example_sequences(tokenizer: Tokenizer, example: LabelledExample,
                      transformation: str | None = None) -> list[list[int]]:
    """The token sequences one example becomes (the paper's figure 1).

    classification: [<start> a <extract>]; entailment: [<start> a <delim> b <extract>];
    similarity: [<start> a <delim> b <extract>, <start> b <delim> a <extract>];
    multiple choice: [<start> a <delim> choice_k <extract> for each choice k].
    None: classification or entailment, whichever the example's inputs fit.
    """
    ex = example
    if transformation is None:
        transformation = CLASSIFICATION if ex.b is None else ENTAILMENT
    if transformation not in TRANSFORMATIONS:
        raise ValueError(f"transformation must be one of {TRANSFORMATIONS}, not "
                         f"{transformation!r}")
    if transformation == MULTIPLE_CHOICE:
        if not ex.choices or len(ex.choices) < 2 or ex.b is not None:
            raise ValueError("A multiple-choice example needs a context and two or more "
                             "choices.")
        return [transform(tokenizer, ex.a, c) for c in ex.choices]
    if ex.choices is not None:
        raise ValueError(f"A {transformation} example has no choices.")
    if (transformation == CLASSIFICATION) != (ex.b is None):
        raise ValueError(f"A {transformation} example needs "
                         + ("one input." if transformation == CLASSIFICATION else "two inputs."))
    if transformation == SIMILARITY:
        return [transform(tokenizer, ex.a, ex.b), transform(tokenizer, ex.b, ex.a)]
    return [transform(tokenizer, ex.a, ex.b)]


def check_fits(seqs: Sequence[Sequence[int]], block_size: int, transformation: str) -> None:
    """A ConfigError (a ValueError) with a sentence when a sequence is longer than the context."""
    T = max(len(s) for s in seqs)
    if T <= block_size:
        return
    if transformation == SIMILARITY:
        message = _("The pair is {T} tokens with its special tokens; the model reads at most "
                    "{block_size}. Shorten it.")
    elif transformation == MULTIPLE_CHOICE:
        message = _("The context with its longest choice is {T} tokens with its special tokens; "
                    "the model reads at most {block_size}. Shorten it.")
    else:
        message = _("This example is {T} tokens with its special tokens; the model reads at "
                    "most {block_size}. Shorten it.")
    raise ConfigError(message.format(T=T, block_size=block_size))


@dataclass(frozen=True)
class EncodedExamples:
    idx: torch.Tensor  # (N, S, T) token ids: S sequences per example, padded with 0 after <extract>
    lm_targets: torch.Tensor  # (N, S, T) next token at each position, -1 where none (L1 skips it)
    labels: torch.Tensor  # (N,) class indices (multiple choice: the index of the right choice)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, ix: torch.Tensor | slice) -> EncodedExamples:
        return EncodedExamples(self.idx[ix], self.lm_targets[ix], self.labels[ix])


def encode_examples(tokenizer: Tokenizer, examples: Sequence[LabelledExample],
                    block_size: int, transformation: str | None = None) -> EncodedExamples:
    """Transform every example and pad them into tensors the model reads in one batch."""
    if not examples:
        raise ConfigError(_("There are no labelled examples to encode."))
    seqs = [example_sequences(tokenizer, ex, transformation) for ex in examples]
    S = len(seqs[0])
    if any(len(s) != S for s in seqs):
        raise ValueError("Every example needs the same number of sequences (of choices).")
    T = max(len(s) for group in seqs for s in group)
    if T > block_size:
        raise ConfigError(_("An example is {T} tokens long with its special tokens, but the "
                            "model's context is {block_size}. Pre-train with a longer "
                            "context.").format(T=T, block_size=block_size))
    idx = torch.zeros(len(seqs), S, T, dtype=torch.long)
    lm_targets = torch.full((len(seqs), S, T), -1, dtype=torch.long)
    for i, group in enumerate(seqs):
        for j, s in enumerate(group):
            row = torch.tensor(s, dtype=torch.long)
            idx[i, j, : len(s)] = row
            lm_targets[i, j, : len(s) - 1] = row[1:]  # as GPT-1's code: every next token
    labels = torch.tensor([ex.label for ex in examples], dtype=torch.long)
    return EncodedExamples(idx, lm_targets, labels)


# --- the classifier ------------------------------------------------------------------------

class ClassifierHead(nn.Module):
    """W_y: the final hidden state at <extract>, (..., C) -> scores, (..., n_classes)."""

    def __init__(self, n_embd: int, n_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)  # GPT-1 uses dropout 0.1 on the classifier
        self.W_y = nn.Linear(n_embd, n_classes)
        nn.init.normal_(self.W_y.weight, mean=0.0, std=0.02)
        nn.init.zeros_(self.W_y.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.W_y(self.dropout(h))


class ClassifierOutput(NamedTuple):
    class_logits: torch.Tensor  # (B, n_classes); multiple choice: (B, S), one per choice
    lm_logits: torch.Tensor  # (B, S, T, vocab_size); (B, T, vocab_size) when idx was (B, T)
    lm_loss: torch.Tensor | None  # L1 on these sequences, when lm_targets are given


class ClassifierGPT(nn.Module):
    """A GPT plus a classification head on its state at the <extract> token.

    The GPT is used as it is: its language-model head still gives L1, the new head gives L2.
    idx is (B, T), one sequence per example, or (B, S, T), S sequences per example (similarity:
    the two orders; multiple choice: one per choice). The S states at <extract> are added
    elementwise before W_y (one sequence: just its state), or, for multiple choice, each goes
    through W_y to one score and the S scores are the logits over the choices.
    """

    def __init__(self, gpt: GPT, n_classes: int, extract_id: int, dropout: float = 0.1,
                 transformation: str = CLASSIFICATION) -> None:
        super().__init__()
        if not 0 <= extract_id < gpt.config.vocab_size:
            raise ConfigError(_("The <extract> id {id} is outside the model's vocabulary of "
                                "{vocab}.").format(id=extract_id, vocab=gpt.config.vocab_size))
        if transformation not in TRANSFORMATIONS:
            raise ValueError(f"transformation must be one of {TRANSFORMATIONS}, not "
                             f"{transformation!r}")
        self.gpt = gpt
        self.transformation = transformation
        self.per_choice = transformation == MULTIPLE_CHOICE
        # multiple choice: one score per choice, whatever the number of choices
        self.head = ClassifierHead(gpt.config.n_embd, 1 if self.per_choice else n_classes,
                                   dropout)
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

    def extract_states(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(h at <extract> of every sequence, (B, S, C); all final states, (B*S, T, C))."""
        B, S, T = idx.shape
        flat = idx.reshape(B * S, T)  # every sequence through the same GPT, as one batch
        h = self.hidden_states(flat)  # (B*S, T, C)
        pos = self.extract_positions(flat)  # (B*S,)
        h_extract = h[torch.arange(B * S, device=idx.device), pos]  # (B*S, C)
        return h_extract.view(B, S, -1), h

    def forward(self, idx: torch.Tensor,
                lm_targets: torch.Tensor | None = None) -> ClassifierOutput:
        one = idx.dim() == 2  # (B, T): one sequence per example
        if one:
            idx = idx.unsqueeze(1)
            lm_targets = None if lm_targets is None else lm_targets.unsqueeze(1)
        B, S, T = idx.shape
        h_extract, h = self.extract_states(idx)  # (B, S, C), (B*S, T, C)
        if self.per_choice:
            class_logits = self.head(h_extract).squeeze(-1)  # (B, S): a score per choice
        else:
            # (B, n_classes); similarity: W_y(h_AB + h_BA), the same for B, A
            class_logits = self.head(h_extract.sum(dim=1))
        lm_logits = self.gpt.lm_head(h)  # (B*S, T, vocab_size)
        lm_loss = None
        if lm_targets is not None:
            lm_loss = F.cross_entropy(lm_logits.view(-1, lm_logits.size(-1)),
                                      lm_targets.reshape(-1), ignore_index=-1)
        lm_logits = lm_logits.view(B, T, -1) if one else lm_logits.view(B, S, T, -1)
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
def predict(model: ClassifierGPT, tokenizer: Tokenizer, a: str, b: str | None = None,
            choices: Sequence[str] | None = None) -> torch.Tensor:
    """Class probabilities for one example, (n_classes,); multiple choice: one per choice.

    The model's own transformation says how the texts become sequences. A sequence longer than
    the model's context is a ConfigError (a ValueError) that says so.
    """
    model.eval()
    example = LabelledExample(a, b, 0, None if choices is None else tuple(choices))
    seqs = example_sequences(tokenizer, example, model.transformation)
    check_fits(seqs, model.gpt.config.block_size, model.transformation)
    T = max(len(s) for s in seqs)
    idx = torch.zeros(1, len(seqs), T, dtype=torch.long)
    for j, s in enumerate(seqs):
        idx[0, j, : len(s)] = torch.tensor(s)
    return F.softmax(model(idx.to(model.gpt.device)).class_logits[0].float(), dim=-1).cpu()


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
            (0.0 <= self.lam <= 10.0, N_("lambda must be 0 to 10.")),
            (2 <= self.n_labelled <= 10_000,
             N_("The number of labelled examples must be 2 to 10,000.")),
            (1 <= self.steps <= 100_000, N_("Fine-tuning steps must be 1 to 100,000.")),
            (0.0 < self.learning_rate <= 1.0,
             N_("Learning rate must be above 0 and at most 1.")),
            (0.0 <= self.weight_decay <= 10.0, N_("Weight decay must be 0 to 10.")),
            (1 <= self.batch_size <= 512, N_("Batch size must be 1 to 512.")),
            (0.0 <= self.head_dropout < 1.0, N_("Head dropout must be at least 0 and below 1.")),
            (self.eval_interval >= 1, N_("Evaluation interval must be at least 1 step.")),
            (10 <= self.n_val <= 10_000, N_("Validation examples must be 10 to 10,000.")),
            (self.device in ("cpu", "cuda"), N_("Device must be 'cpu' or 'cuda'.")),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(_(message))
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
                   pretrained: GPT | None = None, seed: int = 0, head_dropout: float = 0.1,
                   transformation: str = CLASSIFICATION) -> ClassifierGPT:
    """A ClassifierGPT starting from a copy of the pre-trained GPT, or from random weights.

    Both get the same head (seeded alike), so the only difference is the GPT's starting weights.
    The pre-trained model is copied, never changed.
    """
    if init == "pretrained":
        if pretrained is None:
            raise ConfigError(_("There is no pre-trained model yet: run stage 1 first, or "
                                "fine-tune from scratch."))
        if pretrained.config != model_config:
            raise ConfigError(_("The pre-trained model's configuration differs from the one "
                                "asked for."))
        gpt = copy.deepcopy(pretrained).cpu()
    elif init == "scratch":
        gpt = build_model(model_config, seed)
    else:
        raise ValueError(f"init must be one of {INITS}, not {init!r}")
    torch.manual_seed(seed)  # the head's W_y, the same for both starting points
    return ClassifierGPT(gpt, n_classes, extract_id, head_dropout, transformation)


class FineTuner:
    """AdamW on L3 over the labelled examples; events out, like the Trainer."""

    def __init__(self, model: ClassifierGPT, train: EncodedExamples, val: EncodedExamples,
                 config: FineTuneConfig) -> None:
        config.validate()
        T = max(train.idx.size(-1), val.idx.size(-1))
        if T > model.gpt.config.block_size:
            raise ConfigError(_("Examples are {T} tokens long but the model's context is "
                                "{block_size}.").format(T=T,
                                                        block_size=model.gpt.config.block_size))
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
