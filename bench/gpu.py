"""Part 2: the GPU. nanoGPT's shakespeare_char configuration, gptviz against nanoGPT.

Configuration (nanoGPT config/train_shakespeare_char.py): context 256, 6 layers, 6 heads, 384
dims, batch 64, dropout 0.2, vocab 65 (~10.7M parameters), AdamW lr 1e-3, grad_clip 1.0.
Data: the built-in corpus over 65 symbols (bench/data.py), the same for every variant.

Timed, in turns (bench/common.interleaved), milliseconds per step with a GPU sync around each
sample:
  nanoGPT train.py eager      its inner loop: bf16 autocast, fused AdamW, no torch.compile
  nanoGPT train.py compiled   the same with torch.compile (train.py's default)
  gptviz fp32                 Trainer, float32, fused AdamW: the plain path
  gptviz fast eager           Trainer with bf16 autocast and fused AdamW
  gptviz fast compiled        the same with torch.compile (Speedups(compile=True))
Reported per variant: ms/step, tokens/s, and model FLOPs utilisation (nanoGPT's estimate_mfu
formula against the card's dense bf16 peak). Then the loss check: the same steps from the same
seed on the plain float32 path and on the fast path, against the spread between two seeds on
the plain path ("within noise").

Without CUDA, `run(device="cpu", tiny=True)` runs the same code on a tiny model: a dry run that
tests the code, not the speed (CI and this project's machines have no GPU).
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import torch

from bench import nanogpt_ref as ref
from bench.common import fmt_spread, interleaved, paired_ratios, summarize
from bench.data import CHAR_VOCAB, char65_task
from gptviz.config import GPTConfig, TrainConfig
from gptviz.train import Speedups, Trainer, build_model

SHAKESPEARE_CHAR = GPTConfig(vocab_size=CHAR_VOCAB, block_size=256, n_layer=6, n_head=6,
                             n_embd=384, dropout=0.2, bias=False)
TINY = GPTConfig(vocab_size=CHAR_VOCAB, block_size=32, n_layer=2, n_head=2, n_embd=32,
                 dropout=0.2, bias=False)

# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' data sheets (SXM parts).
PEAK_BF16 = {"H200": 989.4e12, "H100": 989.4e12, "A100": 312e12, "L4": 121e12,
             "A10": 125e12, "4090": 165.2e12}

NANOGPT_EAGER = "nanoGPT train.py eager"
NANOGPT_COMPILED = "nanoGPT train.py compiled"
FP32 = "gptviz fp32"
FAST = "gptviz fast eager"
FAST_COMPILED = "gptviz fast compiled"


def peak_flops(device: torch.device) -> tuple[float | None, str | None]:
    if device.type != "cuda":
        return None, None
    name = torch.cuda.get_device_name(device)
    for key, peak in PEAK_BF16.items():
        if key in name:
            return peak, name
    return None, name


def _train_config(batch: int, device: str, seed: int = 1337) -> TrainConfig:
    return TrainConfig(learning_rate=1e-3, weight_decay=0.1, batch_size=batch, seed=seed,
                       device=device, grad_clip=1.0, eval_interval=1_000_000, eval_batches=20)


def _trainer(cfg: GPTConfig, task, batch: int, device: str, speed: Speedups,
             seed: int = 1337) -> Trainer:
    return Trainer(build_model(cfg, seed), task, _train_config(batch, device, seed), speed)


def _nanogpt_loop(cfg: GPTConfig, task, batch: int, device: torch.device,
                  compile_model: bool) -> ref.TrainPyLoop:
    torch.manual_seed(1337)
    model = ref.GPT(ref.GPTConfig(block_size=cfg.block_size, vocab_size=cfg.vocab_size,
                                  n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd,
                                  dropout=cfg.dropout, bias=cfg.bias)).to(device)
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), device.type)
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    ctx = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    get_batch = ref.make_get_batch(task.data["train"], cfg.block_size, batch, device,
                                   torch.Generator().manual_seed(1337))
    fwd = torch.compile(model) if compile_model else model
    return ref.TrainPyLoop(fwd, opt, get_batch, ctx, list(model.parameters()), grad_clip=1.0)


def _timed_first_steps(fn, n: int, sync) -> float:
    """Seconds for the first n calls (compilation happens here)."""
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return time.perf_counter() - t0


def loss_check(cfg: GPTConfig, task, batch: int, device: str, steps: int,
               compile_model: bool) -> dict[str, Any]:
    """Validation loss after `steps` steps: fast path vs plain float32, and two fp32 seeds."""

    def final(speed: Speedups, seed: int) -> dict[str, float]:
        t = _trainer(cfg, task, batch, device, speed, seed)
        losses = [t.step().loss for _ in range(steps)]
        ev = t.evaluate()
        return {"val_loss": ev.val_loss, "train_loss_eval": ev.train_loss,
                "train_loss_last10": statistics.mean(losses[-10:])}

    plain = Speedups(autocast=False, compile=False)
    fast = Speedups(compile=compile_model)
    out = {"steps": steps,
           "fp32_seed1337": final(plain, 1337),
           "fp32_seed1338": final(plain, 1338),
           "fast_seed1337": final(fast, 1337)}
    noise = abs(out["fp32_seed1337"]["val_loss"] - out["fp32_seed1338"]["val_loss"])
    diff = abs(out["fast_seed1337"]["val_loss"] - out["fp32_seed1337"]["val_loss"])
    out["val_loss_diff_fast_vs_fp32"] = diff
    out["val_loss_diff_between_seeds"] = noise
    # "within noise": no further from the fp32 run than another seed is (with a small floor,
    # as two seeds can land unusually close)
    out["within_noise"] = diff <= max(noise, 0.02)
    return out


def run(device: str | None = None, repeats: int = 5, sample_seconds: float = 0.5,
        tiny: bool = False, compile_model: bool | None = None,
        loss_steps: int | None = None) -> dict[str, Any]:
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    compile_model = cuda if compile_model is None else compile_model
    cfg, batch = (TINY, 4) if tiny else (SHAKESPEARE_CHAR, 64)
    task = char65_task(cfg.block_size)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        # nanoGPT train.py sets these for its float32 matmuls; bf16 ones are unaffected
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    loops = {NANOGPT_EAGER: _nanogpt_loop(cfg, task, batch, dev, False)}
    trainers = {FP32: _trainer(cfg, task, batch, device, Speedups(autocast=False)),
                FAST: _trainer(cfg, task, batch, device, Speedups())}
    if compile_model:
        loops[NANOGPT_COMPILED] = _nanogpt_loop(cfg, task, batch, dev, True)
        trainers[FAST_COMPILED] = _trainer(cfg, task, batch, device, Speedups(compile=True))
    variants = {**{k: v.step for k, v in loops.items()}, **{k: v.step for k, v in trainers.items()}}
    first_seconds = {k: _timed_first_steps(fn, 3, sync) for k, fn in variants.items()}
    secs, calls = interleaved(variants, repeats, sample_seconds, warmup=5, sync=sync)

    flops = ref.GPT(ref.GPTConfig(block_size=cfg.block_size, vocab_size=cfg.vocab_size,
                                  n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd,
                                  bias=cfg.bias)).estimate_flops_per_step(batch)
    peak, card = peak_flops(dev)
    tokens = batch * cfg.block_size
    baseline = NANOGPT_COMPILED if NANOGPT_COMPILED in secs else NANOGPT_EAGER
    result: dict[str, Any] = {
        "device": card or device, "dry_run": not cuda or tiny,
        "config": {**cfg.to_dict(), "batch_size": batch, "grad_clip": 1.0},
        "parameters": trainers[FP32].model.num_params(),
        "flops_per_step": flops, "peak_flops_bf16": peak, "tokens_per_step": tokens,
        "calls_per_sample": calls, "baseline": baseline,
        "speedups": {k: vars(t.speedups) for k, t in trainers.items()},
        "first_3_steps_seconds": first_seconds, "variants": {},
    }
    for name, s in secs.items():
        e: dict[str, Any] = {
            "ms_per_step": summarize([x * 1e3 for x in s]),
            "tokens_per_second": summarize([tokens / x for x in s]),
            "samples_ms": [x * 1e3 for x in s],
        }
        if peak:
            e["mfu"] = summarize([flops / x / peak for x in s])
        if name != baseline:
            e["throughput_vs_baseline"] = summarize(paired_ratios(secs[baseline], s))
        result["variants"][name] = e
    steps = loss_steps if loss_steps is not None else (20 if not cuda or tiny else 300)
    result["loss_check"] = loss_check(cfg, task, batch, device, steps, compile_model)
    return result


def rows(result: dict[str, Any]) -> list[list[str]]:
    out = []
    for name, e in result["variants"].items():
        mfu = e.get("mfu")
        ratio = e.get("throughput_vs_baseline")
        out.append([result["device"], name, fmt_spread(e["ms_per_step"]),
                    f"{e['tokens_per_second']['median']:,.0f}",
                    f"{mfu['median'] * 100:.1f}%" if mfu else "n/a",
                    fmt_spread(ratio) if ratio else "1"])
    lc = result["loss_check"]
    out.append([result["device"], f"loss after {lc['steps']} steps",
                f"fast {lc['fast_seed1337']['val_loss']:.4f} / fp32 "
                f"{lc['fp32_seed1337']['val_loss']:.4f}",
                f"seed spread {lc['val_loss_diff_between_seeds']:.4f}",
                "within noise" if lc["within_noise"] else "NOT within noise", ""])
    return out


HEADER = ["device", "variant", "ms/step median (p25-p75)", "tokens/s", "MFU",
          "throughput vs nanoGPT (paired)"]


def is_finite_result(result: dict[str, Any]) -> bool:
    return all(math.isfinite(e["ms_per_step"]["median"]) for e in result["variants"].values())
