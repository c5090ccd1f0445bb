"""What Baby GPT shows of a sequence task's Markov chain, as data: no drawing, no UI.

A GPT with vocabulary V and context T is a chain over states (the last T tokens, and the
shorter prefixes a sequence starts with). `StateSpace` decides which states a page can draw
(all of them up to MAX_GRAPH_STATES, else the most frequent in the data, as a heatmap), and
makes the timeline's recorder: a frame holds the model's next-token probabilities for every
state the page may show and the attention of the most frequent training windows, so a
recorded step can be drawn again exactly, whatever the page's toggles say by then.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch

from gptviz.analysis import (
    State,
    all_states,
    empirical_transitions,
    padded_states,
    state_space_size,
    window_transitions,
)
from gptviz.live.timeline import Frame, Recorder
from gptviz.model import GPT
from gptviz.tasks import SequenceTask

MAX_GRAPH_STATES = 64  # beyond this a graph stops being readable: a heatmap instead
MAX_HEATMAP_STATES = 32  # rows of that heatmap: the states most frequent in the data
MAX_RECORDED_WINDOWS = 32  # training windows whose attention each frame keeps


@dataclass
class StateSpace:
    task: SequenceTask
    show_prefixes: bool
    states: list[State] = field(init=False)  # what the page draws, in order
    as_graph: bool = field(init=False)  # a graph (True) or a heatmap of the frequent states
    recorded: list[State] = field(init=False)  # states whose probabilities a frame keeps
    windows: list[State] = field(init=False)  # training windows whose attention it keeps

    def __post_init__(self) -> None:
        V, T = self.task.vocab_size, self.task.block_size
        x, y = self.task.examples["train"]
        self.transitions = empirical_transitions(x, y)  # what the loss scores
        self.in_windows = window_transitions(x, y)  # every position, prefixes included
        self.as_graph = state_space_size(V, T, self.show_prefixes) <= MAX_GRAPH_STATES
        frequent = sorted(self.transitions.counts, key=lambda s: -self.transitions.total(s))
        if self.as_graph:
            self.states = all_states(V, T, self.show_prefixes)
        else:
            self.states = [s for s in frequent
                           if self.show_prefixes or len(s) == T][:MAX_HEATMAP_STATES]
        every = state_space_size(V, T, True)
        self.recorded = (all_states(V, T, True) if every <= MAX_GRAPH_STATES
                         else self.states)
        counts = Counter(tuple(r) for r in x.tolist())
        self.windows = [w for w, _ in counts.most_common(MAX_RECORDED_WINDOWS)]
        self._row = {s: i for i, s in enumerate(self.recorded)}
        self._recorded_ids = _padded(self.recorded, T)
        self._window_ids = _padded(self.windows, T)

    def total_states(self) -> int:
        return state_space_size(self.task.vocab_size, self.task.block_size, self.show_prefixes)

    # --- frames for the timeline ---------------------------------------------------------
    def recorder(self) -> Recorder:
        """model -> frame: "probs" (len(recorded), V) float32 and "att" (windows, layer, head,
        T, T) float16, the attention weights of each recorded window."""
        recorded, windows = list(self.recorded), list(self.windows)

        @torch.no_grad()
        def record(model: GPT) -> Frame:
            # one forward pass for everything: the states (of every length, padded: the model
            # is causal) and the windows, whose attention the same pass computes
            model.eval()
            ids, last = padded_states(recorded + windows, model.config.block_size)
            out = model(ids.to(model.lm_head.weight.device), return_attention=True)
            n = len(recorded)
            logits = out.logits[torch.arange(n), last[:n].to(out.logits.device)]
            probs = torch.softmax(logits.float(), dim=-1).cpu().numpy().astype(np.float32)
            att = torch.stack([a[n:].float().cpu() for a in out.attention], dim=1)
            return {"probs": probs, "att": att.numpy().astype(np.float16),  # (N, layer, nh, T, T)
                    "states": self._recorded_ids, "windows": self._window_ids}

        return record

    def probs_of(self, frame: Frame) -> np.ndarray | None:
        """The drawn states' rows of a frame, (len(states), V); None if the frame was
        recorded for other states (the sequence changed since)."""
        rows = [self._row.get(s) for s in self.states]
        if any(r is None for r in rows) or not np.array_equal(frame["states"],
                                                               self._recorded_ids):
            return None
        return frame["probs"][rows].astype(np.float64)

    def attention_of(self, frame: Frame, window: State) -> np.ndarray | None:
        """[layer, head, T, T] of `window` in the frame, or None if it was not recorded."""
        if window not in self.windows or not np.array_equal(frame["windows"], self._window_ids):
            return None
        return frame["att"][self.windows.index(window)].astype(np.float32)


def _padded(states: list[State], T: int) -> np.ndarray:
    """States as one (len, T) int16 array, -1 after a shorter state's end: a frame's label."""
    out = np.full((len(states), T), -1, dtype=np.int16)
    for i, st in enumerate(states):
        out[i, :len(st)] = st
    return out
