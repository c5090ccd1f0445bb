"""Induction heads: what they are measured by, on sequences whose second half repeats the first.

Two layouts of a sequence of T tokens (gptviz/tasks/induction.py makes them). The model reads
x = seq[:-1] (T - 1 positions) and predicts y = seq[1:].

**fixed** (TransformerLens's demo): n = T/2 tokens t_0 .. t_{n-1} drawn uniformly from V, then
the same n again:

    position i:  0    1   ...  n-2      n-1      n    ...  2n-2
    x[i]:        t_0  t_1 ...  t_{n-2}  t_{n-1}  t_0  ...  t_{n-2}
    y[i]:        t_1  t_2 ...  t_{n-1}  t_0      t_1  ...  t_{n-1}

The first half's targets y[0 .. n-2] (n - 1 of them) are fresh random tokens; the repeated
half's y[n-1 .. 2n-2] (n of them) are copies of tokens already read.

**varied**: every sequence draws its own half n and where it starts: a run of separators `|`
(at least one), n random tokens, `|`, the same n again, then `|` up to T:

    x:  | | t_0 t_1 ... t_{n-1} | t_0 t_1 ... t_{n-2} | |     (separators are never scored)

so the distance between the two copies and their positions change from one sequence to the
next. In the fixed layout a model does not need an induction head: "look n - 1 positions back"
copies every repeated token, and one layer-1 head learns it (README, "Induction heads").

Both are described by a Layout: where the first copy starts (`first`), where the repeat
starts (`copy`), and n. An induction head at a repeated token, query q in copy .. copy+n-2
(reading t_j, whose earlier copy is at first + j), looks at the token *after* that earlier
copy, key q - (copy - first) + 1, and copies it. Its induction score is its mean attention
there; a previous-token head's score is its mean attention to q - 1, over every position q
from 1 up to the last one with a scored target. Both are TransformerLens's head detectors
(`induction`, `previous_token`), averaged over every such query of every sequence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from gptviz.model import GPT

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Layout:
    """Where the two copies sit in each sequence of a batch: (B,) positions in x."""

    first: torch.Tensor  # the first copy's t_0
    copy: torch.Tensor  # the repeat's t_0
    n: torch.Tensor  # tokens in each copy

    @classmethod
    def fixed(cls, batch: int, n: int) -> Layout:
        """The fixed layout: t_0 at 0, the repeat at n, for every sequence."""
        def full(v: int) -> torch.Tensor:
            return torch.full((batch,), v, dtype=torch.long)
        return cls(full(0), full(n), full(n))

    def _col(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.first.view(-1, 1), self.copy.view(-1, 1), self.n.view(-1, 1)

    def target_masks(self, T: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(first half, repeated half): which of the T target positions predict a token of the
        first copy (y[i] = x[i + 1] in first .. first+n-1) and of the repeat; (B, T) each."""
        i = torch.arange(T, device=self.n.device)
        f, c, n = self._col()
        return (i >= f - 1) & (i <= f + n - 2), (i >= c - 1) & (i <= c + n - 2)

    def induction_queries(self, T: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(which queries count (B, T), the key each should look at (B, T))."""
        q = torch.arange(T, device=self.n.device).view(1, -1)
        f, c, n = self._col()
        return (q >= c) & (q <= c + n - 2), (q - (c - f) + 1).clamp(0, T - 1)

    def prev_queries(self, T: int) -> torch.Tensor:
        """Which queries count for the previous-token score: 1 .. the last scored input."""
        q = torch.arange(T, device=self.n.device).view(1, -1)
        _, c, n = self._col()
        return (q >= 1) & (q <= c + n - 2)


def floor_fixed(seq_len: int, vocab_size: int) -> float:
    """The lowest mean loss (nats) over the T - 1 targets of the fixed layout, T = 2n.

    The n - 1 first-half targets are each uniform over V tokens and independent of everything
    before them: whatever the model, each costs at least ln V on average, and a uniform guess
    costs exactly ln V. The n repeated-half targets are copies of tokens already read
    (y[i] = x[i - n + 1]), so a model can be certain of them: cost 0. The mean over all 2n - 1
    targets is therefore

        (n - 1) / (2n - 1) * ln V:   for T = 32, V = 64, 15/31 * ln 64 = 2.012 nats.
    """
    n = seq_len // 2
    return (n - 1) / (2 * n - 1) * math.log(vocab_size)


def floor_varied(vocab_size: int) -> float:
    """The lowest mean loss (nats) over the scored targets of the varied layout: ln V / 2.

    Only the 2n random tokens of a sequence are scored, never a separator. The n of the first
    copy are each uniform over V and independent of everything before them: at least ln V on
    average for any model, exactly ln V for a uniform guess over the V tokens (the only other
    thing that can come next is a separator, which is not scored). The n of the repeat come
    after a separator that marks where it starts, and copy tokens already read: a model can be
    certain of each, cost 0. Every sequence has as many targets that cost ln V as targets that
    cost 0, so the mean over any set of sequences is ln V / 2: 2.079 nats for V = 64.
    """
    return math.log(vocab_size) / 2


def _mean_at(att: torch.Tensor, key: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    """Mean over the queries where ok (B, T) of att[b, ..., q, key[b, q]]."""
    B, T = ok.shape
    middle = att.shape[1:-2]
    flat = att.reshape(B, -1, T, T)  # (B, M, T, T)
    idx = key.expand(B, T).reshape(B, 1, T, 1).expand(B, flat.shape[1], T, 1)
    picked = flat.gather(-1, idx).squeeze(-1)  # (B, M, T): attention to the chosen key
    w = ok.to(att.dtype).view(B, 1, T)
    return ((picked * w).sum(dim=(0, 2)) / w.sum()).reshape(middle)


def induction_score(att: torch.Tensor, layout: Layout) -> torch.Tensor:
    """Mean attention from each repeated token to the token after its earlier copy.

    att: (B, ..., T, T) attention weights [batch, ..., query_pos, key_pos]. Returns att's
    middle dimensions (one layer's (B, nh, T, T) gives (nh,))."""
    T = att.shape[-1]
    ok, key = layout.induction_queries(T)
    return _mean_at(att, key, ok.expand(att.shape[0], T))


def prev_token_score(att: torch.Tensor, layout: Layout) -> torch.Tensor:
    """Mean attention from each position q >= 1 (up to the last scored input) to q - 1.
    att: (B, ..., T, T). Returns att's middle dimensions."""
    B, T = att.shape[0], att.shape[-1]
    q = torch.arange(T, device=att.device).view(1, -1)
    return _mean_at(att, (q - 1).clamp_min(0), layout.prev_queries(T).expand(B, T))


def uniform_induction_score(layout: Layout, T: int) -> float:
    """The induction score of heads that spread their attention evenly over what they may see
    (query q gives 1/(q+1) to each of positions 0..q): the score's chance level."""
    ok, _ = layout.induction_queries(T)
    q = torch.arange(T).view(1, -1).expand_as(ok)
    return float((1.0 / (q[ok] + 1)).mean())


def half_losses(logits: torch.Tensor, y: torch.Tensor,
                layout: Layout) -> tuple[float, float, float]:
    """(every scored target, first half, repeated half) mean cross-entropy.
    logits (B, T, vocab), y (B, T) with -1 where nothing is scored."""
    first, repeated = layout.target_masks(y.shape[1])
    nll = F.cross_entropy(logits.float().transpose(1, 2), y.clamp_min(0), reduction="none")
    return (nll[y >= 0].mean().item(), nll[first].mean().item(), nll[repeated].mean().item())


@dataclass(frozen=True)
class Scores:
    """What one evaluation measures, on a fixed set of sequences."""

    loss: float  # over every scored target
    first_half_loss: float  # over the first copy's targets (nothing predicts them)
    repeat_loss: float  # over the repeat's targets (each a copy of a token read before)
    induction: list[list[float]]  # [layer][head]
    prev_token: list[list[float]]  # [layer][head]

    @property
    def best_head(self) -> tuple[int, int]:
        """(layer, head) of the highest induction score (0-based; the first of a tie)."""
        return best_head(self.induction)

    @property
    def best_induction(self) -> float:
        layer, h = self.best_head
        return self.induction[layer][h]

    def metrics(self) -> dict[str, float]:
        """As EvalEvent.metrics: the losses, the best induction score, and per head
        induction_L{l}H{h} and prev_token_L{l}H{h} (counted from 1)."""
        out = {"first_half_loss": self.first_half_loss, "repeat_loss": self.repeat_loss,
               "induction_score": self.best_induction}
        for layer, row in enumerate(self.induction):
            for h, s in enumerate(row):
                out[f"induction_{head_name(layer, h)}"] = s
                out[f"prev_token_{head_name(layer, h)}"] = self.prev_token[layer][h]
        return out


def best_head(induction: Sequence[Sequence[float]]) -> tuple[int, int]:
    """(layer, head) of the highest score in [layer][head] (0-based; the first of a tie)."""
    flat = [(s, (layer, h)) for layer, row in enumerate(induction) for h, s in enumerate(row)]
    return max(flat, key=lambda p: p[0])[1]


def head_name(layer: int, head: int) -> str:
    """'L1H2' for 0-based (0, 1): layers and heads counted from 1, as the pages do."""
    return f"L{layer + 1}H{head + 1}"


def per_head(metrics: dict[str, float], kind: str, n_layer: int,
             n_head: int) -> list[list[float]]:
    """[layer][head] of `kind` ("induction" or "prev_token") back out of Scores.metrics()."""
    return [[metrics[f"{kind}_{head_name(layer, h)}"] for h in range(n_head)]
            for layer in range(n_layer)]


@torch.no_grad()
def measure(model: GPT, x: torch.Tensor, y: torch.Tensor,
            layout_of: Callable[[torch.Tensor], Layout]) -> Scores:
    """The losses and every head's scores on the sequences (x, y).

    Runs the model with its attention returned; an ablation hooked on it (gptviz.ablate) acts,
    as a head is switched off after its attention weights are computed."""
    x, y = x.to(model.device), y.to(model.device)
    layout = layout_of(x)
    layout = Layout(layout.first.to(x.device), layout.copy.to(x.device), layout.n.to(x.device))
    out = model(x, return_attention=True)
    loss, first, repeated = half_losses(out.logits, y, layout)
    att = torch.stack(out.attention, dim=1).float()  # (B, L, nh, T, T)
    return Scores(loss=loss, first_half_loss=first, repeat_loss=repeated,
                  induction=induction_score(att, layout).tolist(),
                  prev_token=prev_token_score(att, layout).tolist())
