"""The GPT as a Markov chain over states: temperature, the state-to-state matrix, walks, and the
exact long-run state frequencies (document 000, "the GPT is a finite-state Markov chain").

A state is the last T tokens (gptviz.analysis.State); token t moves state s to
analysis.next_state(s, t, T). Everything here is float64 numpy: the probabilities a model gives
(gptviz.analysis.model_transition_probs, torch float32) are converted on the way in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import torch

from gptviz.analysis import State, next_state
from gptviz.i18n import _

Array = npt.NDArray[np.float64]

# Temperatures outside [TAU_MIN, TAU_MAX] are clamped into it (at_temperature says when): at
# 1e-3 a probability ratio of 0.99 becomes 0.99**1000 = 4e-5, already greedy to the eye; at 1e3
# a ratio of 1e-6 becomes 0.986, already uniform to the eye. Beyond them nothing visible changes.
TAU_MIN = 1e-3
TAU_MAX = 1e3
# The longest walk sample_walk takes: enough steps for the visit frequencies of a small chain to
# settle within about a percent of the stationary distribution, few enough to list and draw.
MAX_WALK = 10_000
# How far a row of probabilities may sum from 1 before it is refused (float32 softmax is ~1e-7).
ROW_SUM_TOL = 1e-4


def _float64(a: torch.Tensor | npt.ArrayLike) -> Array:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    return np.array(a, dtype=np.float64)


def _stochastic(a: torch.Tensor | npt.ArrayLike, what: str) -> Array:
    """A copy of `a` as float64 rows of probabilities, each renormalised to sum to exactly 1."""
    p = _float64(a)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D table, one row per state; got shape "
                         f"{p.shape}.")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{what} must hold probabilities: no negative, NaN or infinite entries.")
    sums = p.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1) > ROW_SUM_TOL)
    if bad.size:
        raise ValueError(f"each row of {what} must sum to 1; row {bad[0]} sums to "
                         f"{sums[bad[0]]:.6g}.")
    return p / sums[:, None]


def _index(states: Sequence[State]) -> dict[State, int]:
    index = {tuple(s): i for i, s in enumerate(states)}
    if len(index) != len(states):
        raise ValueError("the list of states has a state more than once.")
    return index


# ---------------------------------------------------------------------------------------------
# Temperature


class Tempered(NamedTuple):
    """at_temperature's answer: the new probabilities and the temperature actually used."""

    probs: Array  # (S, V), rows sum to 1
    tau: float  # the temperature used: the one asked for, clamped into [TAU_MIN, TAU_MAX]
    clamped: bool  # tau differs from the one asked for (the page says "clamped to ...")


def clamp_tau(tau: float) -> float:
    """tau clamped into [TAU_MIN, TAU_MAX]; 0 (greedy) and infinity (uniform) are allowed."""
    tau = float(tau)
    if math.isnan(tau) or tau < 0:
        raise ValueError(f"The temperature must be a number of 0 or more; got {tau}.")
    return min(max(tau, TAU_MIN), TAU_MAX)


def at_temperature(probs: torch.Tensor | npt.ArrayLike, tau: float) -> Tempered:
    """The chain at temperature tau: p_tau(t|s) proportional to p(t|s) ** (1 / tau).

    probs: (S, V) next-token probabilities, one row per state. tau = 1 gives probs back; small
    tau tends to greedy (all of a row on its most likely tokens, ties shared evenly); large tau
    tends to uniform over the tokens the row gives any probability (a 0 stays 0 at every tau).
    Computed as a softmax of log p / tau, so p ** 1000 does not underflow to 0 / 0 = NaN.
    """
    p = _stochastic(probs, "the probabilities")  # (S, V)
    used = clamp_tau(tau)
    if used == 1.0:
        return Tempered(p, used, used != tau)
    with np.errstate(divide="ignore"):  # log 0 = -inf: that token keeps probability 0
        logits = np.log(p) / used  # (S, V)
    logits -= logits.max(axis=1, keepdims=True)  # the largest becomes exp(0) = 1: no overflow
    q = np.exp(logits)  # (S, V)
    return Tempered(q / q.sum(axis=1, keepdims=True), used, used != tau)


# ---------------------------------------------------------------------------------------------
# The state-to-state matrix


def transition_matrix(states: Sequence[State], probs: torch.Tensor | npt.ArrayLike,
                      context: int) -> Array:
    """P[i, j] = the probability of moving from states[i] to states[j] in one token, (S, S).

    probs: (S, V), row i the next-token probabilities at states[i] (model_transition_probs).
    Every next state must be in `states`: all full-length states are closed under next_state,
    and the shorter prefixes (include_prefixes) lead into longer ones. Rows sum to 1.
    """
    p = _stochastic(probs, "the probabilities")  # (S, V)
    index = _index(states)
    if p.shape[0] != len(states):
        raise ValueError(f"{len(states)} states but {p.shape[0]} rows of probabilities.")
    matrix = np.zeros((len(states), len(states)))  # (S, S)
    for i, s in enumerate(states):
        for t in range(p.shape[1]):
            j = index.get(next_state(tuple(s), t, context))
            if j is None:
                raise ValueError(f"token {t} takes state {s} to {next_state(tuple(s), t, context)}"
                                 f", which is not in the list of states (context {context}).")
            matrix[i, j] += p[i, t]
    return matrix


# ---------------------------------------------------------------------------------------------
# Walks


class Walk(NamedTuple):
    """A sampled path through the chain."""

    states: list[State]  # steps + 1 states, the start first
    tokens: list[int]  # steps tokens: tokens[k] takes states[k] to states[k + 1]
    tau: float  # the temperature used (clamped, as at_temperature does)


def sample_walk(states: Sequence[State], probs: torch.Tensor | npt.ArrayLike, context: int,
                start: Sequence[int], steps: int, tau: float = 1.0, seed: int = 0) -> Walk:
    """Generate `steps` tokens from `start`, each drawn from the state's row at temperature tau.

    probs: (S, V) next-token probabilities at states[i]. The same seed gives the same walk
    (numpy's default Generator). steps: 1 to MAX_WALK. Its errors are for the reader (Baby
    GPT shows them): in the reader's language.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise ValueError(_("The number of steps must be a whole number; got {steps!r}.").format(
            steps=steps))
    if not 1 <= steps <= MAX_WALK:
        raise ValueError(_("A walk takes 1 to {most:,} steps; got {steps:,}.").format(
            most=MAX_WALK, steps=steps))
    index = _index(states)
    state = tuple(int(t) for t in start)
    if state not in index:
        lengths = sorted({len(s) for s in states})
        raise ValueError(_("The start {start} is not a state of this chain: a state is "
                           "{lengths} tokens, each from 0 to {last}.").format(
            start=state, lengths=_(" or ").join(map(str, lengths)),
            last=_float64(probs).shape[-1] - 1))
    tempered = at_temperature(probs, tau)
    if tempered.probs.shape[0] != len(states):
        raise ValueError(f"{len(states)} states but {tempered.probs.shape[0]} rows of "
                         "probabilities.")
    cdf = np.cumsum(tempered.probs, axis=1)  # (S, V)
    rng = np.random.default_rng(seed)
    u = rng.random(steps)  # (steps,) one uniform draw per token
    visited, tokens = [state], []
    for k in range(steps):
        row = cdf[index[state]]
        # the first token whose cumulative probability passes u; min() guards rounding at 1
        t = min(int(np.searchsorted(row, u[k] * row[-1], side="right")), len(row) - 1)
        state = next_state(state, t, context)
        if state not in index:
            raise ValueError(f"token {t} leads to {state}, which is not in the list of states.")
        visited.append(state)
        tokens.append(t)
    return Walk(visited, tokens, tempered.tau)


# ---------------------------------------------------------------------------------------------
# The long run


def closed_classes(matrix: torch.Tensor | npt.ArrayLike) -> list[list[int]]:
    """The closed communicating classes of the chain, each a sorted list of state indices.

    Computed from the nonzero pattern alone (any positive entry is a possible move): the strongly
    connected components that no move leaves. Every finite chain has at least one; a state in
    none is transient (the chain leaves it for good, so its long-run frequency is 0).
    """
    pattern = _float64(matrix) > 0  # (S, S)
    if pattern.ndim != 2 or pattern.shape[0] != pattern.shape[1]:
        raise ValueError(f"a transition matrix is square; got shape {pattern.shape}.")
    components = _strong_components(pattern)
    comp_of = np.empty(len(pattern), dtype=int)
    for c, members in enumerate(components):
        comp_of[members] = c
    closed = [sorted(m) for c, m in enumerate(components)
              if (comp_of[np.flatnonzero(pattern[m].any(axis=0))] == c).all()]
    return sorted(closed)


def _strong_components(pattern: npt.NDArray[np.bool_]) -> list[list[int]]:
    """Tarjan's strongly connected components of the graph i -> j where pattern[i, j], iterative
    (a 10,000-state chain would overflow Python's recursion limit)."""
    n = len(pattern)
    succ = [np.flatnonzero(row).tolist() for row in pattern]
    order = [-1] * n  # when DFS first reached the node
    low = [0] * n  # the earliest node reachable from its DFS subtree and still on the stack
    on_stack = [False] * n
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(n):
        if order[root] >= 0:
            continue
        work = [(root, 0)]  # (node, next successor to look at)
        while work:
            v, i = work.pop()
            if i == 0:
                order[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack[v] = True
            if i < len(succ[v]):
                work.append((v, i + 1))
                w = succ[v][i]
                if order[w] < 0:
                    work.append((w, 0))
                elif on_stack[w]:
                    low[v] = min(low[v], order[w])
                continue
            if low[v] == order[v]:  # v is the root of a component: pop it off the stack
                members = []
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    members.append(w)
                    if w == v:
                        break
                components.append(members)
            if work:  # back in v's parent: pass the low link up
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return components


@dataclass(frozen=True)
class Stationary:
    """The chain's long run, solved exactly.

    With one closed class the long-run share of time in each state is the same from every
    start: `distribution`. With several it depends on which class the walk ends up in:
    `depends_on_start` is True, `distribution` is None, and long_run(start) gives it per start.
    Shares of time (what a long walk's visit frequencies tend to) exist even for a periodic chain,
    whose distribution at step n keeps cycling.
    """

    classes: list[list[int]]  # K closed classes, state indices, ordered by their first state
    per_class: Array  # (K, S) row k: the stationary distribution on class k, 0 elsewhere
    absorption: Array  # (S, K) [i, k]: the probability that a walk from state i ends in class k
    distribution: Array | None  # (S,) the stationary distribution if unique (K == 1), else None

    @property
    def depends_on_start(self) -> bool:
        return len(self.classes) > 1

    @property
    def transient(self) -> list[int]:
        """States in no closed class: visited finitely often, long-run share 0."""
        closed = {i for c in self.classes for i in c}
        return [i for i in range(self.per_class.shape[1]) if i not in closed]

    def long_run(self, start: int) -> Array:
        """(S,) the long-run share of time in each state for a walk from state index start."""
        return self.absorption[start] @ self.per_class


def stationary(matrix: torch.Tensor | npt.ArrayLike) -> Stationary:
    """The exact long-run state frequencies of the chain with transition matrix (S, S).

    On each closed class C, pi_C solves pi_C P_CC = pi_C with sum 1; the absorption
    probabilities h solve h = Q h + R on the transient states (Q: transient to transient, R:
    transient into each class). Both are solved by Gaussian elimination arranged as state
    reduction (Grassmann, Taksar and Heyman 1985), which only adds, multiplies and divides
    positive numbers, so every entry, however small, keeps full relative precision. At small tau
    np.linalg.solve on (P^T - I) forms 1 - p_ii = 1 - (1 - 1e-84) = 0: on document 000's
    chain at tau = 1e-3 it gave entries of 1e-84 off by 13 orders of magnitude, some negative;
    this agrees with a 600-digit mpmath solve to 4e-16 (tests). Transient states get 0.
    """
    p = _stochastic(matrix, "the transition matrix")  # (S, S)
    n = len(p)
    if p.shape != (n, n):
        raise ValueError(f"a transition matrix is square; got shape {p.shape}.")
    classes = closed_classes(p)
    per_class = np.zeros((len(classes), n))  # (K, S)
    absorption = np.zeros((n, len(classes)))  # (S, K)
    for k, c in enumerate(classes):
        per_class[k, c] = _gth_stationary(p[np.ix_(c, c)])
        absorption[c, k] = 1.0
    transient = sorted(set(range(n)) - {i for c in classes for i in c})
    if transient:
        into = np.stack([p[np.ix_(transient, c)].sum(axis=1) for c in classes], axis=1)  # (m, K)
        absorption[transient] = _gth_absorption(p[np.ix_(transient, transient)], into)
    distribution = per_class[0] if len(classes) == 1 else None
    return Stationary(classes, per_class, absorption, distribution)


def _gth_stationary(p: Array) -> Array:
    """(n,) the stationary distribution of an irreducible (n, n) stochastic matrix.

    Removes states n-1, ..., 1 one at a time, each time folding the paths through the removed
    state into the rest (the chain watched only on states 0..k-1). The chance of leaving state
    k is taken as the sum of its moves to the others, never as 1 - p_kk.
    """
    a = p.copy()  # (n, n)
    n = len(a)
    for k in range(n - 1, 0, -1):
        leave = a[k, :k].sum()  # > 0: an irreducible chain can leave k for a kept state
        a[:k, k] /= leave  # expected visits to k per visit to i < k, in units of time at i
        a[:k, :k] += np.outer(a[:k, k], a[k, :k])  # i -> k -> j becomes i -> j
    pi = np.zeros(n)  # (n,)
    pi[0] = 1.0
    for k in range(1, n):
        pi[k] = pi[:k] @ a[:k, k]
    return pi / pi.sum()


def _gth_absorption(q: Array, into: Array) -> Array:
    """(m, K) the probability of ending in each closed class, from each transient state.

    q: (m, m) moves among the transient states; into: (m, K) moves from them into each class.
    Removes transient states 0, 1, ... in turn as _gth_stationary does, then reads the answers
    back from the last: from state k the walk first leaves k for a later state or a class.
    """
    m = len(q)
    a = np.concatenate([q, into], axis=1)  # (m, m + K): transient states, then the classes
    for k in range(m):
        a[k, k + 1:] /= a[k, k + 1:].sum()  # where k goes when it leaves: self-loop left out
        a[k + 1:, k + 1:] += np.outer(a[k + 1:, k], a[k, k + 1:])  # i -> k -> j becomes i -> j
    h = np.zeros_like(into)  # (m, K)
    for k in range(m - 1, -1, -1):
        h[k] = a[k, m:] + a[k, k + 1:m] @ h[k + 1:]
    return h


# ---------------------------------------------------------------------------------------------
# The data


def data_frequencies(x: torch.Tensor | npt.ArrayLike, states: Sequence[State]) -> Array:
    """(S,) the share of training windows equal to each state, to set beside the stationary
    distribution: how often the data sits in each state versus how often the model's chain does.

    x: (N, T) the windows (task.examples["train"][0]); each row is the state the model sees at
    the last position. Shorter prefix states get 0, as in the stationary distribution. Times N,
    this is how many windows each state is.
    """
    windows = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)  # (N, T)
    if windows.ndim != 2 or windows.size == 0:
        raise ValueError(f"the training windows must be a non-empty (N, T) table of tokens; "
                         f"got shape {windows.shape}.")
    index = _index(states)
    counts = Counter(tuple(w) for w in windows.astype(int).tolist())
    freq = np.zeros(len(states))  # (S,)
    for s, n in counts.items():
        if s not in index:
            raise ValueError(f"the window {s} is not in the list of states.")
        freq[index[s]] = n
    return freq / len(windows)
