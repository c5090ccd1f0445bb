"""The learning-rate schedule and the weight-decay groups, against nanoGPT's own formulas."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN, ConfigError, TrainConfig
from gptviz.tasks import SequenceTask
from gptviz.train import StepEvent, Trainer, build_model, lr_at


def nanogpt_get_lr(it: int, learning_rate: float, warmup_iters: int, lr_decay_iters: int,
                   min_lr: float) -> float:
    """nanoGPT's train.py get_lr, copied as the oracle."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


def test_cosine_schedule_matches_nanogpt_at_every_step():
    cfg = TrainConfig(learning_rate=1e-3, max_steps=2000, schedule="cosine", warmup_steps=100,
                      min_lr=1e-4)
    for it in range(0, 2100, 7):
        assert lr_at(cfg, it) == pytest.approx(nanogpt_get_lr(it, 1e-3, 100, 2000, 1e-4),
                                               rel=1e-12)


def test_constant_schedule_warms_up_then_holds_and_doc000_is_untouched():
    cfg = TrainConfig(learning_rate=2e-3, warmup_steps=3)
    assert [lr_at(cfg, i) for i in range(5)] == pytest.approx([5e-4, 1e-3, 1.5e-3, 2e-3, 2e-3])
    assert all(lr_at(DOC000_TRAIN, i) == DOC000_TRAIN.learning_rate for i in range(60))


def test_each_step_uses_and_reports_the_scheduled_rate():
    cfg = replace(DOC000_TRAIN, schedule="cosine", warmup_steps=5, max_steps=20, min_lr=1e-5)
    trainer = Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3), cfg)
    events: list[StepEvent] = []
    trainer.add_callback(lambda e: events.append(e) if isinstance(e, StepEvent) else None)
    trainer.run(25)
    assert [e.lr for e in events] == pytest.approx(
        [nanogpt_get_lr(i, cfg.learning_rate, 5, 20, 1e-5) for i in range(25)])
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-5)


def test_weight_decay_only_on_matrices_as_nanogpt_groups_them():
    model = build_model(DOC000_MODEL, 1337)
    cfg = replace(DOC000_TRAIN, decay_matrices_only=True, weight_decay=0.5)
    trainer = Trainer(model, SequenceTask(DOC000_SEQUENCE, 2, 3), cfg)
    decayed, plain = trainer.optimizer.param_groups
    assert {id(p) for p in decayed["params"]} == {id(p) for p in model.parameters()
                                                   if p.dim() >= 2}
    assert {id(p) for p in plain["params"]} == {id(p) for p in model.parameters() if p.dim() < 2}
    assert plain["params"] and decayed["weight_decay"] == 0.5 and plain["weight_decay"] == 0.0
    trainer.update(config=replace(cfg, weight_decay=2.0))
    assert (decayed["weight_decay"], plain["weight_decay"]) == (2.0, 0.0)
    # the default, as document 000: one group, every parameter decayed
    doc = Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3),
                  DOC000_TRAIN)
    assert len(doc.optimizer.param_groups) == 1
    assert doc.optimizer.param_groups[0]["weight_decay"] == DOC000_TRAIN.weight_decay


@pytest.mark.parametrize("changes, words", [
    (dict(warmup_steps=100, max_steps=50), "longer than the run"),
    (dict(min_lr=1e-2, learning_rate=1e-3), "floor of the learning rate"),
    (dict(schedule="cosine", warmup_steps=50, decay_steps=50, max_steps=100), "after the warm-up"),
    (dict(warmup_steps=-1), "Warm-up steps"),
    (dict(decay_steps=-5), "Decay steps"),
    (dict(schedule="linear"), "schedule must be one of"),
])
def test_bad_schedules_are_refused_with_a_sentence(changes, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig(**changes).validate()


def test_a_file_saved_before_schedules_existed_still_loads():
    from gptviz.checkpoint import load_bundle, save_bundle

    model = build_model(DOC000_MODEL, 1337)
    data = save_bundle(model, {"kind": "sequence"}, DOC000_TRAIN, 3)
    import io
    import json
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    meta = json.loads(src.read("config.json"))
    for k in ("schedule", "warmup_steps", "decay_steps", "min_lr", "decay_matrices_only"):
        del meta["train"][k]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("config.json", json.dumps(meta))
        z.writestr("model.safetensors", src.read("model.safetensors"))
    b = load_bundle(out.getvalue())
    assert b.train == DOC000_TRAIN and b.step == 3
    assert torch.equal(b.model.transformer.wte.weight, model.transformer.wte.weight)
