"""Compare runs, the library: records of runs, the bounded RunBook, names, comparability."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from gptviz.config import DOC000_MODEL, DOC000_TRAIN, GPTConfig, TrainConfig
from gptviz.live import LiveRun, Snapshot
from gptviz.live.runs import (
    LIVE_ID,
    LIVE_NAME,
    MARKDOWN_SPECIALS,
    MAX_CURVE_POINTS,
    MAX_NAME_CHARS,
    MAX_RUNS,
    Curve,
    RunBook,
    clean_name,
    differing_settings,
    escape_markdown,
    format_lr,
    group_runs,
    incomparable_message,
    record_run,
    run_settings,
    shared_settings,
    task_key,
)
from gptviz.tasks import AdditionTask, SequenceTask, SortingTask, make_text_task
from gptviz.train import EvalEvent, Trainer, build_model
from gptviz.viz.style import RUN_COLORS

SEQ_TASK = SequenceTask("111101111011110", 2, 3)
KEY = task_key(SEQ_TASK)


def snapshot(n_steps: int = 10, evals: list[EvalEvent] | None = None,
             lrs: list[float] | None = None) -> Snapshot:
    steps = list(range(1, n_steps + 1))
    losses = [1.0 / s for s in steps]
    return Snapshot(step=n_steps, target=n_steps, status="done", steps=steps, losses=losses,
                    evals=evals or [], message=None, steps_per_second=0.0,
                    lrs=lrs if lrs is not None else [1e-3] * n_steps)


def record(name: str = "run", task=KEY, lr: float = 1e-3, n_layer: int = 4, **kw):
    return record_run(name, snapshot(**kw), replace(DOC000_MODEL, n_layer=n_layer),
                      TrainConfig(learning_rate=lr), task)


# --- records ------------------------------------------------------------------------------
def test_curve_thins_evenly_to_the_limit_keeping_first_and_last():
    steps = np.arange(1, 2001)
    values = np.sin(steps / 50.0)
    c = Curve.of(steps, values)
    assert len(c) == MAX_CURVE_POINTS
    assert c.steps[0] == 1 and c.steps[-1] == 2000
    # every kept value is the original value of its step (nothing averaged or shifted)
    np.testing.assert_array_equal(c.values, np.sin(c.steps / 50.0))
    gaps = np.diff(c.steps)
    assert gaps.min() >= 3 and gaps.max() <= 5  # 1999 / 499 ≈ 4: evenly spaced
    short = Curve.of([1, 2, 3], [3.0, 2.0, 1.0])
    assert list(short.steps) == [1, 2, 3] and short.last == 1.0
    with pytest.raises(ValueError, match="one value per step"):
        Curve.of([1, 2], [1.0])


def test_record_of_a_snapshot_has_its_curves_and_final_numbers():
    evals = [EvalEvent(5, 0.9, 1.1, {"accuracy": 0.25}), EvalEvent(10, 0.4, 0.7,
                                                                   {"accuracy": 0.75})]
    r = record("a", evals=evals)
    assert r.steps == 10
    assert list(r.batch.steps) == list(range(1, 11))
    assert r.batch.values[-1] == pytest.approx(0.1)
    assert list(r.train.steps) == [5, 10] and list(r.train.values) == [0.9, 0.4]
    assert list(r.val.values) == [1.1, 0.7]
    assert r.final_train == 0.4 and r.final_val == 0.7 and r.final_accuracy == 0.75
    assert r.losses_from == "evaluation at step 10"
    assert r.loss_curve is r.train
    # no evaluation yet: the drawn training loss is the batch loss, and the table says so
    r0 = record("b")
    assert r0.loss_curve is r0.batch and r0.final_train == pytest.approx(0.1)
    assert r0.final_val is None and r0.final_accuracy is None
    assert r0.losses_from == "last batch (step 10), no evaluation yet"


def test_record_of_a_real_live_run_matches_its_snapshot():
    torch.manual_seed(0)
    run = LiveRun(Trainer(build_model(DOC000_MODEL, 1337), SEQ_TASK,
                          replace(DOC000_TRAIN, eval_interval=1)))
    for _ in range(3):
        run.step_once()
    snap = run.snapshot()
    r = record_run("x", snap, run.trainer.model.config, run.trainer.config, KEY)
    assert r.steps == 3 and r.final_train == snap.evals[-1].train_loss
    assert list(r.batch.values) == snap.losses
    assert r.settings["layers"] == "4" and r.settings["lr"] == "1e-3"
    assert r.settings["task"] == KEY.label


def test_settings_name_what_tells_runs_apart():
    s = run_settings(GPTConfig(block_size=8, n_layer=2, n_head=4, n_embd=32),
                     TrainConfig(learning_rate=3e-3, weight_decay=0.0, batch_size=64, seed=7,
                                 schedule="cosine", warmup_steps=50, min_lr=3e-4,
                                 max_steps=1500), "addition")
    assert s == {"task": "addition", "layers": "2", "heads": "4", "embd": "32",
                 "context": "8", "lr": "3e-3", "batch": "64", "weight decay": "0",
                 "schedule": "cosine, warm-up 50, to 3e-4 at step 1,500", "seed": "7",
                 "bias": "no", "dropout": "0"}
    # a learning rate changed while a constant schedule ran: first → newest
    changed = run_settings(GPTConfig(), TrainConfig(learning_rate=1e-2), "t", [1e-3, 1e-3, 1e-2])
    assert changed["lr"] == "1e-3 → 1e-2"
    assert [format_lr(x) for x in (1e-3, 2.5e-4, 0.01, 0.1, 1.0)] == \
        ["1e-3", "2.5e-4", "1e-2", "1e-1", "1e0"]


# --- the book -------------------------------------------------------------------------------
def test_book_keeps_at_most_the_limit_dropping_the_oldest_with_a_note():
    book = RunBook()
    notes = []
    for i in range(MAX_RUNS + 2):
        notes.append(book.add(record(book.next_name(), n_steps=i + 1)))
    assert len(book) == MAX_RUNS
    assert [r.name for r in book.records] == [f"run {i}" for i in range(3, MAX_RUNS + 3)]
    assert notes[MAX_RUNS][-1] == f"At most {MAX_RUNS} runs are kept: the oldest, 'run 1', " \
                                  "was dropped."
    assert notes[MAX_RUNS + 1][-1].endswith("'run 2', was dropped.")
    assert notes[0] == ["Kept 'run 1' (1 steps)."]
    ids = [r.run_id for r in book.records]
    assert ids == sorted(ids) and len(set(ids)) == MAX_RUNS and LIVE_ID not in ids
    colours = [r.colour for r in book.records]
    assert len(set(colours)) == MAX_RUNS and set(colours) <= set(RUN_COLORS)


def test_a_full_book_stays_small():
    book = RunBook()
    evals = [EvalEvent(s, 1.0, 1.0, {"accuracy": 0.5}) for s in range(1, 2001)]
    for _ in range(MAX_RUNS + 3):
        book.add(record(book.next_name(), n_steps=2000, evals=evals))
    per_curve = MAX_CURVE_POINTS * (8 + 8)  # int64 steps + float64 values
    assert all(len(c) == MAX_CURVE_POINTS for r in book.records
               for c in (r.batch, r.train, r.val, r.accuracy))
    assert sum(r.nbytes for r in book.records) == MAX_RUNS * 4 * per_curve  # 256,000 bytes


def test_names_are_unique_plain_text_and_never_empty():
    book = RunBook()
    book.add(record("lr 1e-3"))
    book.add(record("LR 1E-3"))  # the same name ignoring case
    book.add(record(LIVE_NAME))  # the live run's name is taken
    assert [r.name for r in book.records] == ["lr 1e-3", "LR 1E-3 (2)", "this run (2)"]
    first = book.records[0].run_id
    markup = "**bold** <b>x</b> :red[y] [a](javascript:alert(1))"
    assert book.rename(first, markup) == markup[:MAX_NAME_CHARS].strip()  # kept as typed
    assert book.rename(first, "two\nlines\t here\x00") == "two lines here"
    assert book.rename(first, "x" * 100) == "x" * MAX_NAME_CHARS
    assert book.rename(first, "fresh") == "fresh"
    assert book.rename(book.records[1].run_id, "Fresh") == "Fresh (2)"
    assert book.rename(first, "fresh") == "fresh"  # its own name is not taken
    with pytest.raises(ValueError, match="needs a name"):
        book.rename(first, " \n\t ")
    assert book.get(first).name == "fresh"  # the old name stays
    with pytest.raises(ValueError, match="Keep this run"):
        book.rename(LIVE_ID, "mine")
    with pytest.raises(ValueError, match="needs a name"):
        clean_name("\u200b\u2028")  # only invisible separators


def test_hide_show_and_delete():
    book = RunBook()
    for i in range(3):
        book.add(record(f"r{i}"))
    a, b, c = (r.run_id for r in book.records)
    v = book.version
    book.set_hidden(b, True)
    assert [r.hidden for r in book.records] == [False, True, False] and book.version == v + 1
    book.set_hidden(b, True)  # no change, no new version
    assert book.version == v + 1
    book.set_hidden(LIVE_ID, True)
    assert book.live_hidden
    gone = book.delete(a)
    assert gone.name == "r0" and [r.run_id for r in book.records] == [b, c]
    with pytest.raises(ValueError, match="no longer kept"):
        book.delete(a)
    with pytest.raises(ValueError, match="Keep this run"):
        book.delete(LIVE_ID)
    # a freed colour is given to the next run
    book.add(record("r3"))
    assert book.records[-1].colour == RUN_COLORS[0]


def test_table_edits_show_hide_and_rename_by_row():
    book = RunBook()
    book.add(record("a"))
    book.add(record("b"))
    ids = [LIVE_ID, *(r.run_id for r in book.records)]  # the table's rows: this run first
    notes = book.apply_edits(ids, {"0": {"Show": False}, 1: {"Name": "  lr\n1e-2 "},
                                   2: {"Show": False, "Name": "lr 1e-2"}, 0: {"Name": "x"},
                                   7: {"Name": "off the table"}})
    assert book.live_hidden
    assert [r.name for r in book.records] == ["lr 1e-2", "lr 1e-2 (2)"]
    assert [r.hidden for r in book.records] == [False, True]
    assert any("Keep this run" in n for n in notes)  # the live row cannot be renamed
    assert any("Named 'lr 1e-2 (2)'" in n for n in notes)


def test_has_finds_a_run_kept_at_the_same_step():
    book = RunBook()
    book.add(record_run("r", snapshot(4), DOC000_MODEL, DOC000_TRAIN, KEY, source=99))
    assert book.has(99, 4) and not book.has(99, 5) and not book.has(98, 4)


# --- comparing ------------------------------------------------------------------------------
def test_task_keys_tell_incomparable_tasks_apart():
    seq = "111101111011110"
    same = task_key(SequenceTask(seq, 2, 3))
    assert same == KEY and same.floor == pytest.approx(SEQ_TASK.entropy_floor())
    assert task_key(SequenceTask(seq, 2, 4)) != KEY  # another state space
    assert task_key(SequenceTask(seq, 3, 3)) != KEY  # another vocabulary
    assert task_key(SequenceTask("1101101101", 2, 3)) != KEY  # other data
    assert task_key(SequenceTask(seq, 2, 3, last_only=False)) != KEY  # other positions scored
    assert task_key(AdditionTask(2)) == task_key(AdditionTask(2))
    assert task_key(AdditionTask(2)) != task_key(AdditionTask(3))
    assert task_key(AdditionTask(2)) != task_key(SortingTask())
    assert task_key(AdditionTask(2)).label == "addition, 2 digits"
    a, b = make_text_task("hello world, " * 40, 8), make_text_task("hello world, " * 40, 16)
    assert task_key(a) == task_key(b)  # another context on the same text: comparable
    other = make_text_task("goodbye moon; " * 40, 8)
    assert task_key(other) != task_key(a)
    assert task_key(a, "my notes.txt").label == "my notes.txt"


def test_runs_of_different_tasks_form_separate_groups_with_a_reason():
    add2 = task_key(AdditionTask(2))
    sort = task_key(SortingTask())
    r1, r2, r3 = record("a", task=add2), record("b", task=sort), record("c", task=add2)
    groups = group_runs([r1, r2, r3])
    assert [[r.name for r in g] for g in groups] == [["a", "c"], ["b"]]
    msg = incomparable_message(groups)
    assert "2 different tasks" in msg and add2.label in msg and sort.label in msg
    assert "not comparable" in msg


def test_differing_and_shared_settings():
    a, b, c = record("a", lr=1e-3), record("b", lr=1e-2, n_layer=1), record("c", lr=1e-3)
    assert differing_settings([a, b, c]) == ["layers", "lr"]
    assert differing_settings([a, c]) == []
    shared = shared_settings([a, b])
    assert "lr" not in shared and "layers" not in shared and shared["heads"] == "4"


def test_markdown_escape_leaves_no_markup():
    text = "**b** _i_ `c` [l](u) <i>h</i> :red[x] $m$ # h ~s~ | 1. a\\"
    out = escape_markdown(text)
    # each special character is preceded by a backslash, the rest unchanged
    i = 0
    for ch in text:
        if ch in MARKDOWN_SPECIALS:
            assert out[i:i + 2] == "\\" + ch
            i += 2
        else:
            assert out[i] == ch
            i += 1
    assert i == len(out)
    assert escape_markdown("run 2") == "run 2"
