"""Part 1: training milliseconds per step on the CPU, gptviz against nanoGPT, same process.

Two workloads: document 000's baby GPT (all 12 windows per step) and a small character model
(vocab 65, context 64, 4 layers, 4 heads, 128 dims, batch 12). Each is timed with 1 and 2
torch threads (app.py runs with 1, for classroom hosting). Variants:
  nanoGPT reference   bench/nanogpt_ref.py: nanoGPT's model and loop (document 000's loop for
                      the baby GPT, train.py's for the character model), default AdamW
  gptviz Trainer.step the app's training step (fused AdamW, the divergence check, snapshots)
  gptviz unfused      the same with the per-tensor AdamW, to show what the fused kernel buys
  gptviz page step    document 000 only: a step plus the evaluation the Baby GPT page asks for
                      after every step (eval_interval=1), i.e. what one live step costs
"""

from __future__ import annotations

from typing import Any

import torch

from bench import nanogpt_ref as ref
from bench.common import fmt_spread, interleaved, paired_ratios, summarize
from bench.data import CHAR_VOCAB, char65_task, doc000_task
from gptviz.config import DOC000_MODEL, DOC000_TRAIN, GPTConfig, TrainConfig
from gptviz.train import Speedups, Trainer, build_model

CHAR_MODEL = GPTConfig(vocab_size=CHAR_VOCAB, block_size=64, n_layer=4, n_head=4, n_embd=128,
                       dropout=0.0, bias=False)
CHAR_TRAIN = TrainConfig(learning_rate=1e-3, weight_decay=0.1, batch_size=12, seed=1337,
                         eval_interval=1_000_000)
REFERENCE = "nanoGPT reference"


def _ref_model(cfg: GPTConfig) -> ref.GPT:
    torch.manual_seed(1337)
    return ref.GPT(ref.GPTConfig(block_size=cfg.block_size, vocab_size=cfg.vocab_size,
                                 n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd,
                                 dropout=cfg.dropout, bias=cfg.bias))


def doc000_variants() -> tuple[dict[str, Any], dict[str, Any]]:
    task = doc000_task()
    X, Y = task.examples["train"]
    model = _ref_model(DOC000_MODEL)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-1)  # as document 000
    ours = Trainer(build_model(DOC000_MODEL, 1337), task, DOC000_TRAIN)
    unfused = Trainer(build_model(DOC000_MODEL, 1337), task, DOC000_TRAIN,
                      Speedups(fused_optimizer=False))
    page = Trainer(build_model(DOC000_MODEL, 1337), task, DOC000_TRAIN)  # eval_interval=1
    # like for like: the same weights give the same first loss (document 000's 0.663539)
    checks = {"reference_first_loss": ref.doc000_step(model, opt, X, Y),
              "gptviz_first_loss": ours.step().loss}
    unfused.step()
    page.run(1)
    variants = {
        REFERENCE: lambda: ref.doc000_step(model, opt, X, Y),
        "gptviz Trainer.step": ours.step,
        "gptviz unfused AdamW": unfused.step,
        "gptviz page step (+eval)": lambda: page.run(1),
    }
    return variants, checks


def char_variants() -> tuple[dict[str, Any], dict[str, Any]]:
    task = char65_task(CHAR_MODEL.block_size)
    model = _ref_model(CHAR_MODEL)
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), "cpu")
    get_batch = ref.make_get_batch(task.data["train"], CHAR_MODEL.block_size,
                                   CHAR_TRAIN.batch_size, torch.device("cpu"),
                                   torch.Generator().manual_seed(1337))
    # grad_clip=0: the Trainer's default, so both do the same work per step
    loop = ref.TrainPyLoop(model, opt, get_batch, torch.autocast("cpu", enabled=False),
                           list(model.parameters()), grad_clip=0.0)
    ours = Trainer(build_model(CHAR_MODEL, 1337), task, CHAR_TRAIN)
    unfused = Trainer(build_model(CHAR_MODEL, 1337), task, CHAR_TRAIN,
                      Speedups(fused_optimizer=False))
    checks = {"parameters": ours.model.num_params()}
    variants = {REFERENCE: loop.step, "gptviz Trainer.step": ours.step,
                "gptviz unfused AdamW": unfused.step}
    return variants, checks


WORKLOADS = {
    "doc000": ("Document 000 baby GPT (V2 T3 4L 4H 16d, 12 windows)", doc000_variants, 10),
    "char": ("Char model (V65 T64 4L 4H 128d, batch 12)", char_variants, 3),
}


def run(repeats: int = 7, threads: tuple[int, ...] = (1, 2), sample_seconds: float = 0.25,
        workloads: tuple[str, ...] = tuple(WORKLOADS)) -> dict[str, Any]:
    """Median milliseconds per step (with quartiles) and ratios against the reference."""
    before = torch.get_num_threads()
    results: dict[str, Any] = {}
    try:
        for name in workloads:
            title, make, warmup = WORKLOADS[name]
            for n in threads:
                torch.set_num_threads(n)
                variants, checks = make()
                secs, calls = interleaved(variants, repeats, sample_seconds, warmup)
                entry: dict[str, Any] = {"title": title, "threads": n, "calls_per_sample": calls,
                                         "checks": checks, "variants": {}}
                for v, s in secs.items():
                    e: dict[str, Any] = {"ms_per_step": summarize([x * 1e3 for x in s]),
                                         "steps_per_second": summarize([1 / x for x in s]),
                                         "samples_ms": [x * 1e3 for x in s]}
                    if v != REFERENCE:
                        e["ratio_to_reference"] = summarize(paired_ratios(s, secs[REFERENCE]))
                    entry["variants"][v] = e
                results[f"{name}/threads={n}"] = entry
    finally:
        torch.set_num_threads(before)
    return results


def rows(results: dict[str, Any]) -> list[list[str]]:
    out = []
    for entry in results.values():
        for v, e in entry["variants"].items():
            ratio = e.get("ratio_to_reference")
            out.append([entry["title"], str(entry["threads"]), v,
                        fmt_spread(e["ms_per_step"]),
                        f"{e['steps_per_second']['median']:.0f}",
                        fmt_spread(ratio, digits=2) if ratio else "1"])
    return out


HEADER = ["workload", "threads", "variant", "ms/step median (p25-p75)", "steps/s",
          "time vs nanoGPT (paired)"]
