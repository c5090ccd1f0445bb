"""Exact quantities behind the pictures: a GPT as a finite-state Markov chain.

With vocabulary V and context T, the model's next-token distribution depends only on the last
T tokens, so it is a Markov chain over V**T states (document 000's "state space"); counting the
shorter prefixes a sequence starts with gives sum(V**i for i in 1..T) (the "actual state space").
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Literal

import torch

State = tuple[int, ...]


def all_states(vocab_size: int, context: int, include_prefixes: bool = False) -> list[State]:
    """Every token sequence of length `context` (and the shorter ones, if asked), in order."""
    lengths = range(1, context + 1) if include_prefixes else [context]
    return [s for n in lengths for s in itertools.product(range(vocab_size), repeat=n)]


def state_space_size(vocab_size: int, context: int, include_prefixes: bool = False) -> int:
    if include_prefixes:
        return sum(vocab_size**i for i in range(1, context + 1))
    return vocab_size**context


def next_state(state: State, token: int, context: int) -> State:
    """Append the token, then crop to the context window (document 000's `xi[1:] + [t]`)."""
    return (state + (token,))[-context:]


def padded_states(states: list[State], block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """States as one (len(states), L) batch, each cropped to its last block_size tokens and
    padded on the right with token 0, and the index of each one's last real token.

    The model is causal: a position's logits depend only on the tokens at and before it, so
    the padding after a state's end changes nothing the state's own last position computes.
    """
    cropped = [s[-block_size:] for s in states]
    length = max((len(s) for s in cropped), default=1)
    ids = torch.zeros(len(cropped), length, dtype=torch.long)
    for i, s in enumerate(cropped):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return ids, torch.tensor([len(s) - 1 for s in cropped], dtype=torch.long)


@torch.no_grad()
def model_transition_probs(model: torch.nn.Module, states: list[State]) -> torch.Tensor:
    """P(next token | state) under the model, (len(states), V): one forward pass for every
    state, whatever their lengths (see padded_states)."""
    model.eval()
    if not states:
        return torch.empty(0, model.config.vocab_size)
    ids, last = padded_states(states, model.config.block_size)
    logits = model(ids.to(model.lm_head.weight.device)).logits
    logits = logits[torch.arange(len(states), device=logits.device), last.to(logits.device)]
    return torch.softmax(logits.float(), dim=-1).cpu()


@torch.no_grad()
def model_transition_probs_by_length(model: torch.nn.Module,
                                     states: list[State]) -> torch.Tensor:
    """The same as model_transition_probs, one forward pass per state length, no padding: the
    reference the one-pass version is tested against."""
    model.eval()
    out = torch.empty(len(states), model.config.vocab_size)
    by_len: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(states):
        by_len[len(s)].append(i)
    device = model.lm_head.weight.device
    for n, rows in by_len.items():
        x = torch.tensor([states[i] for i in rows], dtype=torch.long, device=device).view(-1, n)
        out[rows] = model.next_token_probs(x).cpu()
    return out


@dataclass(frozen=True)
class Transitions:
    """Counts of next tokens after each context seen in the data."""

    counts: dict[State, Counter[int]]

    def probs(self, state: State, vocab_size: int) -> list[float] | None:
        c = self.counts.get(state)
        if not c:
            return None
        total = sum(c.values())
        return [c[t] / total for t in range(vocab_size)]

    def total(self, state: State) -> int:
        return sum(self.counts.get(state, Counter()).values())


def empirical_transitions(x: torch.Tensor, y: torch.Tensor) -> Transitions:
    """For each scored position, the context the model sees there -> the target that followed.

    x, y: (N, T) inputs and targets, -1 marking positions without a target.
    """
    counts: dict[State, Counter[int]] = defaultdict(Counter)
    xs, ys = x.tolist(), y.tolist()
    for row_x, row_y in zip(xs, ys, strict=True):
        for t, target in enumerate(row_y):
            if target >= 0:
                counts[tuple(row_x[: t + 1])][target] += 1
    return Transitions(dict(counts))


def window_transitions(x: torch.Tensor, y: torch.Tensor) -> Transitions:
    """For every position of every window, scored or not: the context there -> the next token.

    x, y: (N, T) windows and their targets, y[:, t] the token after x[:, t], -1 where the loss
    does not score it. A window's own next token is known at every position: x[:, t + 1] for
    t < T - 1, y[:, -1] at the end. So the shorter prefixes a window starts with are counted
    even when only the last position is scored (document 000's setting); with every position
    scored this equals empirical_transitions(x, y).
    """
    if x.shape != y.shape or x.dim() != 2:
        raise ValueError(f"expected two (N, T) tensors, got {tuple(x.shape)} and {tuple(y.shape)}")
    if (y[:, -1] < 0).any():
        raise ValueError("every window needs the token after it (y[:, -1]) to count its prefixes")
    nxt = torch.cat([x[:, 1:], y[:, -1:]], dim=1)
    scored = y >= 0
    if not torch.equal(nxt[scored], y[scored]):
        raise ValueError("y is not x shifted by one position: not windows of one sequence")
    return empirical_transitions(x, nxt)


# How the loss treats a state: "trained" (scored positions have it as their context), "not
# scored" (a prefix shorter than the context while only the last position is scored: it does
# occur in the data, at the start of windows, but no loss is ever computed there), "unseen"
# (never in the data).
StateKind = Literal["trained", "not scored", "unseen"]


def state_kind(state: State, context: int, transitions: Transitions,
               last_only: bool) -> StateKind:
    """Whether training ever scores the model at `state` (see StateKind).

    transitions: what follows each context in the data; last_only: the loss scores only the
    last position of each window, so a shorter state is never scored however often it occurs.
    """
    if last_only and len(state) < context:
        return "not scored"
    return "trained" if transitions.total(state) > 0 else "unseen"


def conditional_entropy(x: torch.Tensor, y: torch.Tensor) -> float:
    """H(next | context) of the data in nats: the lowest mean cross-entropy any model that sees
    that context can reach on these examples (the floor under the loss curve)."""
    tr = empirical_transitions(x, y)
    n_total = sum(sum(c.values()) for c in tr.counts.values())
    if n_total == 0:
        raise ValueError("no scored positions")
    h = 0.0
    for c in tr.counts.values():
        n = sum(c.values())
        h -= sum(k * math.log(k / n) for k in c.values())
    return h / n_total


def entropy(p: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Entropy in nats of probability vectors along dim (0 log 0 = 0)."""
    return -(p * torch.log(p.clamp_min(1e-30))).sum(dim)
