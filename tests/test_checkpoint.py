"""Model bundles: a saved model comes back identical; every malformed file gets a clear refusal."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import pytest
import torch
from safetensors.torch import save as st_save

from gptviz.checkpoint import (
    CONFIG_NAME,
    MAX_CONFIG_BYTES,
    WEIGHTS_NAME,
    CheckpointError,
    check_settings,
    fit_training,
    load_bundle,
    save_bundle,
)
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN, GPTConfig, TrainConfig
from gptviz.model import GPT
from gptviz.tasks import SequenceTask
from gptviz.train import Trainer, build_model

TASK = {"kind": "sequence", "sequence": DOC000_SEQUENCE, "last_only": True}


@pytest.fixture(scope="module")
def trained() -> Trainer:
    trainer = Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3),
                      DOC000_TRAIN)
    trainer.run(20)
    return trainer


@pytest.fixture(scope="module")
def good(trained) -> bytes:
    return save_bundle(trained.model, TASK, trained.config, step=trained.step_count)


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rezip(files: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return buf.getvalue()


def with_meta(good: bytes, change) -> bytes:
    files = unzip(good)
    meta = json.loads(files[CONFIG_NAME])
    change(meta)
    files[CONFIG_NAME] = json.dumps(meta).encode()
    return rezip(files)


def with_tensors(good: bytes, change) -> bytes:
    files = unzip(good)
    from safetensors.torch import load
    tensors = load(files[WEIGHTS_NAME])
    change(tensors)
    files[WEIGHTS_NAME] = st_save(tensors)
    return rezip(files)


def test_round_trip_gives_the_same_model_and_predictions(trained, good):
    b = load_bundle(good)
    assert b.config == DOC000_MODEL and b.train == DOC000_TRAIN and b.step == 20
    assert b.task == TASK
    for (k, v), (k2, v2) in zip(trained.model.state_dict().items(), b.model.state_dict().items(),
                                strict=True):
        assert k == k2 and torch.equal(v.cpu(), v2)
    x = torch.tensor([[1, 1, 1], [0, 1, 1]])
    assert torch.equal(trained.model.next_token_probs(x), b.model.next_token_probs(x))
    # weight tying survives: the output head and the embedding are one tensor again
    assert b.model.lm_head.weight is b.model.transformer.wte.weight


def test_the_bundle_is_a_zip_of_safetensors_and_json(good):
    files = unzip(good)
    assert set(files) == {CONFIG_NAME, WEIGHTS_NAME}
    meta = json.loads(files[CONFIG_NAME])
    assert meta["model"]["n_layer"] == 4 and meta["task"]["kind"] == "sequence"
    (n,) = struct.unpack("<Q", files[WEIGHTS_NAME][:8])
    header = json.loads(files[WEIGHTS_NAME][8:8 + n])
    assert "lm_head.weight" not in header  # tied: stored once under transformer.wte.weight
    assert header["transformer.wte.weight"] == {
        "dtype": "F32", "shape": [2, 16], "data_offsets": header["transformer.wte.weight"][
            "data_offsets"]}


def _nan(t):
    t["transformer.ln_f.weight"][0] = float("nan")


def _zip_bomb(good: bytes) -> bytes:
    # 125 MB of zeros deflates to about 120 KB: the declared size alone refuses it (the
    # configuration is the good file's: a small model, whose weights take a few KB)
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        config = zf.read(CONFIG_NAME)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(CONFIG_NAME, config)
        with zf.open(WEIGHTS_NAME, "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(125):
                f.write(chunk)
    return buf.getvalue()


def _json_bytes(good, raw: bytes) -> bytes:
    files = unzip(good)
    files[CONFIG_NAME] = raw
    return rezip(files)


MALFORMED = {
    "empty file": (lambda g: b"", "empty"),
    "random bytes": (lambda g: os.urandom(4096), "not a gptviz model file"),
    "a pickle (torch.save)": (lambda g: _torch_save_bytes(), "not a gptviz model file"),
    "html with a script": (lambda g: b"<html><script>alert(1)</script></html>",
                           "not a gptviz model file"),
    "truncated zip": (lambda g: g[: len(g) // 2], "not a gptviz model file|damaged"),
    "zip with other files": (lambda g: rezip({"evil.py": b"print(1)"}), "holds 1 file"),
    "zip bomb": (lambda g: _zip_bomb(g), "would unpack to"),
    "config not JSON": (lambda g: _json_bytes(g, b"{not json"), "not valid JSON"),
    "config not UTF-8": (lambda g: _json_bytes(g, "{}".encode("utf-16")), "not UTF-8"),
    "config a list": (lambda g: _json_bytes(g, b"[1, 2]"), "must hold a JSON object"),
    "config deeply nested": (lambda g: _json_bytes(g, b"[" * 100_000), "nested too deeply|JSON"),
    "config NaN constant": (lambda g: _json_bytes(g, b'{"a": NaN}'), "not valid JSON"),
    "config over the size cap": (
        lambda g: _json_bytes(g, b" " * (MAX_CONFIG_BYTES + 1)), "would unpack to"),
    "wrong format tag": (lambda g: with_meta(g, lambda m: m.update(format="other")), "format"),
    "future version": (lambda g: with_meta(g, lambda m: m.update(version=99)), "version 99"),
    "layers a string": (lambda g: with_meta(g, lambda m: m["model"].update(n_layer="4")),
                        "must be an int"),
    "bias a number": (lambda g: with_meta(g, lambda m: m["model"].update(bias=1)),
                      "must be a bool"),
    "missing setting": (lambda g: with_meta(g, lambda m: m["model"].pop("n_head")),
                        "missing the setting 'n_head'"),
    "unknown setting": (lambda g: with_meta(g, lambda m: m["model"].update(evil=1)),
                        "unknown setting"),
    "config does not validate": (
        lambda g: with_meta(g, lambda m: m["model"].update(n_embd=10)), "not divisible"),
    "model too big": (
        lambda g: with_meta(g, lambda m: m["model"].update(vocab_size=50_000, n_embd=1024)),
        "parameters; the limit"),
    "task missing": (lambda g: with_meta(g, lambda m: m.pop("task")), "'task'"),
    "negative step": (lambda g: with_meta(g, lambda m: m.update(step=-3)), "'step'"),
    "weights for another shape": (
        lambda g: with_meta(g, lambda m: m["model"].update(n_embd=32)), "has shape"),
    "missing tensor": (lambda g: with_tensors(g, lambda t: t.pop("transformer.ln_f.weight")),
                       "missing transformer.ln_f.weight"),
    "extra tensor": (lambda g: with_tensors(g, lambda t: t.update(evil=torch.zeros(1))),
                     "unexpected 'evil'"),
    "float64 weights": (
        lambda g: with_tensors(g, lambda t: t.update({
            "transformer.wpe.weight": t["transformer.wpe.weight"].double()})), "F32"),
    "NaN weights": (lambda g: with_tensors(g, _nan), "NaN or infinite"),
    "damaged safetensors header": (
        lambda g: rezip({**unzip(g), WEIGHTS_NAME: struct.pack("<Q", 10**12) + b"{}"}),
        "damaged header"),
}


def _torch_save_bytes() -> bytes:
    buf = io.BytesIO()
    torch.save({"a": torch.zeros(2)}, buf)  # a zip too, holding a pickle: must be refused
    return buf.getvalue()


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_files_are_refused_with_a_clear_message(good, case):
    make, words = MALFORMED[case]
    with pytest.raises(CheckpointError) as e:
        load_bundle(make(good))
    msg = str(e.value)
    assert any(w.lower() in msg.lower() for w in words.split("|")), msg
    assert "Traceback" not in msg and len(msg) < 400


def test_oversized_bundle_is_refused_before_unpacking(good):
    with pytest.raises(CheckpointError, match="limit"):
        load_bundle(good, max_bytes=len(good) - 1)


def test_loading_never_unpickles(good, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", boom)
    assert load_bundle(good).step == 20


def test_a_model_with_biases_and_another_shape_round_trips():
    cfg = GPTConfig(vocab_size=5, block_size=6, n_layer=2, n_head=2, n_embd=8, bias=True)
    model = GPT(cfg)
    b = load_bundle(save_bundle(model, {"kind": "sequence", "sequence": "01234"}))
    assert b.config == cfg and b.train is None and b.step == 0
    x = torch.tensor([[0, 1, 2, 3, 4, 0]])
    torch.testing.assert_close(model.next_token_probs(x), b.model.next_token_probs(x))


# --- what a hostile test found (issue 15): every field checked before arithmetic, a loaded file
# held to the page's own limits before anything is built, weights that survive a forward pass
BABY_LIMITS = {"n_layer": (1, 8), "n_head": (1, 8), "n_embd": (1, 256), "block_size": (1, 8),
               "learning_rate": (1e-5, 1.0), "max_steps": (1, 100_000), "seed": (0, 2**31 - 1),
               "eval_interval": (1, 10_000), "eval_batches": (1, 100),
               "grad_clip": (0.0, 10.0), "weight_decay": (0.0, 10.0)}


def _fits(config, train, task):
    check_settings(config, train, task, "sequence", BABY_LIMITS)


@pytest.mark.parametrize("change, words", [
    (lambda m: m["model"].update(n_head=0), "at least one attention head"),
    (lambda m: m["model"].update(n_head=-4), "at least one attention head"),
    (lambda m: m["train"].update(seed=2**64), "seed must be 0 to"),
    (lambda m: m["train"].update(seed=-1), "seed must be 0 to"),
    (lambda m: m["train"].update(eval_batches=200_000), "evaluation averages 1 to"),
    (lambda m: m["train"].update(grad_clip=1e308), "gradient clipping must be 0"),
    (lambda m: m["train"].update(eval_interval=10**7), "evaluation interval must be 1 to"),
])
def test_every_loaded_field_is_validated_before_any_arithmetic(good, change, words):
    with pytest.raises(CheckpointError) as e:
        load_bundle(with_meta(good, change))
    assert words in str(e.value).lower()


def test_a_loaded_file_gets_the_pages_own_limits(good):
    # the architecture must fit the page (the weights have its shape) ...
    with pytest.raises(CheckpointError, match="layers 12; this page takes 1 to 8"):
        load_bundle(with_meta(good, lambda m: m["model"].update(n_layer=12)), fits=_fits)
    # ... training settings are clamped into the page's bounds, as a shared link's are, and
    # each one moved is said
    b = load_bundle(with_meta(good, lambda m: m["train"].update(
        learning_rate=1e-300, max_steps=10**6, eval_batches=500, seed=7)), fits=_fits)
    train, notes = fit_training(b.train, BABY_LIMITS)
    assert (train.learning_rate, train.max_steps, train.eval_batches, train.seed) == (
        1e-5, 100_000, 100, 7)
    assert notes == [
        "its learning rate 1e-300 is outside this page's 1e-05 to 1, so it is 1e-05 here",
        "its steps 1e+06 is outside this page's 1 to 100000, so it is 100000 here",
        "its evaluation batches 500 is outside this page's 1 to 100, so it is 100 here"]
    assert fit_training(load_bundle(good).train, BABY_LIMITS)[1] == []  # the good one fits
    # a lowered peak takes the floor of a cosine schedule along
    t = TrainConfig(learning_rate=50.0, min_lr=10.0, schedule="cosine", max_steps=100)
    fitted, _ = fit_training(t, BABY_LIMITS)
    assert (fitted.learning_rate, fitted.min_lr) == (1.0, 1.0)


def test_a_small_file_declaring_a_huge_model_is_refused_before_its_weights_unpack(good,
                                                                                 monkeypatch):
    # 28M zero weights deflate to a few hundred KB; the declared model is refused on its JSON
    big = GPTConfig(vocab_size=2, block_size=8, n_layer=16, n_head=8, n_embd=384)
    assert big.num_params() > 28_000_000
    files = unzip(good)
    meta = json.loads(files[CONFIG_NAME])
    meta["model"] = big.to_dict()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(CONFIG_NAME, json.dumps(meta))
        with zf.open(WEIGHTS_NAME, "w", force_zip64=True) as f:
            for _ in range(112):
                f.write(bytes(1 << 20))
    data = buf.getvalue()
    assert len(data) < 1_000_000
    read = []
    real = zipfile.ZipFile.open

    def spy(self, name, *a, **k):
        read.append(getattr(name, "filename", name))
        return real(self, name, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    with pytest.raises(CheckpointError, match="layers 16; this page takes 1 to 8"):
        load_bundle(data, fits=_fits)
    assert read == [CONFIG_NAME]  # the weights were never unpacked


def test_weights_that_overflow_on_a_forward_pass_are_refused(good):
    def huge(tensors):
        for name in tensors:
            if name.endswith("c_fc.weight"):
                tensors[name] = torch.full_like(tensors[name], 3e38)
    with pytest.raises(CheckpointError, match="overflow on a forward pass"):
        load_bundle(with_tensors(good, huge))
