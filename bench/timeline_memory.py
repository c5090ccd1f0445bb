"""How much a Baby GPT run's timeline holds after 10,000 steps (python -m bench.timeline_memory).

Frames are recorded as the page records them (gptviz/statespace.py), for document 000 and for
the largest state space the page draws as a graph (64 states, with the page's largest model);
the timeline's thinning is replayed for 10,000 steps without training (the frame's size does
not depend on the weights).
"""

from __future__ import annotations

import json

from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, GPTConfig
from gptviz.live.timeline import Timeline, frame_bytes
from gptviz.statespace import StateSpace
from gptviz.tasks import SequenceTask
from gptviz.train import build_model

STEPS = 10_000


def measure(name: str, task: SequenceTask, config: GPTConfig) -> dict:
    space = StateSpace(task, show_prefixes=False)
    frame = space.recorder()(build_model(config, 0))
    timeline = Timeline()
    for step in range(STEPS + 1):
        if timeline.due(step):
            timeline.add(step, frame)
    steps = timeline.recorded()
    return {"case": name, "states_drawn": len(space.states), "frame_bytes": frame_bytes(frame),
            "frames_kept": len(steps), "spacing": timeline.stride, "last_step": steps[-1],
            "timeline_mb": round(timeline.nbytes() / 1e6, 2)}


def main() -> None:
    rows = [
        measure("document 000", SequenceTask(DOC000_SEQUENCE, 2, 3), DOC000_MODEL),
        measure("64 states (V 2, T 6), 8 layers x 16 heads, 256 dims",
                SequenceTask("".join(format(i, "06b") for i in range(64)) * 2, 2, 6),
                GPTConfig(vocab_size=2, block_size=6, n_layer=8, n_head=16, n_embd=256)),
    ]
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
