"""Save a trained model with its configuration, and load one back safely.

A bundle is a zip of two files: `model.safetensors` (the weights; safetensors holds plain
tensors and never runs code, unlike a pickle) and `config.json` (the GPTConfig, the TrainConfig,
the task that the page trained on, and the step count). Loading trusts nothing in the file: the
JSON is checked field by field, the config must pass GPTConfig.validate(), the safetensors header
is read and compared with the tensors that GPT(config) has *before* any tensor is read, and every
value must be finite. Each failure raises CheckpointError with a sentence meant for the page.
`torch.load` is never used: it unpickles, and unpickling a stranger's file runs their code.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from gptviz.config import MAX_PARAMS, ConfigError, GPTConfig, TrainConfig
from gptviz.i18n import N_, _
from gptviz.model import GPT
from gptviz.tasks.base import Task
from gptviz.train import Trainer

FORMAT = "gptviz-model"
VERSION = 1
WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
TIED = "lm_head.weight"  # the same tensor as transformer.wte.weight: saved once, under wte

MAX_CONFIG_BYTES = 256 * 1024  # the JSON: configs and a task (a typed sequence) fit easily
MAX_HEADER_BYTES = 1024 * 1024  # safetensors' JSON header
MAX_WEIGHTS_BYTES = MAX_PARAMS * 4 + MAX_HEADER_BYTES  # float32 weights of the largest model
MAX_BUNDLE_BYTES = MAX_WEIGHTS_BYTES + MAX_CONFIG_BYTES + 64 * 1024


class CheckpointError(ValueError):
    """A model file the app refuses, with a message meant for the page."""


@dataclass(frozen=True)
class Bundle:
    model: GPT  # on the CPU, in eval mode
    config: GPTConfig
    train: TrainConfig | None
    task: dict[str, Any]  # what the page needs to rebuild its task, e.g. {"kind": "sequence"}
    step: int  # training steps the model had when it was saved


# --- saving ---------------------------------------------------------------------------------
def save_bundle(model: GPT, task_spec: dict[str, Any], train_cfg: TrainConfig | None = None,
                step: int = 0) -> bytes:
    """The zip's bytes: weights as float32 safetensors, configuration and task as JSON."""
    state = model.state_dict()
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous()
               for k, v in state.items() if k != TIED}
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.config.to_dict(),
        "train": train_cfg.to_dict() if train_cfg is not None else None,
        "task": task_spec,
        "step": int(step),
    }
    text = json.dumps(meta, indent=2, allow_nan=False)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(CONFIG_NAME, text)
        zf.writestr(WEIGHTS_NAME, st_save(tensors, metadata={"format": FORMAT}))
    return buf.getvalue()


# --- loading --------------------------------------------------------------------------------
def load_bundle(data: bytes, max_bytes: int = MAX_BUNDLE_BYTES,
                fits: Callable[[GPTConfig, TrainConfig | None, dict[str, Any]], None]
                | None = None) -> Bundle:
    """Check everything in `data`, then build the model. Raises CheckpointError.

    `fits(config, train, task)` is the page's own check (check_settings with its limits): it
    runs on the JSON alone, before a single weight is unpacked, and the weights may then unpack
    to no more than that model's exact size. So a small file that declares a huge model costs
    nothing but its JSON."""
    if not isinstance(data, bytes | bytearray):
        raise CheckpointError(_("The model file could not be read."))
    if len(data) == 0:
        raise CheckpointError(_("The model file is empty."))
    if len(data) > max_bytes:
        raise CheckpointError(_("The model file is {size}; the limit is {limit}.").format(
            size=_mb(len(data)), limit=_mb(max_bytes)))
    with _open_zip(bytes(data)) as zf:
        meta = _parse_json(_read_member(zf, CONFIG_NAME, MAX_CONFIG_BYTES))
        config, train, task, step = _check_meta(meta)
        if fits is not None:
            fits(config, train, task)
        expected = _expected_tensors(config)
        exact = sum(4 * math.prod(shape) for shape in expected.values())
        weights_bytes = _read_member(zf, WEIGHTS_NAME, exact + 8 + MAX_HEADER_BYTES)
    _check_safetensors_header(weights_bytes, expected)
    try:
        tensors = st_load(weights_bytes)
    except Exception as e:  # safetensors raises its own SafetensorError for a bad body
        raise CheckpointError(_("The weights in {file} are damaged ({error}).").format(
            file=WEIGHTS_NAME, error=_short(e))) from None
    for name, t in tensors.items():
        if not bool(torch.isfinite(t).all()):
            raise CheckpointError(_("The weight '{name}' holds NaN or infinite values: this "
                                    "model had diverged when it was saved, so it cannot be "
                                    "used.").format(name=name))
    model = GPT(config)
    tensors[TIED] = tensors["transformer.wte.weight"]
    model.load_state_dict(tensors, strict=True)
    model.eval()
    _check_forward(model)
    return Bundle(model, config, train, task, step)


def _check_forward(model: GPT) -> None:
    """Finite weights can still overflow (3e38 times anything): one forward pass must give
    finite logits for every token at every position."""
    cfg = model.config
    idx = (torch.arange(cfg.block_size) % cfg.vocab_size).view(1, -1)
    with torch.no_grad():
        logits = model(idx).logits
    if not bool(torch.isfinite(logits).all()):
        raise CheckpointError(_("These weights overflow on a forward pass (the model's "
                                "outputs are infinite or NaN), so the model cannot be used."))


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _short(e: BaseException, n: int = 120) -> str:
    s = str(e).replace("\n", " ")
    return s if len(s) <= n else s[:n] + "…"


_NOT_OURS = N_("This is not a gptviz model file: save one with the page's 'Download model' "
                "button (a .zip holding model.safetensors and config.json).")


def _damaged(e: BaseException) -> CheckpointError:
    return CheckpointError(_("The model file is damaged and cannot be unpacked ({error}).")
                           .format(error=type(e).__name__))


class _open_zip:
    """The bundle's zip, checked to hold exactly our two files; errors become sentences."""

    def __init__(self, data: bytes) -> None:
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise CheckpointError(_(_NOT_OURS))
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            names = [i.filename for i in self.zf.infolist()]
        except Exception as e:
            raise _damaged(e) from None
        if sorted(names) != sorted([CONFIG_NAME, WEIGHTS_NAME]):
            self.zf.close()
            raise CheckpointError(_("{not_ours} This zip holds {count} file(s): {names}.").format(
                not_ours=_(_NOT_OURS), count=len(names),
                names=", ".join(repr(n[:40]) for n in names[:5])))

    def __enter__(self) -> zipfile.ZipFile:
        return self.zf

    def __exit__(self, *exc: object) -> None:
        self.zf.close()


def _read_member(zf: zipfile.ZipFile, name: str, cap: int) -> bytes:
    """One file of the zip, refused if it says or turns out to be larger than `cap`."""
    try:
        info = zf.getinfo(name)
        if info.file_size > cap:
            raise CheckpointError(_("{file} would unpack to {size}; the model its "
                                    "configuration describes needs at most {limit}.").format(
                file=name, size=_mb(info.file_size), limit=_mb(cap)))
        with zf.open(info) as f:
            # read one byte past the cap: a zip whose header lies about the size (a zip bomb)
            # is stopped here instead of filling the memory
            body = f.read(cap + 1)
    except CheckpointError:
        raise
    except Exception as e:  # BadZipFile, bad CRC, encrypted or unknown compression, zlib errors
        raise _damaged(e) from None
    if len(body) > cap:
        raise CheckpointError(_("{file} unpacks to more than {limit}.").format(
            file=name, limit=_mb(cap)))
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(_("{name} is not allowed").format(name=name))


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(_("{file} is not UTF-8 text.").format(file=CONFIG_NAME)) from None
    try:
        meta = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise CheckpointError(_("{file} is nested too deeply.").format(
            file=CONFIG_NAME)) from None
    except ValueError as e:
        raise CheckpointError(_("{file} is not valid JSON ({error}).").format(
            file=CONFIG_NAME, error=_short(e, 80))) from None
    if not isinstance(meta, dict):
        raise CheckpointError(_("{file} must hold a JSON object, not {kind}.").format(
            file=CONFIG_NAME, kind=type(meta).__name__))
    return meta


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, int | float) and not isinstance(v, bool)
            and math.isfinite(float(v)))


# TrainConfig settings newer than format version 1: a file saved before them has none, and
# gets their defaults (a constant learning rate, weight decay on every parameter)
ADDED_SINCE_V1 = {"schedule", "warmup_steps", "decay_steps", "min_lr", "decay_matrices_only"}


def _check_fields(obj: Any, cls: type, where: str) -> dict[str, Any]:
    """Every field of the dataclass present (but those ADDED_SINCE_V1), of its type; nothing
    else."""
    if not isinstance(obj, dict):
        raise CheckpointError(_("'{where}' in {file} must be an object.").format(
            where=where, file=CONFIG_NAME))
    out: dict[str, Any] = {}
    known = {f.name: f for f in fields(cls)}
    extra = sorted(set(obj) - set(known))
    if extra:
        raise CheckpointError(_("'{where}' has unknown setting(s): {names}.").format(
            where=where, names=", ".join(repr(str(k)[:30]) for k in extra[:5])))
    for name, f in known.items():
        if name not in obj:
            if name in ADDED_SINCE_V1:
                continue
            raise CheckpointError(_("'{where}' is missing the setting '{name}'.").format(
                where=where, name=name))
        v = obj[name]
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        ok = {"int": _is_int, "float": _is_number, "bool": lambda x: isinstance(x, bool),
              "str": lambda x: isinstance(x, str) and len(x) <= 100}[kind](v)
        if not ok:
            wrong = {"int": _("'{field}' must be an int; the file has {value}."),
                     "float": _("'{field}' must be a float; the file has {value}."),
                     "bool": _("'{field}' must be a bool; the file has {value}."),
                     "str": _("'{field}' must be a str; the file has {value}.")}[kind]
            raise CheckpointError(wrong.format(field=f"{where}.{name}",
                                               value=json.dumps(v)[:40]))
        out[name] = float(v) if kind == "float" else v
    return out


def _check_meta(meta: dict[str, Any]) -> tuple[GPTConfig, TrainConfig | None, dict, int]:
    if meta.get("format") != FORMAT:
        raise CheckpointError(_("{file} is not a gptviz model description (its 'format' "
                                "should be '{format}').").format(file=CONFIG_NAME,
                                                                 format=FORMAT))
    if meta.get("version") != VERSION:
        raise CheckpointError(_("This model file has version {version}; this app reads "
                                "version {supported}.").format(
            version=json.dumps(meta.get("version"))[:20], supported=VERSION))
    try:
        config = GPTConfig(**_check_fields(meta.get("model"), GPTConfig, "model")).validate()
        train = None
        if meta.get("train") is not None:
            train = TrainConfig(**_check_fields(meta["train"], TrainConfig, "train")).validate()
    except ConfigError as e:
        raise CheckpointError(_("The model's configuration is not allowed here: {error}")
                              .format(error=e)) from None
    task = meta.get("task")
    if not isinstance(task, dict) or not isinstance(task.get("kind"), str):
        raise CheckpointError(_("'task' in {file} must be an object with a 'kind'.").format(
            file=CONFIG_NAME))
    step = meta.get("step", 0)
    if not _is_int(step) or step < 0:
        raise CheckpointError(_("'step' must be a whole number, 0 or more."))
    return config, train, task, step


def _expected_tensors(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every saved tensor of GPT(config), without allocating it."""
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in GPT(config).state_dict().items()}
    shapes.pop(TIED)
    return shapes


def _bad_header() -> CheckpointError:
    return CheckpointError(_("{file} has a damaged header.").format(file=WEIGHTS_NAME))


def _check_safetensors_header(raw: bytes, expected: dict[str, tuple[int, ...]]) -> None:
    """Compare the header with the expected tensors before reading any tensor."""
    if len(raw) < 8:
        raise CheckpointError(_("{file} is too short to hold weights.").format(
            file=WEIGHTS_NAME))
    (n,) = struct.unpack("<Q", raw[:8])
    if n > min(MAX_HEADER_BYTES, len(raw) - 8):
        raise _bad_header()
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad_header() from None
    if not isinstance(header, dict):
        raise _bad_header()
    header.pop("__metadata__", None)
    missing = sorted(set(expected) - set(header))
    extra = sorted(set(header) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(_("missing {names}").format(
                names=", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")))
        if extra:
            parts.append(_("unexpected {names}").format(
                names=", ".join(repr(str(k)[:40]) for k in extra[:3])
                + (" …" if len(extra) > 3 else "")))
        raise CheckpointError(_("The weights do not match the model described in {file}: "
                                "{problems}.").format(file=CONFIG_NAME,
                                                      problems="; ".join(parts)))
    for name, shape in expected.items():
        entry = header[name]
        if not isinstance(entry, dict):
            raise _bad_header()
        if entry.get("dtype") != "F32":
            raise CheckpointError(_("The weight '{name}' is stored as {dtype}; float32 (F32) "
                                    "is expected.").format(name=name,
                                                           dtype=str(entry.get("dtype"))[:10]))
        got = entry.get("shape")
        if not isinstance(got, list) or tuple(got) != shape:
            raise CheckpointError(_("The weight '{name}' has shape {shape}; the "
                                    "configuration needs {needed}.").format(
                name=name, shape=json.dumps(got)[:40], needed=list(shape)))


# --- a loaded model onto a page ---------------------------------------------------------------
# the settings' names in the sentences below (translated where they are used, with _)
ARCH_WORDS = {"vocab_size": N_("vocabulary size"), "block_size": N_("context length"),
              "n_layer": N_("layers"), "n_head": N_("heads"), "n_embd": N_("embedding size")}


TRAIN_WORDS = {"learning_rate": N_("learning rate"), "weight_decay": N_("weight decay"),
               "batch_size": N_("batch size"), "max_steps": N_("steps"), "seed": N_("seed"),
               "grad_clip": N_("gradient clipping"), "eval_interval": N_("evaluation interval"),
               "eval_batches": N_("evaluation batches"), "warmup_steps": N_("warm-up steps"),
               "decay_steps": N_("decay steps"), "min_lr": N_("learning-rate floor")}

Limits = Mapping[str, tuple[float, float]]


def check_settings(config: GPTConfig, train: TrainConfig | None, task: dict[str, Any],
                   kind: str, limits: Limits) -> None:
    """Refuse a model saved on another page, or whose architecture the page cannot build.

    limits maps GPTConfig fields ("n_layer", ...) and TrainConfig fields ("learning_rate", ...)
    to the page's (lowest, highest) values: the same bounds its widgets and its URL use. The
    architecture must fit (the weights have its shape); training settings are brought into the
    page's bounds by fit_training, as a shared link's are.
    """
    if task.get("kind") != kind:
        raise CheckpointError(_("This model was trained on another page's task ('{kind}'); "
                                "load it on that page.").format(kind=str(task.get("kind"))[:30]))
    for name, (lo, hi) in limits.items():
        if not hasattr(config, name):
            continue
        value = getattr(config, name)
        if not lo <= value <= hi:
            word = _(ARCH_WORDS[name]) if name in ARCH_WORDS else name
            raise CheckpointError(_("This model has {setting} {value}; this page takes {lo} to "
                                    "{hi}.").format(setting=word, value=value, lo=lo, hi=hi))
    if config.dropout:
        raise CheckpointError(_("This model uses dropout, which this page does not offer."))


def fit_training(train: TrainConfig, limits: Limits) -> tuple[TrainConfig, list[str]]:
    """`train` with every setting the page has a bound for clamped into it, and a sentence per
    setting that moved (the URL's rule, gptviz/urlparams.py: a value out of range is clamped
    and the page says so)."""
    changes: dict[str, Any] = {}
    notes = []
    for name, (lo, hi) in limits.items():
        if not hasattr(train, name):
            continue
        value = getattr(train, name)
        fitted = type(value)(min(max(value, lo), hi))
        if fitted != value:
            changes[name] = fitted
            word = _(TRAIN_WORDS[name]) if name in TRAIN_WORDS else name
            # a phrase: the page joins these after "From the file: "
            notes.append(_("its {setting} {value:g} is outside this page's {lo:g} to {hi:g}, so "
                           "it is {fitted:g} here").format(setting=word, value=value, lo=lo,
                                                           hi=hi, fitted=fitted))
    fitted_train = TrainConfig(**{**train.to_dict(), **changes})
    # a floor above a lowered peak, or a warm-up past fewer steps: brought along
    if fitted_train.min_lr > fitted_train.learning_rate:
        fitted_train = TrainConfig(**{**fitted_train.to_dict(),
                                      "min_lr": fitted_train.learning_rate})
    if fitted_train.warmup_steps >= fitted_train.max_steps:
        fitted_train = TrainConfig(**{**fitted_train.to_dict(), "warmup_steps": 0})
    try:
        return fitted_train.validate(), notes
    except ConfigError as e:
        raise CheckpointError(_("The model's training settings are not allowed here: {error}")
                              .format(error=e)) from None


def check_fits(b: Bundle, kind: str, limits: Limits) -> None:
    """check_settings on a loaded bundle."""
    check_settings(b.config, b.train, b.task, kind, limits)


def bundle_trainer(b: Bundle, task: Task, fallback: TrainConfig, limits: Limits | None = None,
                   **overrides: Any) -> tuple[Trainer, list[str]]:
    """A Trainer that goes on from a loaded model, at its step count, with a fresh optimizer,
    and a sentence for each training setting that was brought into the page's `limits`.

    The saved training settings are used (else `fallback`), fitted into `limits`, with
    `overrides` on top; a model saved on a GPU continues on the CPU where there is none.
    """
    t, notes = fit_training(b.train or fallback, limits or {})
    device = t.device if t.device == "cpu" or torch.cuda.is_available() else "cpu"
    config = TrainConfig(**{**t.to_dict(), "device": device, **overrides}).validate()
    trainer = Trainer(b.model, task, config)
    trainer.step_count = b.step
    return trainer, notes
