"""The GPT as a Markov chain: temperature, transition matrix, walks, exact stationary frequencies.

Oracles: hand-solved chains (2-state, absorbing), p ** (1 / tau) computed directly, next_state
for every move, and long simulated walks for the stationary distribution.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from gptviz.analysis import all_states, model_transition_probs, next_state
from gptviz.chain import (
    MAX_WALK,
    TAU_MAX,
    TAU_MIN,
    at_temperature,
    closed_classes,
    data_frequencies,
    sample_walk,
    stationary,
    transition_matrix,
)
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE
from gptviz.tasks import SequenceTask
from gptviz.train import build_model

T = DOC000_MODEL.block_size  # 3
V = DOC000_MODEL.vocab_size  # 2
TWO_STATE = np.array([[0.9, 0.1], [0.5, 0.5]])  # pi = [5/6, 1/6]: 0.1 pi_0 = 0.5 pi_1


@pytest.fixture(scope="module")
def doc000_chain() -> tuple[list[tuple[int, ...]], np.ndarray]:
    """Document 000's untrained model: its 8 full states and their (8, 2) probabilities."""
    model = build_model(DOC000_MODEL, 1337)
    states = all_states(V, T)
    return states, model_transition_probs(model, states).double().numpy()


def _walk_frequencies(states, probs, context, start, n_walks):
    """Visit shares over n_walks chained walks of MAX_WALK steps (each starts where the last
    ended), counting every state after the start once."""
    counts: Counter = Counter()
    for seed in range(n_walks):
        walk = sample_walk(states, probs, context, start, MAX_WALK, seed=seed)
        counts.update(walk.states[1:])
        start = walk.states[-1]
    return np.array([counts[s] for s in states]) / (n_walks * MAX_WALK)


# --- temperature -----------------------------------------------------------------------------


PROBS = np.array([[0.7, 0.2, 0.1], [1e-30, 1 - 1e-30, 0.0], [0.4, 0.4, 0.2], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize("tau", [0.0, 1e-3, 0.1, 0.5, 1.0, 2.0, 10.0, 1e3, 1e6])
def test_rows_sum_to_one_at_every_temperature(tau):
    q = at_temperature(PROBS, tau).probs
    assert np.isfinite(q).all() and (q >= 0).all()
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
    assert (q[PROBS == 0] == 0).all()  # a token the model never gives stays impossible


def test_temperature_one_returns_the_input():
    out = at_temperature(PROBS, 1.0)
    np.testing.assert_allclose(out.probs, PROBS, rtol=1e-15, atol=0)
    assert out.tau == 1.0 and not out.clamped


def test_temperature_is_p_to_the_one_over_tau():
    p = PROBS[0]
    for tau in (0.5, 2.0, 3.0):
        direct = p ** (1 / tau) / (p ** (1 / tau)).sum()
        np.testing.assert_allclose(at_temperature(PROBS, tau).probs[0], direct, rtol=1e-12)


def test_small_temperature_is_greedy_with_ties_split():
    out = at_temperature(PROBS, 0.0)
    assert out.clamped and out.tau == TAU_MIN
    # row 1: 1e-30 ** 1000 underflows in linear space (0 / 0 = NaN); in log space it is 0
    np.testing.assert_allclose(out.probs, [[1, 0, 0], [0, 1, 0], [0.5, 0.5, 0], [1, 0, 0]],
                               atol=1e-100)
    # the same at 1e-3 asked for directly, unclamped; and against a torch argmax one-hot
    small = at_temperature(torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]), 1e-3)
    assert not small.clamped
    one_hot = torch.nn.functional.one_hot(torch.tensor([1, 0]), 3).double().numpy()
    np.testing.assert_allclose(small.probs, one_hot, atol=1e-100)


def test_large_temperature_tends_to_uniform():
    out = at_temperature(PROBS, 1e6)
    assert out.clamped and out.tau == TAU_MAX
    np.testing.assert_allclose(out.probs[0], 1 / 3, atol=1e-2)  # all tokens possible
    np.testing.assert_allclose(out.probs[3], [1, 0, 0])  # only one possible: stays there
    assert not at_temperature(PROBS, 1e3).clamped


@pytest.mark.parametrize("tau", [-1.0, float("nan")])
def test_bad_temperature_is_refused(tau):
    with pytest.raises(ValueError, match="temperature must be a number of 0 or more"):
        at_temperature(PROBS, tau)


def test_probabilities_that_are_not_rows_of_probabilities_are_refused():
    with pytest.raises(ValueError, match="sum to 1; row 0"):
        at_temperature([[0.5, 0.2]], 1.0)
    with pytest.raises(ValueError, match="no negative"):
        at_temperature([[1.5, -0.5]], 1.0)


# --- transition matrix -----------------------------------------------------------------------


def test_doc000_matrix_follows_next_state(doc000_chain):
    states, probs = doc000_chain
    m = transition_matrix(states, probs, T)
    assert m.shape == (8, 8)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-12)
    for i, s in enumerate(states):
        assert np.count_nonzero(m[i]) == 2  # an untrained softmax gives both tokens some mass
        for t in range(V):
            j = states.index(s[1:] + (t,))
            assert m[i, j] == pytest.approx(probs[i, t] / probs[i].sum(), rel=1e-12)


def test_prefixes_lead_into_longer_states(doc000_chain):
    model = build_model(DOC000_MODEL, 1337)
    states = all_states(V, T, include_prefixes=True)  # 2 + 4 + 8 = 14
    m = transition_matrix(states, model_transition_probs(model, states), T)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-12)
    for i, s in enumerate(states):
        for j in np.flatnonzero(m[i]):
            assert len(states[j]) == min(len(s) + 1, T)
    # prefixes are transient: the long run lives on the 8 full states, as without them
    st = stationary(m)
    full = [i for i, s in enumerate(states) if len(s) == T]
    assert st.classes == [full] and st.transient == [i for i in range(6)]
    assert (st.distribution[:6] == 0).all()
    full_only = stationary(transition_matrix(*doc000_chain, T)).distribution
    np.testing.assert_allclose(st.distribution[6:], full_only, atol=1e-12)


def test_matrix_needs_every_next_state():
    states = all_states(2, 2)[:-1]  # (1, 1) missing
    with pytest.raises(ValueError, match="not in the list of states"):
        transition_matrix(states, np.full((3, 2), 0.5), 2)
    with pytest.raises(ValueError, match="4 states but 3 rows"):
        transition_matrix(all_states(2, 2), np.full((3, 2), 0.5), 2)


# --- stationary ------------------------------------------------------------------------------


def test_two_state_chain_solved_by_hand():
    st = stationary(TWO_STATE)
    np.testing.assert_allclose(st.distribution, [5 / 6, 1 / 6], rtol=1e-12)
    np.testing.assert_allclose(st.distribution @ TWO_STATE, st.distribution, atol=1e-15)
    assert st.classes == [[0, 1]] and not st.depends_on_start and st.transient == []
    # the same chain as a GPT with context 1: state (t,) -> (t',) with probability P[t, t']
    states = [(0,), (1,)]
    np.testing.assert_array_equal(transition_matrix(states, TWO_STATE, 1), TWO_STATE)
    freq = _walk_frequencies(states, TWO_STATE, 1, (0,), n_walks=3)
    np.testing.assert_allclose(freq, [5 / 6, 1 / 6], atol=0.02)


def test_doc000_stationary_is_invariant_and_matches_a_long_walk(doc000_chain):
    states, probs = doc000_chain
    m = transition_matrix(states, probs, T)
    pi = stationary(m).distribution
    assert pi.sum() == pytest.approx(1.0, abs=1e-12) and (pi > 0).all()
    np.testing.assert_allclose(pi @ m, pi, atol=1e-12)
    np.testing.assert_allclose(_walk_frequencies(states, probs, T, (1, 1, 1), 3), pi, atol=0.02)


def test_two_absorbing_states_give_two_closed_classes():
    # 0 and 2 absorb; from 1 the walk stays (0.2), falls to 0 (0.3) or to 2 (0.5)
    p = np.array([[1.0, 0.0, 0.0], [0.3, 0.2, 0.5], [0.0, 0.0, 1.0]])
    st = stationary(p)
    assert st.classes == [[0], [2]] and st.depends_on_start and st.distribution is None
    assert st.transient == [1]
    np.testing.assert_allclose(st.per_class, [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_allclose(st.absorption[1], [0.3 / 0.8, 0.5 / 0.8], rtol=1e-12)
    np.testing.assert_allclose(st.long_run(1), [0.375, 0, 0.625], rtol=1e-12)
    np.testing.assert_allclose(st.long_run(2), [0, 0, 1])


def test_closed_classes_from_the_pattern_only():
    # 0 <-> 1 closed; 2 -> 3 -> 2 closed; 4 leads into both, 5 into 4: transient
    p = np.zeros((6, 6))
    p[0, 1] = p[1, 0] = p[2, 3] = p[3, 2] = 1.0
    p[4, [0, 2, 4]] = [0.25, 0.25, 0.5]
    p[5, [4, 5]] = 0.5
    assert closed_classes(p) == [[0, 1], [2, 3]]
    st = stationary(p)
    np.testing.assert_allclose(st.per_class, [[0.5, 0.5, 0, 0, 0, 0], [0, 0, 0.5, 0.5, 0, 0]])
    np.testing.assert_allclose(st.absorption[[4, 5]], [[0.5, 0.5], [0.5, 0.5]])
    # periodic class (0 -> 1 -> 0): no limit at step n, but the share of time is 1/2 each
    np.testing.assert_allclose(stationary([[0, 1], [1, 0]]).distribution, [0.5, 0.5])


def test_a_greedy_chain_splits_where_a_tempered_one_does_not():
    # context 2, "repeat the last token" with probability 0.9: 00 and 11 absorb when greedy
    states = all_states(2, 2)  # 00, 01, 10, 11
    probs = np.array([[0.9, 0.1] if s[-1] == 0 else [0.1, 0.9] for s in states])
    greedy = stationary(transition_matrix(states, np.eye(2)[probs.argmax(axis=1)], 2))
    assert greedy.classes == [[0], [3]] and greedy.transient == [1, 2]
    np.testing.assert_allclose(greedy.absorption, [[1, 0], [0, 1], [1, 0], [0, 1]])
    # at the smallest temperature the rare moves (0.1 / 0.9) ** 1000 = 6e-955 underflow to 0
    # and the chain splits the same way; at tau = 0.1 they are 3e-10: one class, half each
    assert stationary(transition_matrix(states, at_temperature(probs, 0).probs, 2)).classes \
        == [[0], [3]]
    warm = stationary(transition_matrix(states, at_temperature(probs, 0.1).probs, 2))
    assert warm.classes == [[0, 1, 2, 3]]
    np.testing.assert_allclose(warm.distribution[[0, 3]], 0.5, rtol=1e-9)


def test_closed_classes_match_reachability_on_random_patterns():
    # oracle: i is in a closed class iff every state it reaches reaches it back
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 12, 30):
        for _ in range(20):
            pattern = rng.random((n, n)) < rng.uniform(0.02, 0.3)
            pattern[pattern.sum(axis=1) == 0, 0] = True  # every row needs somewhere to go
            reach = np.eye(n, dtype=bool) | pattern
            for _ in range(n.bit_length()):
                reach = reach | ((reach.astype(int) @ reach.astype(int)) > 0)
            expected = sorted({tuple(np.flatnonzero(reach[i]))
                               for i in range(n) if reach[:, i][reach[i]].all()})
            got = closed_classes(pattern / pattern.sum(axis=1, keepdims=True))
            assert [tuple(c) for c in got] == expected


def test_small_temperature_stationary_matches_high_precision(doc000_chain):
    # at tau = 1e-3 rare moves have probability ~1e-84 to 1e-168: the chain is still one class,
    # and each tiny stationary entry must keep its relative precision (see stationary)
    mpmath = pytest.importorskip("mpmath")
    states, probs = doc000_chain
    m = transition_matrix(states, at_temperature(probs, 1e-3).probs, T)
    pi = stationary(m).distribution
    with mpmath.workdps(600):
        n = len(m)
        a = mpmath.matrix(n, n)  # (P^T - I) pi = 0, the diagonal from the off-diagonal sums
        for i in range(n):
            for j in range(n):
                a[i, j] = m[j, i] if i != j else -mpmath.fsum(m[i, k] for k in range(n) if k != i)
        for j in range(n):
            a[n - 1, j] = 1  # ... and sum(pi) = 1
        exact = mpmath.lu_solve(a, mpmath.matrix([0] * (n - 1) + [1]))
        exact = np.array([float(v) for v in exact])
    assert exact.min() < 1e-150  # the case that needs the care
    np.testing.assert_allclose(pi, exact, rtol=1e-12, atol=0)


# --- walks -----------------------------------------------------------------------------------


def test_walk_is_reproducible_and_legal(doc000_chain):
    states, probs = doc000_chain
    m = transition_matrix(states, probs, T)
    a = sample_walk(states, probs, T, (0, 0, 0), 200, tau=1.0, seed=7)
    b = sample_walk(states, probs, T, (0, 0, 0), 200, tau=1.0, seed=7)
    c = sample_walk(states, probs, T, (0, 0, 0), 200, tau=1.0, seed=8)
    assert a == b and a.states != c.states
    assert len(a.states) == 201 and len(a.tokens) == 200 and a.states[0] == (0, 0, 0)
    for k, t in enumerate(a.tokens):
        assert a.states[k + 1] == next_state(a.states[k], t, T)
        assert m[states.index(a.states[k]), states.index(a.states[k + 1])] > 0


def test_greedy_walk_follows_the_argmax(doc000_chain):
    states, probs = doc000_chain
    walk = sample_walk(states, probs, T, [1, 0, 1], 20, tau=0.0, seed=3)
    assert walk.tau == TAU_MIN
    for s, t in zip(walk.states, walk.tokens, strict=False):
        assert t == int(np.argmax(probs[states.index(s)]))


def test_walk_from_a_prefix_enters_the_full_states():
    states = all_states(2, 3, include_prefixes=True)
    walk = sample_walk(states, np.full((14, 2), 0.5), 3, (1,), 5, seed=0)
    assert [len(s) for s in walk.states] == [1, 2, 3, 3, 3, 3]


@pytest.mark.parametrize("steps, message", [(0, "1 to 10,000 steps; got 0"),
                                            (1_000_000, "got 1,000,000"),
                                            (2.5, "whole number")])
def test_walk_length_is_limited(doc000_chain, steps, message):
    with pytest.raises(ValueError, match=message):
        sample_walk(*doc000_chain, T, (0, 0, 0), steps)


@pytest.mark.parametrize("start", [(0, 2, 1), (0, 1), ()])
def test_walk_from_an_unknown_state_is_refused(doc000_chain, start):
    with pytest.raises(ValueError, match=r"is not a state of this chain: a state is 3 tokens, "
                                         r"each from 0 to 1"):
        sample_walk(*doc000_chain, T, start, 10)


# --- data ------------------------------------------------------------------------------------


def test_data_frequencies_of_document_000(doc000_chain):
    # windows of 111101111011110: 111 six times, 110, 101 and 011 twice each
    x, _ = SequenceTask(DOC000_SEQUENCE, V, T).examples["train"]
    states, _ = doc000_chain
    freq = data_frequencies(x, states)
    expected = dict.fromkeys(states, 0.0) | {(1, 1, 1): 0.5, (1, 1, 0): 1 / 6,
                                             (1, 0, 1): 1 / 6, (0, 1, 1): 1 / 6}
    np.testing.assert_allclose(freq, [expected[s] for s in states], rtol=1e-12)
    with_prefixes = all_states(V, T, include_prefixes=True)
    freq_p = data_frequencies(x.numpy(), with_prefixes)
    assert (freq_p[:6] == 0).all() and freq_p.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="non-empty"):
        data_frequencies(x[0], states)
    with pytest.raises(ValueError, match="not in the list of states"):
        data_frequencies(x, states[:-1])


def test_stationary_figure_draws_both_shares_per_state():
    from gptviz.viz.chain import stationary_figure

    fig = stationary_figure(["a", "b"], np.array([5 / 6, 1 / 6]), np.array([0.5, 0.5]))
    chain, data = fig.data
    assert list(chain.x) == ["a", "b"] and list(chain.y) == pytest.approx([5 / 6, 1 / 6])
    assert list(data.y) == [0.5, 0.5] and fig.layout.font.size >= 14
    with pytest.raises(ValueError):
        stationary_figure(["a"], np.array([1.0, 0.0]), np.array([1.0]))
