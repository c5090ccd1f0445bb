"""Exact analysis on cases worked out by hand from document 000's sequence."""

from __future__ import annotations

import math

import pytest
import torch

from gptviz.analysis import (
    all_states,
    conditional_entropy,
    empirical_transitions,
    entropy,
    model_transition_probs,
    model_transition_probs_by_length,
    next_state,
    state_kind,
    state_space_size,
    window_transitions,
)
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, GPTConfig
from gptviz.tasks import SequenceTask
from gptviz.train import build_model


def test_state_space_sizes_match_document_000():
    assert state_space_size(2, 3) == len(all_states(2, 3)) == 8
    assert state_space_size(2, 3, include_prefixes=True) == len(all_states(2, 3, True)) == 14
    assert all_states(2, 3)[:3] == [(0, 0, 0), (0, 0, 1), (0, 1, 0)]
    assert state_space_size(3, 2) == 9


def test_next_state_crops_to_the_context():
    assert next_state((0, 1, 0), 1, 3) == (1, 0, 1)
    assert next_state((1,), 0, 3) == (1, 0)


def test_empirical_transitions_of_document_000():
    # windows of 111101111011110: 111 is followed by 1,0,1,0,1,0; 110->1, 101->1, 011->1 twice
    task = SequenceTask(DOC000_SEQUENCE, 2, 3)
    tr = empirical_transitions(*task.examples["train"])
    assert tr.counts[(1, 1, 1)] == {1: 3, 0: 3}
    assert tr.probs((1, 1, 0), 2) == [0.0, 1.0]
    assert tr.total((0, 1, 1)) == 2
    assert tr.probs((0, 0, 0), 2) is None  # never seen
    assert sum(tr.total(s) for s in tr.counts) == 12


def test_conditional_entropy_is_the_hand_computed_floor():
    task = SequenceTask(DOC000_SEQUENCE, 2, 3)
    # half the windows are "111", after which 0 and 1 are equally likely: 6/12 * ln 2
    assert conditional_entropy(*task.examples["train"]) == pytest.approx(0.5 * math.log(2))
    assert task.entropy_floor() == pytest.approx(0.34657359)
    deterministic = SequenceTask("0101010101", 2, 2)
    assert deterministic.entropy_floor() == pytest.approx(0.0)


def test_floor_counts_every_scored_position():
    # "0011" with context 2, all positions: contexts 0 ->0, 00 ->1, 0 ->1, 01 ->1
    task = SequenceTask("0011", 2, 2, last_only=False)
    # context (0,) seen twice with targets 0 and 1 -> ln 2 over 2 of the 4 scored positions
    assert task.entropy_floor() == pytest.approx(2 * math.log(2) / 4)


def test_model_transition_probs_are_distributions_over_every_prefix_length():
    torch.manual_seed(1337)
    model = build_model(DOC000_MODEL, 1337)
    states = all_states(2, 3, include_prefixes=True)
    p = model_transition_probs(model, states)
    assert p.shape == (14, 2)
    assert torch.allclose(p.sum(-1), torch.ones(14))
    assert p[states.index((0, 0, 0)), 1].item() == pytest.approx(0.5036649, abs=1e-6)


def test_one_forward_pass_over_padded_states_equals_one_pass_per_length():
    """The model is causal: padding after a state's end cannot change its last position."""
    model = build_model(GPTConfig(vocab_size=5, block_size=4, n_layer=2, n_head=2, n_embd=8,
                                  bias=True), 7)
    with torch.no_grad():  # weights far from init, so a leak from the padding would show
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    states = [(3,), (1, 4, 2, 0), (2, 2), (4, 0, 1), (0, 1, 2, 3, 4, 0)]  # last: cropped to 4
    one = model_transition_probs(model, states)
    ref = model_transition_probs_by_length(model, states)
    assert ref[0].sub(ref[2]).abs().max() > 1e-3  # the states' rows do differ
    torch.testing.assert_close(one, ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(model_transition_probs(model, states[:1]), one[:1], atol=1e-6,
                               rtol=0)  # one state alone: no padding at all
    assert model_transition_probs(model, []).shape == (0, 5)


def test_entropy_of_simple_distributions():
    p = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    assert torch.allclose(entropy(p), torch.tensor([math.log(2), 0.0]))


def test_window_transitions_count_the_prefixes_each_window_starts_with():
    # windows of 111101111011110 (T = 3) start at symbols 0..11: "111101111011" -> ten 1s
    task = SequenceTask(DOC000_SEQUENCE, 2, 3)  # only the last position scored
    x, y = task.examples["train"]
    tr = window_transitions(x, y)
    assert tr.counts[(1,)] == {1: 8, 0: 2} and tr.counts[(0,)] == {1: 2}
    assert tr.counts[(1, 1)] == {1: 6, 0: 2} and tr.total((0, 0)) == 0
    scored = empirical_transitions(x, y)  # the loss sees full windows only
    assert all(len(s) == 3 for s in scored.counts)
    assert {s: c for s, c in tr.counts.items() if len(s) == 3} == scored.counts
    # scoring every position trains on exactly these prefixes: the same counts
    every = SequenceTask(DOC000_SEQUENCE, 2, 3, last_only=False)
    assert empirical_transitions(*every.examples["train"]).counts == tr.counts
    assert window_transitions(*every.examples["train"]).counts == tr.counts
    with pytest.raises(ValueError, match="shifted"):
        window_transitions(torch.tensor([[0, 1]]), torch.tensor([[0, 1]]))  # 0 is not x[0, 1]


def test_state_kind_says_whether_training_ever_scores_a_state():
    task = SequenceTask(DOC000_SEQUENCE, 2, 3)
    tr = window_transitions(*task.examples["train"])
    assert state_kind((1, 1, 1), 3, tr, last_only=True) == "trained"
    assert state_kind((0, 0, 0), 3, tr, last_only=True) == "unseen"
    assert state_kind((1, 1), 3, tr, last_only=True) == "not scored"  # in the data, never scored
    assert state_kind((0, 0), 3, tr, last_only=True) == "not scored"
    assert state_kind((1, 1), 3, tr, last_only=False) == "trained"
    assert state_kind((0, 0), 3, tr, last_only=False) == "unseen"
