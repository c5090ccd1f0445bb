"""bench/quality.py: time to nanoGPT's final validation loss, at its smallest.

The race itself takes minutes (`python -m bench quality`); here the time-to-target arithmetic is
checked on hand-made curves (the oracle), a tiny race runs in-process and its JSON is checked for
the fields the README relies on, and a nanoGPT checkout is read as train.py would read it.
"""

from __future__ import annotations

import ast
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench import quality as q

REPO = Path(__file__).resolve().parents[1]


def test_time_to_target_interpolates_the_first_crossing():
    curve = [(0.0, 4.0), (10.0, 2.0), (20.0, 1.0)]
    assert q.time_to_target(curve, 1.5) == pytest.approx(15.0)
    assert q.time_to_target(curve, 2.0) == pytest.approx(10.0)  # reached exactly at a point
    assert q.time_to_target(curve, 3.0) == pytest.approx(5.0)
    assert q.time_to_target(curve, 5.0) == 0.0  # already there at the start
    assert q.time_to_target(curve, 0.5) is None  # never
    # the first time it gets there counts, not a later one after a bump
    bumpy = [(0.0, 3.0), (10.0, 1.4), (20.0, 1.6), (30.0, 1.2)]
    assert q.time_to_target(bumpy, 1.5) == pytest.approx(10 * 1.5 / 1.6)


def test_compare_takes_nanogpts_last_loss_as_the_target():
    nano = [(0.0, 4.0), (50.0, 2.0), (100.0, 1.5)]
    ours = [(0.0, 4.0), (40.0, 1.7), (60.0, 1.3)]
    c = q.compare(nano, ours)
    assert c["target"] == 1.5
    assert c["nanogpt"] == pytest.approx(100.0)
    assert c["ours"] == pytest.approx(40 + 20 * 0.2 / 0.4)  # 50 s
    assert c["ratio"] == pytest.approx(0.5)
    # nanoGPT's curve dipped below its final loss earlier: that earlier time is its time
    dipped = [(0.0, 4.0), (50.0, 1.4), (100.0, 1.5)]
    assert q.compare(dipped, ours)["nanogpt"] == pytest.approx(50 * 2.5 / 2.6)
    assert q.compare(nano, [(0.0, 4.0), (80.0, 1.6)])["ratio"] is None


def test_val_windows_score_every_token_once():
    import torch

    val = torch.arange(101)
    x, y = q.val_windows(val, 10)
    assert x.shape == y.shape == (10, 10)
    assert torch.equal(x.flatten(), torch.arange(100)) and torch.equal(y, x + 1)
    xs, _ = q.val_windows(val, 10, max_windows=3)
    assert [int(r[0]) for r in xs] == [0, 40, 90]  # spread over the split: first and last kept


def test_recipes_are_valid_and_keep_nanogpts_model():
    for r in q.CANDIDATES.values():
        cfg = r.train_config(seed=1)
        assert cfg.max_steps == r.steps and cfg.schedule_steps == r.steps
        assert r.train_config(seed=1, scale=0.1).max_steps == round(r.steps * 0.1)
    assert q.CHOSEN in q.CANDIDATES
    assert q.apply_flags(q.NANOGPT_CPU, q.README_CPU_FLAGS.replace("--device=cpu ", "")
                         .replace("--compile=False ", "")) == q.NANOGPT_CPU


def _check_result(res: dict, labels: list[str]) -> None:
    assert set(res) >= {"nanogpt_source", "timing", "evaluation", "target", "summary", "runs"}
    assert set(res["summary"]) == set(labels)
    run = res["runs"][0]
    assert math.isfinite(run["target_val_loss"])
    assert list(run["sides"]) == ["nanoGPT", *labels]
    nano = run["sides"]["nanoGPT"]
    assert nano["final_val_loss"] == run["target_val_loss"]
    assert nano["seconds_to_target"] is not None and nano["seconds_to_target"] > 0
    assert len(nano["nanogpt_protocol_curve"]) >= 2  # estimate_loss at 0 and every interval
    params = {s["parameters"] for s in run["sides"].values()}
    assert len(params) == 1  # the same model size on both sides
    for label, s in run["sides"].items():
        curve = s["curve"]
        assert curve[0]["step"] == 0 and curve[-1]["step"] == s["steps"] > 0
        assert all(b["seconds"] >= a["seconds"] and b["step"] > a["step"]
                   for a, b in zip(curve, curve[1:], strict=False))
        assert curve[-1]["val_loss"] < curve[0]["val_loss"] - 0.3, label  # it learns
        assert s["train_seconds"] > 0 and s["eval_seconds_excluded"] > 0
        assert s["diverged"] is None
        if label != "nanoGPT":
            r = s["ratio_to_nanogpt"]
            assert r is None or r == pytest.approx(s["seconds_to_target"]
                                                   / nano["seconds_to_target"])


def test_tiny_race_from_the_command_line(tmp_path, capsys):
    assert q.main(["--tiny", "--chunk", "10", "--ours", f"{q.CHOSEN},nanogpt-settings",
                   "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Time to nanoGPT's final validation loss" in out and "time ratio" in out
    res = json.loads((tmp_path / "quality.json").read_text())
    assert res["part"] == "quality" and res["machine"]["versions"]["torch"]
    _check_result(res, [q.CHOSEN, "nanogpt-settings"])
    plot = tmp_path / res["plot"]
    assert plot.is_file()
    if plot.suffix == ".svg":
        root = ET.fromstring(plot.read_text())
        assert root.tag.endswith("svg") and len(root.findall(".//{*}polyline")) == 3


def test_bench_dispatches_quality(tmp_path, capsys):
    from bench.__main__ import main

    assert main(["quality", "--tiny", "--chunk", "20", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "quality.json").is_file()


FAKE_TRAIN_PY = '''
import torch
out_dir = 'out'
eval_interval = 2000
log_interval = 1
eval_iters = 200
dataset = 'openwebtext'
gradient_accumulation_steps = 5 * 8
batch_size = 12
block_size = 1024
n_layer = 12
n_head = 12
n_embd = 768
dropout = 0.0
bias = False
learning_rate = 6e-4
max_iters = 600000
weight_decay = 1e-1
beta1 = 0.9
beta2 = 0.95
grad_clip = 1.0
decay_lr = True
warmup_iters = 2000
lr_decay_iters = 600000
min_lr = 6e-5
device = 'cuda'
dtype = 'bfloat16' if torch.cuda.is_available() else 'float16'
compile = True
config_keys = [k for k,v in globals().items() if not k.startswith('_')]
exec(open('configurator.py').read())
'''


def _fake_checkout(root: Path) -> Path:
    """model.py, train.py's defaults and functions, and the shakespeare_char config."""
    (root / "config").mkdir(parents=True)
    (root / "model.py").write_text((REPO / "bench" / "nanogpt_ref.py").read_text())
    (root / "train.py").write_text(FAKE_TRAIN_PY + q.NANOGPT_FUNCTIONS)
    (root / "config" / "train_shakespeare_char.py").write_text(
        "eval_interval = 250\neval_iters = 200\nlog_interval = 10\n"
        "dataset = 'shakespeare_char'\ngradient_accumulation_steps = 1\nbatch_size = 64\n"
        "block_size = 256\nn_layer = 6\nn_head = 6\nn_embd = 384\ndropout = 0.2\n"
        "learning_rate = 1e-3\nmax_iters = 5000\nlr_decay_iters = 5000\nmin_lr = 1e-4\n"
        "beta2 = 0.99\nwarmup_iters = 100\n")
    return root


def test_a_checkout_is_read_as_train_py_reads_it(tmp_path):
    root = _fake_checkout(tmp_path / "nanoGPT")
    src = q.load_nanogpt(root)
    assert src.recipe == q.NANOGPT_CPU and src.differs_from_builtin == {}
    assert "checkout" in src.description
    assert ast.unparse(ast.parse(src.functions)) == ast.unparse(ast.parse(q.NANOGPT_FUNCTIONS))
    res = q.run([q.CANDIDATES[q.CHOSEN]], nanogpt_dir=root, scale=0.03, chunk=20,
                model=q.TINY_MODEL, max_val_windows=64)
    assert res["nanogpt_source"].startswith("checkout")
    _check_result(res, [q.CHOSEN])
    with pytest.raises(SystemExit, match="not a nanoGPT checkout"):
        q.load_nanogpt(tmp_path)
