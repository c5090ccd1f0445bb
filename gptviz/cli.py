"""The command line: train any task headless and print progress (no browser needed).

    python -m gptviz train --task addition --preset 2-digit --threads 1
    python -m gptviz train --task sorting --steps 300 --n-layer 2 --n-embd 32 --json
    python -m gptviz presets

Progress comes from the Trainer's events: one line per evaluation (step, training loss,
validation loss, held-out accuracy where the task has one, milliseconds per step), then a
summary. `--json` prints the same as one JSON object per line, for benchmarks.
`--target-accuracy 0.99` stops as soon as the held-out accuracy reaches it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import torch

from gptviz.config import ConfigError
from gptviz.tasks import TASKS, ProblemTask
from gptviz.tasks.presets import PRESETS, default_preset
from gptviz.train import EvalEvent, Event, StepEvent, Trainer, TrainingDiverged, build_model

# command-line option -> (keyword of the task factory, tasks it applies to)
TASK_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ndigit": ("ndigit", ("addition",)),
    "length": ("length", ("sorting",)),
    "num_digits": ("num_digits", ("sorting",)),
    "sequence": ("sequence", ("sequence",)),
    "vocab_size": ("vocab_size", ("sequence", "induction")),
    "block_size": ("block_size", ("sequence", "text")),
    "seq_len": ("seq_len", ("induction",)),
    "layout": ("layout", ("induction",)),
    "min_half": ("min_half", ("induction",)),
}
MODEL_OPTIONS = ("n_layer", "n_head", "n_embd", "dropout", "bias")
TRAIN_OPTIONS = {"lr": "learning_rate", "weight_decay": "weight_decay",
                 "batch_size": "batch_size", "eval_interval": "eval_interval",
                 "eval_batches": "eval_batches", "grad_clip": "grad_clip", "device": "device",
                 "seed": "seed", "schedule": "schedule", "warmup_steps": "warmup_steps",
                 "decay_steps": "decay_steps", "min_lr": "min_lr",
                 "decay_matrices_only": "decay_matrices_only"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gptviz",
                                     description="Train a small GPT on a task, headless.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("presets", help="list the tasks and their presets")
    t = sub.add_parser("train", help="train a model on a task and print progress")
    t.add_argument("--task", choices=sorted(TASKS), default="addition")
    t.add_argument("--preset", help="a preset of the task (default: its first); see `presets`")
    t.add_argument("--steps", type=int, help="training steps (default: the preset's)")
    t.add_argument("--target-accuracy", type=float,
                   help="stop once the held-out accuracy reaches this (0-1)")
    g = t.add_argument_group("task options (override the preset's)")
    g.add_argument("--ndigit", type=int, help="addition: digits of each number")
    g.add_argument("--length", type=int, help="sorting: numbers per sequence")
    g.add_argument("--num-digits", type=int, help="sorting: numbers are 0..num_digits-1")
    g.add_argument("--sequence", help="sequence: the training sequence")
    g.add_argument("--vocab-size", type=int,
                   help="sequence: vocabulary size; induction: random tokens V")
    g.add_argument("--block-size", type=int, help="sequence, text: context length")
    g.add_argument("--seq-len", type=int,
                   help="induction: tokens per sequence (the model reads one fewer)")
    g.add_argument("--layout", choices=["fixed", "varied"],
                   help="induction: every sequence n + n tokens (fixed), or separators and a "
                        "half and start drawn per sequence (varied)")
    g.add_argument("--min-half", type=int, help="induction, varied: the shortest half")
    m = t.add_argument_group("model (override the preset's)")
    m.add_argument("--n-layer", type=int)
    m.add_argument("--n-head", type=int)
    m.add_argument("--n-embd", type=int)
    m.add_argument("--dropout", type=float)
    m.add_argument("--bias", action=argparse.BooleanOptionalAction, default=None)
    o = t.add_argument_group("training (override the preset's)")
    o.add_argument("--lr", type=float, help="learning rate")
    o.add_argument("--weight-decay", type=float)
    o.add_argument("--batch-size", type=int)
    o.add_argument("--eval-interval", type=int, help="steps between evaluations")
    o.add_argument("--eval-batches", type=int)
    o.add_argument("--grad-clip", type=float)
    o.add_argument("--device", choices=["cpu", "cuda"])
    o.add_argument("--seed", type=int)
    o.add_argument("--schedule", choices=["constant", "cosine"],
                   help="learning rate: constant after the warm-up, or nanoGPT's cosine decay")
    o.add_argument("--warmup-steps", type=int, help="linear warm-up steps")
    o.add_argument("--decay-steps", type=int, help="cosine: step it reaches --min-lr "
                                                   "(default: the run's length)")
    o.add_argument("--min-lr", type=float, help="cosine: the floor of the learning rate")
    o.add_argument("--decay-matrices-only", action=argparse.BooleanOptionalAction, default=None,
                   help="weight decay only on 2-D tensors (matrices, embeddings), as nanoGPT")
    t.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1, as the app: small models gain little from "
                        "more, and threads competing for shared cores slow them badly)")
    t.add_argument("--examples", type=int, default=5,
                   help="held-out problems to show with the model's answers at the end")
    t.add_argument("--json", action="store_true", help="one JSON object per line")
    return parser


def list_presets(out: TextIO) -> None:
    for task, presets in PRESETS.items():
        print(f"{task}:", file=out)
        for p in presets.values():
            print(f"  {p.name:<12} {p.description}", file=out)


def _overrides(args: argparse.Namespace) -> tuple[dict, dict, dict]:
    task_opts, model, train = {}, {}, {}
    for opt, (kw, tasks) in TASK_OPTIONS.items():
        value = getattr(args, opt)
        if value is None:
            continue
        if args.task not in tasks:
            raise ConfigError(f"--{opt.replace('_', '-')} applies to the "
                              f"{' and '.join(tasks)} task{'s' if len(tasks) > 1 else ''}, not "
                              f"to {args.task}.")
        task_opts[kw] = value
    for opt in MODEL_OPTIONS:
        if getattr(args, opt) is not None:
            model[opt] = getattr(args, opt)
    for opt, field in TRAIN_OPTIONS.items():
        if getattr(args, opt) is not None:
            train[field] = getattr(args, opt)
    if args.steps is not None:
        train["max_steps"] = args.steps
    return task_opts, model, train


class Printer:
    """Turns Trainer events into progress lines (text or JSON)."""

    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out, self.as_json = out, as_json
        self.step_seconds: list[float] = []
        self.train_seconds = 0.0
        self.last_eval: EvalEvent | None = None
        self.lr: float | None = None  # the learning rate of the last step

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            self.step_seconds.append(event.seconds)
            self.train_seconds += event.seconds
            self.lr = event.lr
        elif isinstance(event, EvalEvent):
            self.last_eval = event
            ms = 1000 * sum(self.step_seconds) / len(self.step_seconds) if self.step_seconds \
                else None
            self.step_seconds = []
            self.emit_eval(event, ms)

    def emit(self, record: dict[str, Any], text: str) -> None:
        print(json.dumps(record) if self.as_json else text, file=self.out, flush=True)

    def emit_eval(self, e: EvalEvent, ms: float | None) -> None:
        record = {"event": "eval", "step": e.step, "loss": e.train_loss, "val_loss": e.val_loss,
                  **e.metrics, "ms_per_step": ms, "lr": self.lr}
        parts = [f"step {e.step:>6}", f"loss {e.train_loss:.4f}"]
        if e.val_loss is not None:
            parts.append(f"val loss {e.val_loss:.4f}")
        if "accuracy" in e.metrics:
            parts.append(f"accuracy {100 * e.metrics['accuracy']:5.1f}%")
        if "repeat_loss" in e.metrics:  # the induction task
            parts.append(f"first half {e.metrics['first_half_loss']:.3f}")
            parts.append(f"repeated half {e.metrics['repeat_loss']:.3f}")
            parts.append(f"induction score {e.metrics['induction_score']:.2f}")
        if ms is not None:
            parts.append(f"{ms:.1f} ms/step")
        self.emit(record, " | ".join(parts))


def train(args: argparse.Namespace, out: TextIO) -> int:
    if args.preset is None:
        preset = default_preset(args.task)
    elif args.preset in PRESETS[args.task]:
        preset = PRESETS[args.task][args.preset]
    else:
        raise ConfigError(f"The {args.task} task has no preset {args.preset!r}; it has "
                          f"{', '.join(PRESETS[args.task])}.")
    if args.target_accuracy is not None and not 0.0 < args.target_accuracy <= 1.0:
        raise ConfigError("--target-accuracy must be above 0 and at most 1.")
    if args.threads < 1:
        raise ConfigError("--threads must be at least 1.")
    torch.set_num_threads(args.threads)  # an entry point, so it may set the process-wide value
    task, mcfg, tcfg = preset.build(*_overrides(args))
    if args.target_accuracy is not None and not isinstance(task, ProblemTask):
        raise ConfigError(f"The {args.task} task has no held-out accuracy to reach.")
    trainer = Trainer(build_model(mcfg, tcfg.seed), task, tcfg)
    printer = Printer(out, args.json)
    printer.emit(
        {"event": "start", "task": task.name, "preset": preset.name, "model": mcfg.to_dict(),
         "train": tcfg.to_dict(), "params": trainer.model.num_params(),
         "threads": torch.get_num_threads()},
        f"{task.name} ({preset.name}): {trainer.model.num_params():,} parameters, "
        f"{mcfg.n_layer} layers x {mcfg.n_head} heads x {mcfg.n_embd} dims, context "
        f"{mcfg.block_size}; lr {tcfg.learning_rate:g}, batch {tcfg.batch_size}, "
        f"{tcfg.max_steps} steps, {tcfg.device}, {torch.get_num_threads()} thread(s)")
    trainer.add_callback(printer)

    def reached() -> bool:
        e = printer.last_eval
        return (args.target_accuracy is not None and e is not None
                and e.metrics.get("accuracy", 0.0) >= args.target_accuracy)

    t0 = time.perf_counter()
    status = 0
    try:
        trainer.evaluate()  # step 0: where the untrained model starts
        trainer.run(tcfg.max_steps, should_stop=reached)
        if printer.last_eval is None or printer.last_eval.step != trainer.step_count:
            trainer.evaluate()
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        status = 130
    seconds = time.perf_counter() - t0
    final = printer.last_eval
    acc = final.metrics.get("accuracy") if final else None
    record = {"event": "done", "steps": trainer.step_count, "seconds": seconds,
              "train_seconds": printer.train_seconds, "loss": final.train_loss if final else None,
              "val_loss": final.val_loss if final else None, "accuracy": acc,
              "reached_target": reached() if args.target_accuracy is not None else None}
    text = (f"done: {trainer.step_count} steps in {seconds:.1f} s "
            f"({printer.train_seconds:.1f} s of training steps)")
    if acc is not None:
        text += f"; held-out accuracy {100 * acc:.1f}%"
    printer.emit(record, text)
    if isinstance(task, ProblemTask) and args.examples > 0 and not args.json:
        for s in task.solutions(trainer.model, args.examples):
            mark = "right" if s.correct else "wrong at digit " + ", ".join(
                str(i + 1) for i in s.wrong_digits)
            print(f"  {s.problem} -> {s.answer}  (expected {s.expected}: {mark})", file=out)
    return status


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        if args.command == "presets":
            list_presets(out)
            return 0
        return train(args, out)
    except ConfigError as e:  # a setting we refuse: say why, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
