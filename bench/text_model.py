"""Train a character model on the built-in corpus headlessly and report loss, steps and time.

    python -m bench.text_model                  # the default preset ("Small")
    python -m bench.text_model --preset Tiny --steps 300
    python -m bench.text_model --seconds 90     # stop after 90 s of training

Prints one line per evaluation, the final train/val loss over 20 batches, the wall time and a
generated sample. Not collected by pytest (it takes minutes).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace

import torch

from gptviz.corpus import builtin_corpus
from gptviz.generate import generate_text
from gptviz.text_model import DEFAULT_PRESET, TEXT_PRESETS, build_text_run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(TEXT_PRESETS))
    ap.add_argument("--steps", type=int, default=None, help="default: the preset's")
    ap.add_argument("--seconds", type=float, default=None, help="stop after this much training")
    ap.add_argument("--cpu-seconds", type=float, default=None,
                    help="stop after this much CPU time (robust to other load; with --threads 1 "
                         "it is the wall time on an idle core)")
    ap.add_argument("--block", type=int, default=None)
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--heads", type=int, default=None)
    ap.add_argument("--embd", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    p = TEXT_PRESETS[args.preset]
    p = replace(p, **{k: v for k, v in dict(
        block_size=args.block, n_layer=args.layers, n_head=args.heads, n_embd=args.embd,
        batch_size=args.batch, learning_rate=args.lr, steps=args.steps).items() if v is not None})
    text = builtin_corpus()
    run = build_text_run(text, p.model_config(0), p.train_config())
    V = run.tokenizer.vocab_size
    print(f"preset {p}\ncorpus {len(text):,} chars, vocab {V} (log V = {math.log(V):.3f}), "
          f"{run.model.num_params():,} params, torch threads {torch.get_num_threads()}")
    run.trainer.add_callback(lambda e: print(
        f"  step {e.step:5d} train {e.train_loss:.3f} val {e.val_loss:.3f} "
        f"t={time.perf_counter() - t0:6.1f}s", flush=True) if hasattr(e, "val_loss") else None)
    t0, c0 = time.perf_counter(), time.process_time()
    while run.trainer.step_count < p.steps:
        if args.seconds is not None and time.perf_counter() - t0 > args.seconds:
            break
        if args.cpu_seconds is not None and time.process_time() - c0 > args.cpu_seconds:
            break
        run.trainer.run(1)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    final = replace(run.trainer.config, eval_batches=20)
    run.trainer.config = final
    ev = run.trainer.evaluate()
    print(f"RESULT preset={p.label} steps={run.trainer.step_count} wall={wall:.1f}s "
          f"({wall / max(1, run.trainer.step_count) * 1000:.0f} ms/step) cpu={cpu:.1f}s "
          f"train={ev.train_loss:.3f} val={ev.val_loss:.3f}")
    print("SAMPLE (prompt 'The ', temperature 0.8, seed 0):")
    print(generate_text(run.model, run.tokenizer, "The ", 400, temperature=0.8, seed=0))


if __name__ == "__main__":
    main()
