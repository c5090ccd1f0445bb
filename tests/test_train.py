"""The Trainer: document 000's numbers, the loss floor, events, and divergence handling."""

from __future__ import annotations

import math

import pytest
import torch

from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN, ConfigError, TrainConfig
from gptviz.tasks import SequenceTask
from gptviz.train import EvalEvent, StepEvent, Trainer, TrainingDiverged, build_model


def doc000_trainer(**overrides) -> Trainer:
    cfg = TrainConfig(**{**DOC000_TRAIN.to_dict(), **overrides})
    return Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3), cfg)


def test_step_zero_loss_matches_document_000_notebook():
    # the untrained model's loss over all 12 windows of 111101111011110, scored at the last
    # position only: 0.663539, the number document 000's notebook prints for its first step
    trainer = doc000_trainer()
    assert trainer.step().loss == pytest.approx(0.663539, abs=1e-6)


def test_training_drives_the_loss_to_the_entropy_floor():
    trainer = doc000_trainer(learning_rate=1e-2, eval_interval=50)
    floor = trainer.task.entropy_floor()
    start = trainer.evaluate().train_loss
    trainer.run(300)
    end = trainer.evaluate().train_loss
    assert start > floor + 0.2
    assert end == pytest.approx(floor, abs=0.01)
    # and it has learned the data's own frequencies: after 111 a 0 half the time
    p = trainer.model.next_token_probs(torch.tensor([[1, 1, 1], [1, 1, 0]]))
    assert p[0, 0].item() == pytest.approx(0.5, abs=0.05)
    assert p[1, 1].item() > 0.95


def test_events_report_every_step_and_each_evaluation():
    trainer = doc000_trainer(eval_interval=5)
    events = []
    trainer.add_callback(events.append)
    assert trainer.run(10) == 10
    steps = [e for e in events if isinstance(e, StepEvent)]
    evals = [e for e in events if isinstance(e, EvalEvent)]
    assert [e.step for e in steps] == list(range(1, 11))
    assert [e.step for e in evals] == [5, 10]
    assert all(e.tokens == 12 * 3 for e in steps)
    assert evals[-1].val_loss is None  # the sequence task has no validation split


def test_run_stops_when_asked():
    trainer = doc000_trainer()
    assert trainer.run(100, should_stop=lambda: trainer.step_count >= 7) == 7


def test_diverging_loss_restores_the_last_good_state():
    trainer = doc000_trainer(learning_rate=100.0, weight_decay=10.0)
    seen = {0: {k: v.clone() for k, v in trainer.model.state_dict().items()}}
    with pytest.raises(TrainingDiverged, match="learning rate") as info:
        for _ in range(500):
            trainer.step()
            seen[trainer.step_count] = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    restored = trainer.step_count
    assert f"at step {restored}" in str(info.value)
    assert restored < max(seen)  # it went back past the broken steps
    for k, v in trainer.model.state_dict().items():
        assert torch.isfinite(v).all(), k
        assert torch.equal(v, seen[restored][k]), k
    trainer.set_learning_rate(1e-3)
    assert math.isfinite(trainer.step().loss)  # and training can go on from there


def test_cuda_without_a_gpu_is_a_clear_config_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        doc000_trainer(device="cuda")


def test_same_seed_same_run():
    a, b = doc000_trainer(batch_size=4), doc000_trainer(batch_size=4)
    la = [a.step().loss for _ in range(5)]
    lb = [b.step().loss for _ in range(5)]
    assert la == lb
    assert not math.isclose(la[0], la[-1])


def adamw_oracle_step(model, task, config):
    """One plain torch.optim.AdamW step of a copy of `model` on the same batch."""
    import copy

    ref = copy.deepcopy(model)
    opt = torch.optim.AdamW(ref.parameters(), lr=config.learning_rate,
                            weight_decay=config.weight_decay)
    x, y = task.get_batch("train", config.batch_size, torch.Generator().manual_seed(0))
    ref(x, y).loss.backward()
    opt.step()
    return ref


def test_update_reaches_the_optimizer_weight_decay_and_learning_rate():
    from dataclasses import replace

    from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN
    from gptviz.tasks import SequenceTask

    task = SequenceTask(DOC000_SEQUENCE, 2, 3)
    trainer = Trainer(build_model(DOC000_MODEL, 1337), task, DOC000_TRAIN)
    new = replace(DOC000_TRAIN, weight_decay=5.0, learning_rate=3e-2)
    trainer.update(config=new)
    assert {g["weight_decay"] for g in trainer.optimizer.param_groups} == {5.0}
    expected = adamw_oracle_step(trainer.model, task, new)
    trainer.step()
    for p, q in zip(trainer.model.parameters(), expected.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)


def test_train_loss_covers_every_window_so_the_floor_bounds_it():
    """With a batch smaller than the number of windows, the evaluated training loss is the
    full-data loss (checked against one forward over all windows), which never goes below the
    entropy floor, while single batches can."""
    from gptviz.config import DOC000_MODEL, TrainConfig
    from gptviz.tasks import SequenceTask

    task = SequenceTask("1111011110111100110", 2, 3)
    cfg = TrainConfig(learning_rate=1e-2, weight_decay=0.0, batch_size=4, eval_interval=1,
                      eval_batches=1, max_steps=300)
    trainer = Trainer(build_model(DOC000_MODEL, 1337), task, cfg)
    evals = []
    trainer.add_callback(lambda e: evals.append(e) if hasattr(e, "train_loss") else None)
    trainer.run(300)
    x, y = task.examples["train"]
    with torch.no_grad():
        full = trainer.model(x, y).loss.item()
    assert abs(evals[-1].train_loss - full) < 1e-5
    floor = task.entropy_floor()
    assert min(e.train_loss for e in evals) >= floor - 1e-4


_LAZY = """
import sys
import torch
from gptviz.analysis import model_transition_probs, all_states
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN
from gptviz.tasks import SequenceTask
from gptviz.train import Trainer, build_model
trainer = Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3),
                  DOC000_TRAIN)
model_transition_probs(trainer.model, all_states(2, 3, False))
trainer.evaluate()
print("BEFORE", "torch._dynamo" in sys.modules)
print("LOSS", trainer.step().loss)
print("AFTER", "torch._dynamo" in sys.modules)
"""


def test_a_trainer_builds_its_optimizer_at_the_first_step_not_before():
    """A page shows a new model (its chain, its loss) before anyone trains it: until the first
    step no AdamW is built, so PyTorch's torch._dynamo, which the first optimizer of a process
    imports (0.8 s here), stays out of the page's first visit. Fresh interpreter: this one has
    long built optimizers. The first step still gives document 000's first loss."""
    import subprocess
    import sys
    from pathlib import Path

    out = subprocess.run([sys.executable, "-c", _LAZY], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert "BEFORE False" in out.stdout and "AFTER True" in out.stdout, out.stdout
    loss = float(out.stdout.split("LOSS")[1].split()[0])
    assert loss == pytest.approx(0.663539, abs=1e-6)
