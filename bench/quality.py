"""Time to quality against nanoGPT: who reaches nanoGPT's final validation loss first, on the CPU.

    python -m bench quality                    # nanoGPT's CPU recipe against ours, 5-12 min
    python -m bench quality --quick            # a 200-step smoke test (figures meaningless)
    python -m bench.quality --ours all         # race every candidate recipe against one nanoGPT
    NANOGPT_DIR=~/src/nanoGPT python -m bench quality   # nanoGPT's own model.py and train.py

Both sides train the same model (nanoGPT's CPU recipe from its README: context 64, 4 layers,
4 heads, 128 dims, no bias, dropout 0) on the same data (the built-in corpus, one token per
character, its last 10% held out, as nanoGPT's prepare.py splits) from the same initial weights
(torch.manual_seed before the model, in nanoGPT's module order), in ONE process, in turns: a
chunk of steps of one side, then of the other, the order swapped every round, so a change in
the machine's load hits both alike. Each side's clock runs only during its own training steps.
Evaluations are excluded from both clocks: every `eval_every` steps each side's model is scored
on the whole validation split in consecutive windows (the same tokens for both, deterministic);
nanoGPT's own estimate_loss (eval_iters random batches every eval_interval, as train.py prints
it) also runs at its points, as train.py's random stream requires, and is recorded beside.

L* is nanoGPT's validation loss at its last step. The figure is the time each side took to first
reach L*, interpolated linearly between evaluations, and their ratio (ours / nanoGPT).

nanoGPT comes from a checkout when NANOGPT_DIR (or --nanogpt-dir) names one: its model.py's GPT
and configure_optimizers, its train.py's get_lr and estimate_loss (taken from the file's syntax
tree), and the hyperparameters as train.py resolves them: its defaults, then
config/train_shakespeare_char.py, then the README's CPU flags. The inner loop is train.py's,
copied in bench/nanogpt_ref.py (TrainPyLoop). Without a checkout, the same loop runs
bench/nanogpt_ref.py's copy of model.py and this file's copies of get_lr and estimate_loss.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import io
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench import nanogpt_ref as ref
from bench.common import RESULTS_DIR, machine, summarize, table, write_json
from gptviz.config import GPTConfig, TrainConfig
from gptviz.corpus import builtin_corpus
from gptviz.tasks.text import TextTask
from gptviz.tokenizers import CharTokenizer
from gptviz.train import Trainer, TrainingDiverged, build_model

OUT_DIR = RESULTS_DIR / "quality"

# nanoGPT README, "I only have a macbook": the CPU run, after config/train_shakespeare_char.py
README_CPU_FLAGS = ("--device=cpu --compile=False --eval_iters=20 --log_interval=1 "
                    "--block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 "
                    "--max_iters=2000 --lr_decay_iters=2000 --dropout=0.0")
# What train.py resolves from its defaults, config/train_shakespeare_char.py and the flags above
# (checked against karpathy/nanoGPT 3adf61e, 2024-12): beta2 0.99 and warm-up 100 come from
# the config file, bias False and grad_clip 1.0 from train.py's defaults.
NANOGPT_CPU: dict[str, Any] = dict(
    block_size=64, batch_size=12, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False,
    learning_rate=1e-3, max_iters=2000, lr_decay_iters=2000, min_lr=1e-4, warmup_iters=100,
    decay_lr=True, beta1=0.9, beta2=0.99, weight_decay=0.1, grad_clip=1.0,
    eval_interval=250, eval_iters=20, log_interval=1, gradient_accumulation_steps=1)
RECIPE_KEYS = tuple(NANOGPT_CPU)

# nanoGPT train.py's get_lr and estimate_loss, verbatim (a checkout's own are used when given).
# They read train.py's globals: the namespace they are run in supplies them.
NANOGPT_FUNCTIONS = '''
@torch.no_grad()
def estimate_loss():
    out = {}
    model.eval()
    for split in ['train', 'val']:
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            X, Y = get_batch(split)
            with ctx:
                logits, loss = model(X, Y)
            losses[k] = loss.item()
        out[split] = losses.mean()
    model.train()
    return out

def get_lr(it):
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)
'''


@dataclass(frozen=True)
class Recipe:
    """How the gptviz side trains (the model and data are nanoGPT's: only these may differ)."""

    label: str
    steps: int
    batch_size: int = 12
    learning_rate: float = 1e-3
    warmup_steps: int = 100
    min_lr: float = 1e-4
    schedule: str = "cosine"
    decay_matrices_only: bool = True
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    threads: int = 1
    note: str = ""

    def train_config(self, seed: int, scale: float = 1.0) -> TrainConfig:
        steps = _scaled(self.steps, scale)
        return TrainConfig(learning_rate=self.learning_rate, weight_decay=self.weight_decay,
                           batch_size=self.batch_size, max_steps=steps, seed=seed,
                           grad_clip=self.grad_clip, eval_interval=steps,
                           schedule=self.schedule,
                           warmup_steps=min(_scaled(self.warmup_steps, scale, 0), steps - 1),
                           min_lr=self.min_lr,
                           decay_matrices_only=self.decay_matrices_only).validate()


# The candidates measured for the gptviz side (README, "Time to quality against nanoGPT").
CANDIDATES: dict[str, Recipe] = {r.label: r for r in [
    Recipe("nanogpt-settings", 2000, note="nanoGPT's own recipe on our Trainer (AdamW betas "
           "(0.9, 0.999): TrainConfig has no betas)"),
    Recipe("lr2e-3-1600", 1600, learning_rate=2e-3, warmup_steps=50, min_lr=2e-4),
    Recipe("lr3e-3-1500", 1500, learning_rate=3e-3, warmup_steps=50, min_lr=3e-4),
    Recipe("lr3e-3-1300", 1300, learning_rate=3e-3, warmup_steps=50, min_lr=3e-4),
    Recipe("b8-lr3e-3-2000", 2000, batch_size=8, learning_rate=3e-3, warmup_steps=50,
           min_lr=3e-4),
    Recipe("lr3e-3-1500-2threads", 1500, learning_rate=3e-3, warmup_steps=50, min_lr=3e-4,
           threads=2),
]}
CHOSEN = "lr3e-3-1500"


TINY_MODEL = {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 16}  # for the tests


def _scaled(n: int, scale: float, least: int = 1) -> int:
    return max(least, round(n * scale))


# --- nanoGPT: from a checkout, or our reference copy -------------------------------------------

@dataclass
class NanoGPTSource:
    description: str
    gpt: type  # GPT
    gpt_config: type  # GPTConfig
    functions: str  # source of get_lr and estimate_loss
    recipe: dict[str, Any]
    differs_from_builtin: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def apply_flags(cfg: dict[str, Any], flags: str) -> dict[str, Any]:
    """configurator.py's --key=value overrides (literal_eval, else the string; same type)."""
    cfg = dict(cfg)
    for arg in flags.split():
        key, val = arg.removeprefix("--").split("=", 1)
        if key not in cfg:
            raise ValueError(f"Unknown config key: {key}")
        try:
            attempt = ast.literal_eval(val)
        except (SyntaxError, ValueError):
            attempt = val
        if type(attempt) is not type(cfg[key]):
            raise ValueError(f"--{key}={val}: train.py's {key} is a {type(cfg[key]).__name__}")
        cfg[key] = attempt
    return cfg


def checkout_recipe(root: Path) -> dict[str, Any]:
    """The hyperparameters train.py resolves for the README's CPU run in a checkout."""
    tree = ast.parse((root / "train.py").read_text())
    cfg: dict[str, Any] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            continue
        if node.targets[0].id == "config_keys":  # the defaults end here
            break
        with contextlib.suppress(ValueError, TypeError, SyntaxError):
            cfg[node.targets[0].id] = ast.literal_eval(node.value)
    config_file = root / "config" / "train_shakespeare_char.py"
    exec(compile(config_file.read_text(), str(config_file), "exec"), {}, cfg)
    cfg = apply_flags(cfg, README_CPU_FLAGS)
    missing = [k for k in RECIPE_KEYS if k not in cfg]
    if missing:
        raise ValueError(f"{root / 'train.py'} does not define {', '.join(missing)}")
    return {k: cfg[k] for k in RECIPE_KEYS}


def checkout_functions(root: Path) -> str:
    """get_lr and estimate_loss as the checkout's train.py defines them."""
    tree = ast.parse((root / "train.py").read_text())
    wanted = [n for n in tree.body if isinstance(n, ast.FunctionDef)
              and n.name in ("get_lr", "estimate_loss")]
    if len(wanted) != 2:
        raise ValueError(f"{root / 'train.py'} has no get_lr and estimate_loss to take")
    return ast.unparse(ast.Module(body=wanted, type_ignores=[]))


def _git_describe(root: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h %cs"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return out or "not a git checkout"


def load_nanogpt(root: str | Path | None) -> NanoGPTSource:
    if not root:
        return NanoGPTSource("reference: bench/nanogpt_ref.py (nanoGPT's model.py and train.py's "
                             "loop), get_lr and estimate_loss copied in bench/quality.py",
                             ref.GPT, ref.GPTConfig, NANOGPT_FUNCTIONS, dict(NANOGPT_CPU))
    root = Path(root).expanduser().resolve()
    if not (root / "model.py").is_file() or not (root / "train.py").is_file():
        raise SystemExit(f"NANOGPT_DIR={root} is not a nanoGPT checkout (no model.py and "
                         "train.py there)")
    spec = importlib.util.spec_from_file_location("nanogpt_checkout_model", root / "model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    recipe = checkout_recipe(root)
    differs = {k: (v, NANOGPT_CPU[k]) for k, v in recipe.items() if v != NANOGPT_CPU[k]}
    return NanoGPTSource(f"checkout: {root} ({_git_describe(root)}): its model.py, train.py's "
                         "get_lr and estimate_loss, train.py's loop as bench/nanogpt_ref.py "
                         "copies it", module.GPT, module.GPTConfig, checkout_functions(root),
                         recipe, differs)


# --- the race ----------------------------------------------------------------------------------

@dataclass
class Side:
    label: str
    kind: str  # "nanogpt" or "gptviz"
    step: Callable[[], object]
    total_steps: int
    threads: int
    model: torch.nn.Module
    eval_every: int
    protocol: tuple[int, Callable[[], dict]] | None = None  # nanoGPT's own estimate_loss
    info: dict[str, Any] = field(default_factory=dict)
    done: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    eval_seconds: float = 0.0
    curve: list[dict[str, float]] = field(default_factory=list)
    protocol_curve: list[dict[str, float]] = field(default_factory=list)
    diverged: str | None = None

    @property
    def finished(self) -> bool:
        return self.done >= self.total_steps or self.diverged is not None

    def next_stop(self, chunk: int) -> int:
        stops = [self.done + chunk, self.total_steps,
                 (self.done // self.eval_every + 1) * self.eval_every]
        if self.protocol:
            every = self.protocol[0]
            stops.append((self.done // every + 1) * every)
        return min(stops)


def val_windows(val: torch.Tensor, block_size: int,
                max_windows: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The validation split cut into consecutive windows (inputs, targets): every token scored
    once. With max_windows, that many spread evenly over the split."""
    n = (len(val) - 1) // block_size
    x = val[: n * block_size].view(n, block_size)
    y = val[1: n * block_size + 1].view(n, block_size)
    if max_windows and max_windows < n:
        keep = torch.linspace(0, n - 1, max_windows).round().long()
        x, y = x[keep], y[keep]
    return x, y


def exact_val_loss(model: torch.nn.Module, windows: tuple[torch.Tensor, torch.Tensor],
                   batch: int = 128) -> float:
    """Mean cross-entropy over every target of the windows (nanoGPT's model returns
    (logits, loss), ours a GPTOutput: the loss is item 1 of both)."""
    x, y = windows
    total = 0.0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            loss = model(x[i:i + batch], y[i:i + batch])[1]
            total += float(loss) * y[i:i + batch].numel()
    return total / y.numel()


def _record_eval(side: Side, windows: tuple[torch.Tensor, torch.Tensor]) -> None:
    t0 = time.perf_counter()
    due = side.done % side.eval_every == 0 or side.done >= side.total_steps
    if due and not (side.curve and side.curve[-1]["step"] == side.done):
        side.curve.append({"step": side.done, "seconds": side.seconds,
                           "cpu_seconds": side.cpu_seconds,
                           "val_loss": exact_val_loss(side.model, windows)})
    if side.protocol and side.done % side.protocol[0] == 0:
        losses = side.protocol[1]()
        side.protocol_curve.append({"step": side.done, "seconds": side.seconds,
                                    "train_loss": float(losses["train"]),
                                    "val_loss": float(losses["val"])})
    side.eval_seconds += time.perf_counter() - t0


def race(sides: list[Side], windows: tuple[torch.Tensor, torch.Tensor], chunk: int,
         progress: Callable[[str], None] | None = None) -> None:
    """Train every side to its end in turns, each on its own threads; only the steps are timed
    (wall and process CPU). The longest side takes `chunk` steps a turn and the others steps in
    proportion to their length, so all sides progress alike and finish together: none runs its
    last part alone, under a load the others never saw."""
    before = torch.get_num_threads()
    longest = max(s.total_steps for s in sides)
    quota = {s.label: max(1, round(chunk * s.total_steps / longest)) for s in sides}
    try:
        for s in sides:
            torch.set_num_threads(s.threads)
            _record_eval(s, windows)
        rnd = 0
        while not all(s.finished for s in sides):
            k = rnd % len(sides)
            for s in sides[k:] + sides[:k]:
                if s.finished:
                    continue
                torch.set_num_threads(s.threads)
                end = min(s.done + quota[s.label], s.total_steps)
                while s.done < end and not s.diverged:
                    stop = min(end, s.next_stop(quota[s.label]))
                    w0, c0 = time.perf_counter(), time.process_time()
                    try:
                        for _ in range(stop - s.done):
                            s.step()
                    except TrainingDiverged as e:
                        s.diverged = str(e)
                    s.seconds += time.perf_counter() - w0
                    s.cpu_seconds += time.process_time() - c0
                    if s.diverged:
                        break
                    s.done = stop
                    _record_eval(s, windows)
            rnd += 1
            if progress:
                progress("  " + " | ".join(
                    f"{s.label} {s.done}/{s.total_steps} {s.seconds:.0f}s "
                    f"val {s.curve[-1]['val_loss']:.3f}" for s in sides))
    finally:
        torch.set_num_threads(before)


def time_to_target(points: list[tuple[float, float]], target: float) -> float | None:
    """The x (seconds or steps) at which a curve of (x, loss) first reaches target, linearly
    interpolated between the evaluation before and the first one at or below it; None if
    it never does."""
    prev = None
    for x, loss in points:
        if loss <= target:
            if prev is None:
                return x
            x0, l0 = prev
            return x0 + (l0 - target) / (l0 - loss) * (x - x0)
        prev = (x, loss)
    return None


def compare(nanogpt: list[tuple[float, float]],
            ours: list[tuple[float, float]]) -> dict[str, float | None]:
    """L* (nanoGPT's last loss), the x at which each curve of (x, loss) first reaches it, and
    ours / nanoGPT (None when ours never gets there)."""
    target = nanogpt[-1][1]
    t_nano, t_ours = time_to_target(nanogpt, target), time_to_target(ours, target)
    return {"target": target, "nanogpt": t_nano, "ours": t_ours,
            "ratio": t_ours / t_nano if t_ours is not None and t_nano else None}


def nanogpt_side(src: NanoGPTSource, recipe: dict[str, Any], task: TextTask, seed: int,
                 threads: int) -> Side:
    r = recipe
    if r["gradient_accumulation_steps"] != 1:
        raise ValueError("only gradient_accumulation_steps = 1 is raced")
    with contextlib.redirect_stdout(io.StringIO()):  # model.py prints its parameter counts
        torch.manual_seed(seed)
        model = src.gpt(src.gpt_config(
            n_layer=r["n_layer"], n_head=r["n_head"], n_embd=r["n_embd"],
            block_size=r["block_size"], bias=r["bias"], vocab_size=task.vocab_size,
            dropout=r["dropout"]))
        optimizer = model.configure_optimizers(r["weight_decay"], r["learning_rate"],
                                               (r["beta1"], r["beta2"]), "cpu")
    gen = torch.Generator().manual_seed(seed)  # train.py's one global stream: batches, evals
    T, B = r["block_size"], r["batch_size"]

    def get_batch(split: str) -> tuple[torch.Tensor, torch.Tensor]:
        data = task.data["train" if split == "train" else "val"]
        ix = torch.randint(len(data) - T, (B,), generator=gen)
        return (torch.stack([data[i:i + T] for i in ix]),
                torch.stack([data[i + 1:i + 1 + T] for i in ix]))

    ns: dict[str, Any] = {**r, "torch": torch, "math": math, "model": model,
                          "get_batch": get_batch, "ctx": contextlib.nullcontext()}
    exec(compile(src.functions, "nanoGPT train.py", "exec"), ns)
    loop = ref.TrainPyLoop(model, optimizer, lambda: get_batch("train"),
                           contextlib.nullcontext(), list(model.parameters()),
                           grad_clip=r["grad_clip"], log_interval=r["log_interval"])
    get_lr = ns["get_lr"]

    def step() -> None:
        lr = get_lr(loop.iter_num) if r["decay_lr"] else r["learning_rate"]
        for g in optimizer.param_groups:
            g["lr"] = lr
        loop.step()

    n_params = sum(p.numel() for p in model.parameters())
    return Side("nanoGPT", "nanogpt", step, r["max_iters"], threads, model, 0,
                (r["eval_interval"], ns["estimate_loss"]),
                {"source": src.description, "recipe": r, "parameters": n_params,
                 "flags": README_CPU_FLAGS})


def gptviz_side(recipe: Recipe, nano: dict[str, Any], task: TextTask, seed: int,
                scale: float) -> Side:
    mcfg = GPTConfig(vocab_size=task.vocab_size, block_size=nano["block_size"],
                     n_layer=nano["n_layer"], n_head=nano["n_head"], n_embd=nano["n_embd"],
                     dropout=nano["dropout"], bias=nano["bias"])
    tcfg = recipe.train_config(seed, scale)
    trainer = Trainer(build_model(mcfg, seed), task, tcfg)
    return Side(recipe.label, "gptviz", trainer.step, tcfg.max_steps, recipe.threads,
                trainer.model, 0,
                info={"recipe": asdict(recipe), "train_config": tcfg.to_dict(),
                      "model_config": mcfg.to_dict(), "parameters": trainer.model.num_params(),
                      "speedups": asdict(trainer.speedups)})


def scaled_nanogpt(recipe: dict[str, Any], scale: float) -> dict[str, Any]:
    if scale == 1.0:
        return dict(recipe)
    r = dict(recipe)
    for k in ("max_iters", "lr_decay_iters", "eval_interval"):
        r[k] = _scaled(r[k], scale)
    r["warmup_iters"] = min(_scaled(r["warmup_iters"], scale, 0), r["lr_decay_iters"] - 1)
    r["eval_iters"] = min(r["eval_iters"], 5)
    return r


def run_once(src: NanoGPTSource, recipes: list[Recipe], *, seed: int = 1337,
             scale: float = 1.0, chunk: int = 50, eval_every: int = 100,
             nanogpt_threads: int = 1, model: dict[str, Any] | None = None,
             max_val_windows: int | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """One race: nanoGPT and each recipe, interleaved; returns curves and times to L*."""
    nano = {**scaled_nanogpt(src.recipe, scale), **(model or {})}
    text = builtin_corpus()
    tok = CharTokenizer.from_text(text)  # nanoGPT's prepare.py: the sorted set of characters
    task = TextTask(text, tok, nano["block_size"], val_fraction=0.1)
    windows = val_windows(task.data["val"], nano["block_size"], max_val_windows)
    every = _scaled(eval_every, scale)
    sides = [nanogpt_side(src, nano, task, seed, nanogpt_threads)]
    sides += [gptviz_side(r, nano, task, seed, scale) for r in recipes]
    for s in sides:
        s.eval_every = every
    if len({s.info["parameters"] for s in sides}) != 1:
        raise AssertionError(f"the models differ in size: "
                             f"{[(s.label, s.info['parameters']) for s in sides]}")
    race(sides, windows, chunk, progress)

    nanogpt = sides[0]
    target = nanogpt.curve[-1]["val_loss"]
    out: dict[str, Any] = {"seed": seed, "target_val_loss": target,
                           "nanogpt_protocol_final_val_loss": (
                               nanogpt.protocol_curve[-1]["val_loss"]
                               if nanogpt.protocol_curve else None),
                           "sides": {}}

    def points(s: Side, x: str) -> list[tuple[float, float]]:
        return [(p[x], p["val_loss"]) for p in s.curve]

    for s in sides:
        by = {x: compare(points(nanogpt, x), points(s, x))
              for x in ("seconds", "cpu_seconds", "step")}
        e = out["sides"][s.label] = {
            "kind": s.kind, "threads": s.threads, "steps": s.done,
            "train_seconds": s.seconds, "train_cpu_seconds": s.cpu_seconds,
            "eval_seconds_excluded": s.eval_seconds,
            "ms_per_step": s.seconds / max(1, s.done) * 1e3,
            "final_val_loss": s.curve[-1]["val_loss"], "diverged": s.diverged,
            "seconds_to_target": by["seconds"]["ours"],
            "cpu_seconds_to_target": by["cpu_seconds"]["ours"],
            "steps_to_target": by["step"]["ours"],
            "curve": s.curve, "nanogpt_protocol_curve": s.protocol_curve, **s.info}
        if s.kind != "nanogpt":
            e["ratio_to_nanogpt"] = by["seconds"]["ratio"]
            e["cpu_ratio_to_nanogpt"] = by["cpu_seconds"]["ratio"]
    return out


def run(recipes: list[Recipe] | None = None, *, repeats: int = 1, seed: int = 1337,
        nanogpt_dir: str | Path | None = None, quick: bool = False, **kw: Any) -> dict[str, Any]:
    """Repeated races (seeds seed, seed + 1, ...), with the ratio's median over them."""
    recipes = recipes or [CANDIDATES[CHOSEN]]
    src = load_nanogpt(nanogpt_dir)
    if quick:
        kw.setdefault("scale", 0.1)
        kw.setdefault("max_val_windows", 256)
    runs = [run_once(src, recipes, seed=seed + i, **kw) for i in range(repeats)]
    summary = {}
    for r in recipes:
        ratios = [x["sides"][r.label]["ratio_to_nanogpt"] for x in runs]
        ok = [x for x in ratios if x is not None]
        summary[r.label] = {"ratio_to_nanogpt": summarize(ok) if ok else None,
                            "ratios": ratios, "meets_0.8_target": bool(ok) and all(
                                x <= 0.8 for x in ok) and len(ok) == len(ratios)}
    return {"nanogpt_source": src.description,
            "nanogpt_recipe_differs_from_builtin": src.differs_from_builtin,
            "quick": quick, "scale": kw.get("scale", 1.0), "model_overrides": kw.get("model"),
            "timing": "wall (perf_counter) and process CPU seconds of each side's training "
                      "steps only; evaluations excluded from both",
            "evaluation": "the whole validation split in consecutive windows of the context "
                          "length, every eval_every steps and at the end, the same tokens for "
                          "both sides; nanoGPT's estimate_loss recorded beside",
            "target": "L* = nanoGPT's validation loss at its last step",
            "summary": summary, "runs": runs}


# --- the plot ----------------------------------------------------------------------------------

COLOURS = {"nanogpt": "#d62728"}
PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2"]


def _colour(label: str, kind: str, labels: list[str]) -> str:
    if kind == "nanogpt":
        return COLOURS["nanogpt"]
    return PALETTE[labels.index(label) % len(PALETTE)]


def write_plot(result: dict[str, Any], base: Path) -> Path:
    """Validation loss against training seconds for every side of every run, L* dashed: a PNG
    with matplotlib when it is installed, else an SVG written here (no dependency)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return _write_svg(result, base.with_suffix(".svg"))
    fig, ax = plt.subplots(figsize=(8, 5))
    labels = list(result["runs"][0]["sides"])
    for i, r in enumerate(result["runs"]):
        for label, s in r["sides"].items():
            ax.plot([p["seconds"] for p in s["curve"]], [p["val_loss"] for p in s["curve"]],
                    color=_colour(label, s["kind"], labels), alpha=1 if i == 0 else 0.4,
                    label=label if i == 0 else None)
        ax.axhline(r["target_val_loss"], ls="--", color="grey", lw=0.8)
    ax.set_ylim(*_y_range(result))
    ax.set_xlabel("training seconds (evaluations excluded)")
    ax.set_ylabel("validation loss (nats/char)")
    ax.legend()
    path = base.with_suffix(".png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _y_range(result: dict[str, Any]) -> tuple[float, float]:
    lows = [p["val_loss"] for r in result["runs"] for s in r["sides"].values()
            for p in s["curve"]]
    target = result["runs"][0]["target_val_loss"]
    lo = min(lows) - 0.05
    return lo, max(target + 1.0, lo + 0.5)


def _write_svg(result: dict[str, Any], path: Path) -> Path:
    W, H, L, R, T, B = 760, 460, 70, 190, 30, 55
    runs = result["runs"]
    x_max = max(p["seconds"] for r in runs for s in r["sides"].values() for p in s["curve"])
    x_max = x_max or 1.0
    y_lo, y_hi = _y_range(result)

    def X(v: float) -> float:
        return L + (W - L - R) * v / x_max

    def Y(v: float) -> float:
        return T + (H - T - B) * (y_hi - v) / (y_hi - y_lo)

    el = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
          f'font-family="sans-serif" font-size="12">',
          f'<rect width="{W}" height="{H}" fill="white"/>',
          f'<clipPath id="plot"><rect x="{L}" y="{T}" width="{W - L - R}" '
          f'height="{H - T - B}"/></clipPath>']
    for i in range(6):  # axes ticks
        xv = x_max * i / 5
        yv = y_lo + (y_hi - y_lo) * i / 5
        el.append(f'<line x1="{X(xv):.1f}" y1="{T}" x2="{X(xv):.1f}" y2="{H - B}" '
                  f'stroke="#eee"/><text x="{X(xv):.1f}" y="{H - B + 16}" '
                  f'text-anchor="middle">{xv:.0f}</text>')
        el.append(f'<line x1="{L}" y1="{Y(yv):.1f}" x2="{W - R}" y2="{Y(yv):.1f}" '
                  f'stroke="#eee"/><text x="{L - 6}" y="{Y(yv) + 4:.1f}" '
                  f'text-anchor="end">{yv:.2f}</text>')
    el.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" '
              f'stroke="black"/>')
    el.append(f'<text x="{(L + W - R) / 2}" y="{H - 15}" text-anchor="middle">training '
              f'seconds (evaluations excluded)</text>')
    el.append(f'<text x="18" y="{(T + H - B) / 2}" text-anchor="middle" '
              f'transform="rotate(-90 18 {(T + H - B) / 2})">validation loss (nats/char)</text>')
    labels = list(runs[0]["sides"])
    for i, r in enumerate(runs):
        tv = r["target_val_loss"]
        el.append(f'<line x1="{L}" y1="{Y(tv):.1f}" x2="{W - R}" y2="{Y(tv):.1f}" '
                  f'stroke="grey" stroke-dasharray="5,4"/>')
        for label, s in r["sides"].items():
            pts = " ".join(f"{X(p['seconds']):.1f},{Y(p['val_loss']):.1f}" for p in s["curve"])
            colour = _colour(label, s["kind"], labels)
            el.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                      f'stroke-width="{2 if i == 0 else 1}" opacity="{1 if i == 0 else 0.45}" '
                      f'clip-path="url(#plot)"/>')
            t = s["seconds_to_target"]
            if t is not None and i == 0:
                el.append(f'<circle cx="{X(t):.1f}" cy="{Y(tv):.1f}" r="4" fill="{colour}"/>')
    for j, label in enumerate(labels):
        s = runs[0]["sides"][label]
        y = T + 12 + 18 * j
        el.append(f'<line x1="{W - R + 12}" y1="{y}" x2="{W - R + 32}" y2="{y}" '
                  f'stroke="{_colour(label, s["kind"], labels)}" stroke-width="2"/>'
                  f'<text x="{W - R + 38}" y="{y + 4}">{label}</text>')
    y = T + 12 + 18 * len(labels)
    el.append(f'<line x1="{W - R + 12}" y1="{y}" x2="{W - R + 32}" y2="{y}" stroke="grey" '
              f'stroke-dasharray="5,4"/><text x="{W - R + 38}" y="{y + 4}">L* '
              f'{runs[0]["target_val_loss"]:.3f}</text>')
    el.append("</svg>")
    path.write_text("\n".join(el) + "\n")
    return path


# --- the command line --------------------------------------------------------------------------

def _fmt(v: float | None, spec: str) -> str:
    return "never" if v is None else format(v, spec)


def rows(result: dict[str, Any]) -> list[list[str]]:
    out = []
    for r in result["runs"]:
        for label, s in r["sides"].items():
            ratio = s.get("ratio_to_nanogpt")
            out.append([str(r["seed"]), label, str(s["threads"]), str(s["steps"]),
                        f"{s['train_seconds']:.1f}", f"{s['ms_per_step']:.1f}",
                        f"{s['final_val_loss']:.4f}", _fmt(s["seconds_to_target"], ".1f"),
                        _fmt(s["steps_to_target"], ".0f"),
                        "1" if s["kind"] == "nanogpt" else _fmt(ratio, ".3f")])
    return out


HEADER = ["seed", "side", "threads", "steps", "train s", "ms/step", "final val",
          "s to L*", "steps to L*", "time ratio"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench quality", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="every step count x0.1 (200 nanoGPT steps): a smoke test")
    p.add_argument("--ours", default=CHOSEN,
                   help=f"candidate recipe(s), comma-separated, or 'all' (default {CHOSEN}; "
                        f"known: {', '.join(CANDIDATES)})")
    p.add_argument("--nanogpt-dir", default=os.environ.get("NANOGPT_DIR"),
                   help="a nanoGPT checkout (default: $NANOGPT_DIR; else the reference copy)")
    p.add_argument("--repeats", type=int, default=1, help="races, seeds seed, seed+1, ...")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--chunk", type=int, default=50,
                   help="steps per turn of the longest side, the others in proportion (50)")
    p.add_argument("--eval-every", type=int, default=100, help="steps between evaluations")
    p.add_argument("--nanogpt-threads", type=int, default=1,
                   help="torch threads for nanoGPT (default 1: faster here than 2)")
    p.add_argument("--val-windows", type=int, default=None,
                   help="score this many validation windows, spread evenly (default: all)")
    p.add_argument("--tiny", action="store_true",
                   help="a 1-layer, 32-dim model, step counts x0.03: for the tests")
    p.add_argument("--tag", default="", help="written as quality-TAG.json")
    p.add_argument("--out", type=Path, default=OUT_DIR)
    args = p.parse_args(argv)
    names = list(CANDIDATES) if args.ours == "all" else list(dict.fromkeys(args.ours.split(",")))
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        p.error(f"unknown recipe(s) {', '.join(unknown)}: choose from {', '.join(CANDIDATES)}")

    info = machine()
    t0 = time.perf_counter()
    kw: dict[str, Any] = {"max_val_windows": args.val_windows} if args.val_windows else {}
    if args.tiny:
        kw.update(scale=0.03, model=TINY_MODEL, max_val_windows=args.val_windows or 64)
    res = run([CANDIDATES[n] for n in names], repeats=args.repeats, seed=args.seed,
              nanogpt_dir=args.nanogpt_dir, quick=args.quick, chunk=args.chunk,
              eval_every=args.eval_every, nanogpt_threads=args.nanogpt_threads,
              progress=lambda line: print(line, flush=True), **kw)
    res = {"part": "quality", "machine": info, "load_average_after": machine()["load_average"],
           "seconds": time.perf_counter() - t0, **res}
    name = "quality" + (f"-{args.tag}" if args.tag else "")
    args.out.mkdir(parents=True, exist_ok=True)
    res["plot"] = write_plot(res, args.out / name).name
    path = write_json(name, res, args.out)
    print(f"\n## Time to nanoGPT's final validation loss ({res['nanogpt_source']})\n")
    print(table(rows(res), HEADER))
    for label, s in res["summary"].items():
        r = s["ratio_to_nanogpt"]
        print(f"\n{label}: time ratio ours/nanoGPT "
              + (f"median {r['median']:.3f} (n={r['n']}, {r['min']:.3f}-{r['max']:.3f})"
                 if r else "none (never reached L*)")
              + f"; target 0.8 {'met' if s['meets_0.8_target'] else 'NOT met'}")
    if res["nanogpt_recipe_differs_from_builtin"]:
        print(f"note: the checkout's recipe differs: {res['nanogpt_recipe_differs_from_builtin']}")
    print(f"\n(wrote {path} and {res['plot']}; load average {info['load_average']} -> "
          f"{res['load_average_after']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["CANDIDATES", "CHOSEN", "NANOGPT_CPU", "Recipe", "run", "time_to_target"]
