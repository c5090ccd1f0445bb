"""The app's own GPU path: LiveRuns as the pages build them, on CUDA, and a model saved from there.

    python -m bench.gpu_app [--device cuda|cpu] [--steps N] [--baby-steps N] [--out DIR]

bench/gpu.py times the Trainer alone; this drives what a page drives, on the chosen device:

  baby_gpt   Baby GPT's LiveRun: document 000's model and training settings (DOC000_MODEL,
             DOC000_TRAIN) on its sequence (SequenceTask), Trainer(build_model(...)), LiveRun
  text       Train on text's LiveRun: build_text_run on the built-in corpus with a preset from
             TEXT_PRESETS and its train config

Each is started with `.start(n)` and `.snapshot()` is polled until its status is "done", as the
page polls it. Reported per run: steps reached, `snapshot().device`, the snapshot's
steps_per_second and tokens_per_second (what the page shows), steps per second measured from
start to done, the last step's loss and the last evaluation. Then the text model is saved as the
page's download button saves it (`read_model` + `save_bundle`) and loaded back (`load_bundle`,
onto the CPU): its float32 loss on one fixed batch must equal the trained model's float32 loss on
the same batch on the training device within 1e-3 (training used bf16 autocast on a GPU that has
it; this forward does not).

`--device cpu` runs the same code on the CPU with small step counts: its dry run (seconds; the
test suite runs it). The figures go to DIR/gpu_app.json (default bench/results/gpu/); the exit
status is 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from bench.common import RESULTS_DIR, machine, table, write_json
from gptviz.checkpoint import load_bundle, save_bundle
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN
from gptviz.corpus import builtin_corpus
from gptviz.live import LiveRun
from gptviz.model import GPT
from gptviz.tasks import SequenceTask
from gptviz.text_model import DEFAULT_PRESET, TEXT_PRESETS, build_text_run
from gptviz.train import Trainer, build_model

OUT_DIR = RESULTS_DIR / "gpu"
LOSS_TOLERANCE = 1e-3  # saved-and-loaded CPU model against the trained one, same batch, float32
# (text steps, Baby GPT steps) per device: a GPU run of a few seconds each; on the CPU enough for
# the snapshot's rates (measured over at least 0.5 s of training) and not much more
DEFAULT_STEPS = {"cuda": (2000, 1000), "cpu": (100, 400)}


def _poll(run: LiveRun, steps: int, timeout: float, poll_seconds: float = 0.05) -> dict[str, Any]:
    """run.start(steps), then snapshot() until "done" (or error, or the timeout)."""
    seen: list[str] = []
    t0 = time.perf_counter()
    run.start(steps)
    while True:
        snap = run.snapshot()
        if not seen or seen[-1] != snap.status:
            seen.append(snap.status)
        if snap.status in ("done", "error", "paused") and not run.running:
            break
        if time.perf_counter() - t0 > timeout:
            run.pause()
            seen.append(f"timeout after {timeout:g} s")
            break
        time.sleep(poll_seconds)
    wall = time.perf_counter() - t0
    snap = run.snapshot()
    last_eval = snap.evals[-1] if snap.evals else None
    return {
        "steps_asked": steps, "step": snap.step, "target": snap.target, "status": snap.status,
        "statuses_seen": seen, "message": snap.message, "device": snap.device,
        "steps_per_second": snap.steps_per_second, "tokens_per_second": snap.tokens_per_second,
        "wall_seconds": wall, "steps_per_second_start_to_done": snap.step / wall if wall else 0.0,
        "first_loss": snap.losses[0] if snap.losses else None,
        "final_loss": snap.losses[-1] if snap.losses else None,
        "last_eval": asdict(last_eval) if last_eval is not None else None,
        "view_step": snap.view_step,
        "speedups": asdict(run.trainer.speedups),
        "parameters": run.trainer.model.num_params(),
        "tokens_per_step": run.trainer.config.batch_size * run.trainer.model.config.block_size,
    }


def _run_checks(r: dict[str, Any], device: str) -> list[str]:
    """What must hold for a run; each failure as a sentence."""
    fails = []
    if r["status"] != "done" or r["step"] != r["steps_asked"]:
        fails.append(f"ended {r['status']!r} at step {r['step']} of {r['steps_asked']} "
                     f"({r['message']})")
    if r["device"] != device:
        fails.append(f"snapshot().device is {r['device']!r}, not {device!r}")
    if not r["steps_per_second"] > 0 or not r["tokens_per_second"] > 0:
        fails.append(f"snapshot rates not positive ({r['steps_per_second']:g} steps/s, "
                     f"{r['tokens_per_second']:g} tokens/s)")
    if r["final_loss"] is None or not math.isfinite(r["final_loss"]):
        fails.append(f"final loss {r['final_loss']}")
    elif r["first_loss"] is not None and not r["final_loss"] < r["first_loss"]:
        fails.append(f"the loss did not fall ({r['first_loss']:.4f} -> {r['final_loss']:.4f})")
    return fails


def _fp32_loss(model: GPT, x: torch.Tensor, y: torch.Tensor) -> float:
    """The model's float32 loss on (x, y) on the model's own device, without dropout."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.autocast(device.type, enabled=False):
            return float(model(x.to(device), y.to(device)).loss.float())
    finally:
        model.train(was_training)


def save_load_check(run: LiveRun, task_spec: dict[str, Any], batch_seed: int = 0) -> dict[str, Any]:
    """The page's download (read_model + save_bundle), load_bundle onto the CPU, and the loss
    of both models on one fixed validation batch, in float32."""
    t = run.trainer
    data = run.read_model(lambda m: save_bundle(m, task_spec, t.config, t.step_count))
    b = load_bundle(data)
    split = "val" if t.task.has_split("val") else "train"
    x, y = t.task.get_batch(split, t.config.batch_size, torch.Generator().manual_seed(batch_seed))
    trained = run.read_model(lambda m: _fp32_loss(m, x, y))
    loaded = _fp32_loss(b.model, x, y)
    weight_diff = run.read_model(lambda m: max(
        float((p.detach().cpu() - q.detach()).abs().max())
        for p, q in zip(m.parameters(), b.model.parameters(), strict=True)))
    diff = abs(trained - loaded)
    return {
        "bundle_bytes": len(data), "loaded_step": b.step,
        "loaded_device": str(next(b.model.parameters()).device),
        "trained_device": run.snapshot().device, "batch": f"{split}, seed {batch_seed}",
        "loss_trained_model_fp32": trained, "loss_loaded_cpu_model_fp32": loaded,
        "loss_diff": diff, "max_weight_diff": weight_diff, "tolerance": LOSS_TOLERANCE,
        "passed": bool(diff <= LOSS_TOLERANCE and b.step == t.step_count
                       and str(next(b.model.parameters()).device) == "cpu"),
    }


def run(device: str = "cuda", steps: int | None = None, baby_steps: int | None = None,
        preset: str = DEFAULT_PRESET, timeout: float = 240.0) -> dict[str, Any]:
    """Both LiveRuns and the save/load check on `device`; the figures with "ok" and "failures"."""
    text_default, baby_default = DEFAULT_STEPS[device]
    steps = text_default if steps is None else steps
    baby_steps = baby_default if baby_steps is None else baby_steps
    result: dict[str, Any] = {
        "device_asked": device, "torch": torch.__version__, "cuda": torch.version.cuda,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "torch_threads": torch.get_num_threads(), "runs": {}, "failures": [],
    }
    fails: list[str] = result["failures"]

    # Baby GPT, as pages/baby_gpt.py builds it for document 000's settings
    task = SequenceTask(DOC000_SEQUENCE, DOC000_MODEL.vocab_size, DOC000_MODEL.block_size,
                        last_only=True)
    tcfg = replace(DOC000_TRAIN, device=device, max_steps=baby_steps, eval_batches=1).validate()
    baby = LiveRun(Trainer(build_model(DOC000_MODEL, tcfg.seed), task, tcfg))
    r = result["runs"]["baby_gpt"] = _poll(baby, baby_steps, timeout)
    fails += [f"baby_gpt: {f}" for f in _run_checks(r, device)]

    # Train on text, as pages/text_model.py builds it for a preset on the built-in corpus
    p = TEXT_PRESETS[preset]
    corpus = builtin_corpus()
    fresh = build_text_run(corpus, p.model_config(0), p.train_config(device=device))
    text = LiveRun(fresh.trainer)
    r = result["runs"]["text"] = {"preset": preset, **_poll(text, steps, timeout)}
    fails += [f"text: {f}" for f in _run_checks(r, device)]

    spec = {"kind": "text", "corpus": "built-in", "vocab_size": fresh.tokenizer.vocab_size}
    try:
        sl = result["save_load"] = save_load_check(text, spec)
        if not sl["passed"]:
            fails.append(f"save/load: loss {sl['loss_trained_model_fp32']:.6f} on "
                         f"{sl['trained_device']} vs {sl['loss_loaded_cpu_model_fp32']:.6f} "
                         f"loaded on the CPU (diff {sl['loss_diff']:.2e}), step "
                         f"{sl['loaded_step']}")
    except Exception as e:  # reported in the JSON rather than lost with the figures above
        result["save_load"] = {"passed": False, "error": f"{type(e).__name__}: {e}"}
        fails.append(f"save/load: {type(e).__name__}: {e}")
    if device == "cuda":
        result["max_memory_allocated_mb"] = torch.cuda.max_memory_allocated() / 1e6
    result["ok"] = not fails
    return result


def rows(result: dict[str, Any]) -> list[list[str]]:
    out = []
    for name, r in result["runs"].items():
        ev = r["last_eval"]
        out.append([name, r["device"], f"{r['step']}/{r['steps_asked']} {r['status']}",
                    f"{r['steps_per_second']:,.1f}", f"{r['tokens_per_second']:,.0f}",
                    f"{r['steps_per_second_start_to_done']:,.1f}",
                    f"{r['final_loss']:.4f}" if r["final_loss"] is not None else "-",
                    f"{ev['val_loss']:.4f}" if ev and ev["val_loss"] is not None else "-"])
    return out


HEADER = ["run", "device", "steps", "steps/s (page)", "tokens/s (page)", "steps/s start-done",
          "last step loss", "last val loss"]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs everything, prints a table, writes DIR/gpu_app.json; returns the figures."""
    p = argparse.ArgumentParser(prog="python -m bench.gpu_app", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--steps", type=int, default=None,
                   help="Train on text steps (default: cuda 2000, cpu 100)")
    p.add_argument("--baby-steps", type=int, default=None,
                   help="Baby GPT steps (default: cuda 1000, cpu 400)")
    p.add_argument("--preset", choices=sorted(TEXT_PRESETS), default=DEFAULT_PRESET)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1, as the app runs)")
    p.add_argument("--timeout", type=float, default=240.0, help="seconds per run at most")
    p.add_argument("--out", type=Path, default=OUT_DIR, help="where gpu_app.json goes")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: PyTorch sees no CUDA device here (--device cpu is the dry run)")

    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    try:
        info = machine()
        res = run(args.device, args.steps, args.baby_steps, args.preset, args.timeout)
    finally:
        torch.set_num_threads(threads)
    dry = " (dry run on the CPU: a check of the code, not of speed)" if args.device == "cpu" else ""
    print(f"\n## The app's LiveRuns on {res['gpu'] or args.device}{dry}\n")
    print(table(rows(res), HEADER))
    sl = res["save_load"]
    if "error" in sl:
        print(f"\nsave/load: FAILED, {sl['error']}")
    else:
        print(f"\nsave/load: {sl['bundle_bytes']:,} bytes; fp32 loss on one batch "
              f"{sl['loss_trained_model_fp32']:.6f} ({sl['trained_device']}) vs "
              f"{sl['loss_loaded_cpu_model_fp32']:.6f} (loaded, {sl['loaded_device']}): diff "
              f"{sl['loss_diff']:.2e}, {'passed' if sl['passed'] else 'FAILED'}")
    for f in res["failures"]:
        print(f"FAILED {f}")
    out = {"part": "gpu_app", "machine": info, "seconds": time.perf_counter() - t0,
           "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
           "results": res}
    path = write_json("gpu_app", out, args.out)
    print(f"\n{'ok' if res['ok'] else 'FAILED'} in {out['seconds']:.1f} s (wrote {path})")
    return out


if __name__ == "__main__":
    sys.exit(0 if main()["results"]["ok"] else 1)
