"""What a Baby GPT timeline frame costs next to a training step (python -m bench.frame_cost).

Under a class, a trainer thread records a frame after its steps (gptviz/live/run.py), and
py-spy showed the frame costing more than the step. The frame used to run one forward pass per
state length (three for document 000's states with their prefixes) and a fourth for the
windows' attention; it now runs one pass over every state, padded (the model is causal), with
the windows in the same batch. Both recorders are timed here in turns, one torch thread, beside
a training step, for document 000 and for the largest state space the page draws as a graph.
Writes bench/results/frame_cost.json.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from bench.common import (
    fmt_spread,
    interleaved,
    machine,
    paired_ratios,
    summarize,
    table,
    write_json,
)
from gptviz.analysis import model_transition_probs_by_length
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, GPTConfig, TrainConfig
from gptviz.model import GPT
from gptviz.statespace import StateSpace
from gptviz.tasks import SequenceTask
from gptviz.train import Trainer, build_model


def per_length_recorder(space: StateSpace):
    """The recorder as it was before: a pass per state length, then one for the windows."""
    recorded, windows = list(space.recorded), list(space.windows)

    @torch.no_grad()
    def record(model: GPT) -> dict:
        probs = model_transition_probs_by_length(model, recorded).numpy().astype(np.float32)
        att = model(torch.tensor(windows, dtype=torch.long), return_attention=True).attention
        att = torch.stack([a.float() for a in att], dim=1)
        return {"probs": probs, "att": att.numpy().astype(np.float16)}

    return record


CASES = {
    "document 000 (14 states, 4 layers x 4 heads, 16 dims)":
        (SequenceTask(DOC000_SEQUENCE, 2, 3), DOC000_MODEL),
    "V 2, T 5 (62 states), 4 layers x 4 heads, 64 dims":
        (SequenceTask("".join(format(i, "05b") for i in range(32)) * 2, 2, 5),
         GPTConfig(vocab_size=2, block_size=5, n_layer=4, n_head=4, n_embd=64)),
}


def run(repeats: int) -> dict:
    torch.set_num_threads(1)
    out: dict = {"machine": machine(), "cases": []}
    for name, (task, config) in CASES.items():
        space = StateSpace(task, show_prefixes=True)
        trainer = Trainer(build_model(config, 1337), task, TrainConfig(max_steps=10**6))
        model = trainer.model
        new, old = space.recorder(), per_length_recorder(space)
        np.testing.assert_allclose(new(model)["probs"], old(model)["probs"], atol=1e-6)
        times, calls = interleaved(
            {"one pass": lambda m=model, f=new: f(m), "per length": lambda m=model, f=old: f(m),
             "train step": trainer.step}, repeats=repeats, sample_seconds=0.2, warmup=20)
        row = {"case": name, "states": len(space.recorded), "windows": len(space.windows),
               "calls_per_sample": calls,
               **{k: summarize(v) for k, v in times.items()},
               "per_length_over_one_pass": summarize(paired_ratios(times["per length"],
                                                                   times["one pass"]))}
        out["cases"].append(row)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=15)
    res = run(p.parse_args().repeats)
    rows = [[c["case"], fmt_spread(c["train step"], 1e3), fmt_spread(c["per length"], 1e3),
             fmt_spread(c["one pass"], 1e3),
             f"{c['per_length_over_one_pass']['median']:.2f}x"] for c in res["cases"]]
    print(table(rows, ["case", "train step ms", "frame ms, per length (before)",
                       "frame ms, one pass (now)", "ratio"]))
    print(f"wrote {write_json('frame_cost', res)}")


if __name__ == "__main__":
    main()
