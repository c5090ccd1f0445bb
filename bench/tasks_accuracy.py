"""Steps and seconds until the sorting and addition presets get 99% of their held-out problems.

    python -m bench.tasks_accuracy                       # the two presets the app opens with
    python -m bench.tasks_accuracy --seeds 1337 1 2 3    # more seeds
    python -m bench.tasks_accuracy --preset addition/3-digit --max-steps 20000

One torch thread, as app.py sets. Each run does what the page does: a training step, and every
eval_interval steps an evaluation (validation loss and held-out accuracy); "seconds" counts
both, so it is the time a student waits in the app, pauses aside. On a shared host the load
stretches that wall time; "CPU s" (the process's CPU time for the same run) barely moves with it.
"held-out" is the accuracy at the last evaluation, "train" the same measure on the training
problems (all of them, or 1,000 drawn when there are more): a preset that memorises shows a
high train and a low held-out accuracy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from gptviz.milestone import TargetWatch
from gptviz.tasks.presets import PRESETS
from gptviz.tasks.problems import ProblemTask
from gptviz.train import Trainer, build_model


def train_accuracy(model: torch.nn.Module, task: ProblemTask, most: int = 1_000) -> float:
    """Exact-match accuracy on the training problems: all of them up to `most`, else a draw."""
    if task.num_problems - len(task.val_ids) <= most:
        ids = task.train_ids()
    else:
        ids = task.sample_train_ids(most, torch.Generator().manual_seed(0))
    return task.answer_correct(model, ids).all(dim=1).float().mean().item()


def time_to_target(task_name: str, preset_name: str, seed: int, max_steps: int | None,
                   target: float) -> dict:
    preset = PRESETS[task_name][preset_name]
    task, mcfg, tcfg = preset.build(train={"seed": seed})
    trainer = Trainer(build_model(mcfg, seed), task, tcfg)
    watch = TargetWatch(target)
    trainer.add_callback(watch)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.run(max_steps or tcfg.max_steps, should_stop=lambda: watch.reached_step is not None)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"held_out": task.metrics(trainer.model)["accuracy"],  # after the last step
            "train": train_accuracy(trainer.model, task),
            "preset": f"{task_name}/{preset_name}", "seed": seed,
            "params": trainer.model.num_params(), "steps": watch.reached_step,
            "seconds": watch.reached_seconds, "wall": wall, "cpu": cpu, "ran": trainer.step_count,
            "ms_per_step": 1000 * wall / max(1, trainer.step_count)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", nargs="*", default=["sorting/minGPT", "addition/2-digit"])
    parser.add_argument("--seeds", nargs="*", type=int, default=[1337, 1, 2])
    parser.add_argument("--max-steps", type=int, help="default: the preset's own")
    parser.add_argument("--target", type=float, default=0.99)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, load average {os.getloadavg()[0]:.2f}")
    print(f"{'preset':<18} {'seed':>5} {'params':>7} {'steps to 99%':>13} {'seconds':>8} "
          f"{'CPU s':>6} {'ms/step':>8} {'held-out':>8} {'train':>6}")
    for name in args.preset:
        task_name, preset_name = name.split("/")
        results = []
        for seed in args.seeds:
            r = time_to_target(task_name, preset_name, seed, args.max_steps, args.target)
            results.append(r)
            steps = f"{r['steps']:,}" if r["steps"] else f"not in {r['ran']:,}"
            secs = f"{r['seconds']:.1f}" if r["seconds"] is not None else "-"
            print(f"{r['preset']:<18} {seed:>5} {r['params']:>7,} {steps:>13} {secs:>8} "
                  f"{r['cpu']:>6.1f} {r['ms_per_step']:>8.1f} {r['held_out']:>8.0%} "
                  f"{r['train']:>6.0%}", flush=True)
        reached = [r for r in results if r["steps"]]
        if reached:
            print(f"{name}: median {statistics.median(r['steps'] for r in reached):,.0f} steps, "
                  f"{statistics.median(r['seconds'] for r in reached):.1f} s "
                  f"({len(reached)}/{len(results)} seeds reached {100 * args.target:g}%)")


if __name__ == "__main__":
    main()
