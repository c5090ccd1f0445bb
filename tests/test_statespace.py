"""StateSpace: which states Baby GPT draws, and frames that redraw a step exactly."""

from __future__ import annotations

import numpy as np
import torch

from gptviz.analysis import all_states, model_transition_probs, model_transition_probs_by_length
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, GPTConfig
from gptviz.statespace import MAX_HEATMAP_STATES, StateSpace
from gptviz.tasks import SequenceTask
from gptviz.train import build_model
from gptviz.viz.attention import format_attention


def test_document_000_frames_hold_every_state_and_the_windows_attention():
    task = SequenceTask(DOC000_SEQUENCE, 2, 3)
    model = build_model(DOC000_MODEL, 1337)
    space = StateSpace(task, show_prefixes=False)
    assert space.as_graph and space.states == all_states(2, 3)
    assert len(space.recorded) == 14  # 8 states and the 6 shorter prefixes
    frame = space.recorder()(model)
    np.testing.assert_allclose(space.probs_of(frame),
                               model_transition_probs(model, space.states).numpy(), atol=1e-6)
    with_prefixes = StateSpace(task, show_prefixes=True)
    np.testing.assert_allclose(with_prefixes.probs_of(frame),
                               model_transition_probs(model, with_prefixes.states).numpy(),
                               atol=1e-6)  # the same frame serves both toggles
    w = space.windows[0]
    with torch.no_grad():
        expected = format_attention(model(torch.tensor([w]), return_attention=True).attention)
    np.testing.assert_allclose(space.attention_of(frame, w), expected, atol=1e-3)  # float16
    assert space.attention_of(frame, (0, 0, 0)) is None  # 000 is never a training window
    assert np.allclose(space.attention_of(frame, w).sum(-1), 1.0, atol=2e-3)  # rows sum to 1


def test_a_large_state_space_becomes_the_most_frequent_states():
    task = SequenceTask("0123456789" * 20, 10, 4)  # 10^4 states
    space = StateSpace(task, show_prefixes=False)
    assert not space.as_graph and len(space.states) <= MAX_HEATMAP_STATES
    assert all(len(s) == 4 for s in space.states)
    model = build_model(GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=8), 0)
    frame = space.recorder()(model)
    np.testing.assert_allclose(space.probs_of(frame),
                               model_transition_probs(model, space.states).numpy(), atol=1e-6)
    other = StateSpace(SequenceTask("9876543210" * 20, 10, 4), show_prefixes=False)
    assert other.probs_of(frame) is None  # another sequence, other states: not this frame's


def test_frames_of_states_of_every_length_match_the_model_one_length_at_a_time():
    """A frame records states of lengths 1..T: its single padded pass must give each the
    probabilities a forward over states of that length alone gives."""
    task = SequenceTask("0120210112" * 5, 3, 3)  # 3 + 9 + 27 states: all recorded
    space = StateSpace(task, show_prefixes=True)
    assert {len(s) for s in space.recorded} == {1, 2, 3}
    model = build_model(GPTConfig(vocab_size=3, block_size=3, n_layer=2, n_head=2, n_embd=8),
                        3)
    with torch.no_grad():  # far from init, so a leak from the padding would show
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    frame = space.recorder()(model)
    ref = model_transition_probs_by_length(model, space.recorded).numpy()
    assert np.abs(ref - ref.mean(0)).max() > 1e-2  # the states' rows do differ
    np.testing.assert_allclose(frame["probs"], ref, atol=1e-6)
    np.testing.assert_allclose(space.probs_of(frame),
                               model_transition_probs_by_length(model, space.states).numpy(),
                               atol=1e-6)
    assert np.allclose(frame["att"].astype(np.float32).sum(-1), 1.0, atol=2e-3)
