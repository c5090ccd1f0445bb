"""GPT-1 on the CPU: does pre-training on the built-in corpus help fine-tuning here?

Pre-trains a small character GPT on the built-in corpus (stage 1), then fine-tunes it with the
classification head on each labelled task (stage 2), and the same architecture from scratch, at a
few numbers of labelled examples and seeds; prints validation accuracies and wall times, then a
markdown table with the mean and the range (min-max) over the seeds of each cell.

    python -m bench.gpt1_compare --threads 1          # the page's defaults (tiny model), 3 seeds
    python -m bench.gpt1_compare --n-layer 4 --n-embd 128   # the small model
    python -m bench.gpt1_compare --tasks both ending --counts 128 --seeds 0
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from gptviz.config import GPTConfig, TrainConfig
from gptviz.corpus import builtin_corpus
from gptviz.gpt1.comparison import accuracy_table, run_comparison
from gptviz.gpt1.finetune import FineTuneConfig, finetune_tokenizer
from gptviz.gpt1.labelled import HELD_OUT_FRACTION, LABELLED_TASKS
from gptviz.tasks.text import TextTask
from gptviz.train import Trainer, build_model


def pretrain(args: argparse.Namespace, text: str, tok) -> tuple[torch.nn.Module, dict]:
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=args.block_size, n_layer=args.n_layer,
                    n_head=args.n_head, n_embd=args.n_embd, dropout=0.0)
    cache = Path(args.cache) / (f"pre_{args.n_layer}x{args.n_embd}_b{args.block_size}_"
                                f"s{args.pretrain_steps}_lr{args.pretrain_lr}.pt")
    model = build_model(cfg, 1337)
    if cache.exists() and not args.no_cache:
        model.load_state_dict(torch.load(cache))
        return model, json.loads(cache.with_suffix(".json").read_text())
    task = TextTask(text, tok, args.block_size, val_fraction=HELD_OUT_FRACTION)
    trainer = Trainer(model, task, TrainConfig(learning_rate=args.pretrain_lr, batch_size=32,
                                               max_steps=args.pretrain_steps, seed=1337,
                                               eval_interval=args.pretrain_steps,
                                               eval_batches=20))
    t0 = time.perf_counter()
    trainer.evaluate()
    trainer.run(args.pretrain_steps)
    ev = trainer.evaluate()
    info = {"steps": args.pretrain_steps, "seconds": time.perf_counter() - t0,
            "train_loss": ev.train_loss, "val_loss": ev.val_loss}
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), cache)
    cache.with_suffix(".json").write_text(json.dumps(info))
    return model, info


def spread(values: Sequence[float]) -> str:
    """Mean and range of accuracies, in percent: "88.3% (85.2–91.4)"; one value: "88.3%"."""
    mean = 100 * sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.1f}%"
    return f"{mean:.1f}% ({100 * min(values):.1f}–{100 * max(values):.1f})"


def markdown_table(results: dict[str, dict[tuple[str, int], list[float]]], counts: Sequence[int],
                   titles: dict[str, str], chance: dict[str, float]) -> str:
    """One row per task, one column per number of examples: pre-trained / from scratch."""
    head = ["task", "chance", *(f"{n} examples" for n in counts)]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, cells in results.items():
        row = [titles[name], f"{chance[name]:.0%}"]
        for n in counts:
            pre, scratch = cells.get(("pretrained", n)), cells.get(("scratch", n))
            row.append(" / ".join(spread(v) if v else "–" for v in (pre, scratch)))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--n-layer", type=int, default=2)  # the page's default: tiny
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=64)
    p.add_argument("--pretrain-steps", type=int, default=600)
    p.add_argument("--pretrain-lr", type=float, default=2e-3)
    p.add_argument("--tasks", nargs="+", default=list(LABELLED_TASKS))
    p.add_argument("--counts", nargs="+", type=int, default=[32, 128, 512])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lam", type=float, default=0.5)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                   help="fine-tuning seeds (head, scratch weights, examples, batches); the table "
                        "gives the mean and range over them")
    p.add_argument("--inits", nargs="+", default=["pretrained", "scratch"])
    p.add_argument("--json", help="append one JSON line per run to this file")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    p.add_argument("--cache", default="/tmp/gptviz_gpt1_bench")
    p.add_argument("--no-cache", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    text = builtin_corpus()
    tok = finetune_tokenizer(text)
    model, info = pretrain(args, text, tok)
    print(f"pre-training: {info['steps']} steps in {info['seconds']:.0f} s, "
          f"train loss {info['train_loss']:.3f}, held-out loss {info['val_loss']:.3f}", flush=True)
    results: dict[str, dict[tuple[str, int], list[float]]] = {}
    titles, chance = {}, {}
    t_all = time.perf_counter()
    for name in args.tasks:
        task = LABELLED_TASKS[name](text)
        titles[name], chance[name] = task.title, 1 / task.n_classes
        cells = results.setdefault(name, {})
        for seed in args.seeds:
            ft = FineTuneConfig(lam=args.lam, steps=args.steps, learning_rate=args.lr, seed=seed)
            t0 = time.perf_counter()
            runs = run_comparison(task, tok, model.config, ft, model, args.counts, args.inits)
            table = accuracy_table(runs)
            for init, row in table.items():
                for n, acc in row.items():
                    cells.setdefault((init, n), []).append(acc)
            if args.json:
                with open(args.json, "a") as f:
                    for r in runs:
                        f.write(json.dumps(dict(
                            task=name, seed=seed, lam=args.lam, steps=args.steps, lr=args.lr,
                            init=r.init, n=r.n_labelled, val_acc=r.final_accuracy,
                            train_acc=r.train_accuracy[-1], seconds=round(r.seconds, 1),
                            curve=list(zip(r.steps, r.val_accuracy, strict=True)),
                            pretrain=info, threads=torch.get_num_threads())) + "\n")
            secs = {(r.init, r.n_labelled): r.seconds for r in runs}
            print(f"{name} seed {seed} (lambda {args.lam}, {args.steps} steps, lr {args.lr}): "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
            for init, row in table.items():
                line = "  ".join(f"n={n}: {acc:.3f} ({secs[(init, n)]:.0f}s)"
                                 for n, acc in sorted(row.items()))
                print(f"  {init:10s} {line}", flush=True)
    print(f"\nall fine-tuning: {time.perf_counter() - t_all:.0f} s; validation accuracy, "
          f"pre-trained / from scratch, mean (min–max) over seeds {args.seeds}, "
          f"{torch.get_num_threads()} torch thread(s):\n")
    print(markdown_table(results, sorted(set(args.counts)), titles, chance), flush=True)


if __name__ == "__main__":
    main()
