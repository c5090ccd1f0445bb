"""Compare runs, the figure: one trace pair per visible run, holding the records' own numbers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gptviz.config import GPTConfig, TrainConfig
from gptviz.live import Snapshot
from gptviz.live.runs import RunBook, record_run, task_key
from gptviz.tasks import AdditionTask, SequenceTask, SortingTask
from gptviz.train import EvalEvent
from gptviz.viz.runs import runs_figure
from gptviz.viz.style import FLOOR_COLOR, LIVE_RUN_COLOR, MIN_TEXT_SIZE

ADD = task_key(AdditionTask(2))


def snap(n: int, scale: float, acc: float | None = None, val: bool = True) -> Snapshot:
    steps = list(range(1, n + 1))
    evals = [EvalEvent(s, scale / s, (scale + 0.5) / s if val else None,
                       {"accuracy": acc * s / n} if acc is not None else {})
             for s in range(5, n + 1, 5)]
    return Snapshot(step=n, target=n, status="done", steps=steps,
                    losses=[scale * 2 / s for s in steps], evals=evals, message=None,
                    steps_per_second=0.0, lrs=[1e-3] * n)


def rec(name: str, s: Snapshot, lr: float = 1e-3, task=ADD, layers: int = 2):
    s = replace(s, lrs=[lr] * len(s.steps))  # trained at lr throughout
    return record_run(name, s, GPTConfig(n_layer=layers), TrainConfig(learning_rate=lr), task)


def book_of(*records) -> RunBook:
    book = RunBook()
    for r in records:
        book.add(r)
    return book


def test_one_solid_and_one_dotted_trace_per_visible_run_with_the_records_numbers():
    book = book_of(rec("slow", snap(40, 1.0), lr=1e-3), rec("fast", snap(60, 0.5), lr=1e-2))
    live = rec("this run", snap(20, 2.0), lr=3e-3)
    records = [live, *book.records]
    fig = runs_figure(records)
    assert len(fig.data) == 2 * len(records)
    for r in records:
        solid, dotted = [t for t in fig.data if t.legendgroup == f"run{r.run_id}"]
        assert solid.line.dash is None and dotted.line.dash == "dot"
        assert solid.line.color == dotted.line.color == r.colour
        np.testing.assert_array_equal(solid.x, r.train.steps)
        np.testing.assert_array_equal(solid.y, r.train.values)
        np.testing.assert_array_equal(dotted.x, r.val.steps)
        np.testing.assert_array_equal(dotted.y, r.val.values)
        assert solid.y[-1] == r.final_train and dotted.y[-1] == r.final_val
        assert solid.showlegend is not False and dotted.showlegend is False  # one entry a run
    assert len({t.line.color for t in fig.data}) == 3  # a colour per run
    assert live.colour == LIVE_RUN_COLOR
    # the legend names each run and the setting that tells them apart
    assert [t.name for t in fig.data if t.showlegend is not False] == \
        ["this run (lr 3e-3)", "slow (lr 1e-3)", "fast (lr 1e-2)"]
    assert fig.layout.title.text == "Loss by run"
    assert fig.layout.title.subtitle.text == "solid: training loss, dotted: validation loss"


def test_hidden_runs_are_not_drawn():
    book = book_of(rec("a", snap(10, 1.0)), rec("b", snap(10, 2.0)), rec("c", snap(10, 3.0)))
    book.set_hidden(book.records[1].run_id, True)
    fig = runs_figure(book.records)
    assert {t.legendgroup for t in fig.data} == {f"run{book.records[i].run_id}" for i in (0, 2)}
    assert all(not t.name.startswith("b") for t in fig.data)
    # nothing visible: an empty chart that says how to draw one
    for r in book.records:
        book.set_hidden(r.run_id, True)
    empty = runs_figure(book.records)
    assert len(empty.data) == 0 and "tick Show" in empty.layout.annotations[0].text


def test_runs_of_different_tasks_are_refused_unless_the_others_are_hidden():
    sort = task_key(SortingTask())
    book = book_of(rec("add", snap(10, 1.0)), rec("sort", snap(10, 1.0), task=sort))
    with pytest.raises(ValueError, match="not comparable"):
        runs_figure(book.records)
    seq_a = task_key(SequenceTask("111101111011110", 2, 3))
    seq_b = task_key(SequenceTask("111101111011110", 2, 4))  # another state space
    with pytest.raises(ValueError, match="2 different tasks"):
        runs_figure([rec("T3", snap(10, 1.0), task=seq_a), rec("T4", snap(10, 1.0), task=seq_b)])
    book.set_hidden(book.records[1].run_id, True)
    assert len(runs_figure(book.records).data) == 2  # only the addition run is drawn


def test_run_names_are_text_in_the_legend_not_html():
    book = book_of(rec("<b>bold</b> & <a href='x'>link</a>", snap(10, 1.0)))
    fig = runs_figure(book.records)
    assert fig.data[0].name == "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href=&#x27;x&#x27;&gt;link" \
                               "&lt;/a&gt;"


def test_a_run_without_evaluations_draws_its_batch_losses_and_says_so():
    s = Snapshot(step=8, target=8, status="done", steps=list(range(1, 9)),
                 losses=[0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2], evals=[], message=None,
                 steps_per_second=0.0)
    fig = runs_figure(book_of(rec("early", s)).records)
    assert len(fig.data) == 1 and fig.data[0].name == "early, batch loss"
    assert list(fig.data[0].y) == [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    assert fig.data[0].mode == "lines+markers"  # few points: each visible


def test_accuracy_chart_is_the_held_out_accuracy_in_percent():
    book = book_of(rec("a", snap(20, 1.0, acc=0.8)), rec("b", snap(20, 1.0, acc=0.4)))
    fig = runs_figure(book.records, metric="accuracy")
    assert len(fig.data) == 2
    for t, r in zip(fig.data, book.records, strict=True):
        np.testing.assert_array_equal(t.x, r.accuracy.steps)
        np.testing.assert_allclose(t.y, 100 * r.accuracy.values)
    assert fig.data[0].y[-1] == pytest.approx(80.0) and fig.data[1].y[-1] == pytest.approx(40.0)
    assert fig.layout.yaxis.title.text == "held-out accuracy (%)"


def test_floor_log_scale_and_readable_text():
    seq = task_key(SequenceTask("111101111011110", 2, 3))
    fig = runs_figure([rec("a", snap(10, 1.0, val=False), task=seq)],
                      train_name="loss on all windows")
    assert len(fig.data) == 1  # no validation split: no dotted line
    assert fig.layout.title.subtitle.text == "solid: loss on all windows"
    floor = fig.layout.shapes[0]
    assert floor.y0 == pytest.approx(seq.floor) and floor.line.color == FLOOR_COLOR
    assert fig.layout.yaxis.type is None
    assert runs_figure([rec("a", snap(10, 1.0), task=seq)], log_y=True).layout.yaxis.type == "log"
    sizes = [fig.layout.font.size, fig.layout.legend.font.size, fig.layout.title.font.size,
             fig.layout.title.subtitle.font.size,
             fig.layout.hoverlabel.font.size, *(a.font.size for a in fig.layout.annotations)]
    assert min(sizes) >= MIN_TEXT_SIZE


def test_the_unvalidated_figure_is_what_plotly_validation_makes_of_it():
    from tests.test_viz_fast import assert_valid

    seq = task_key(SequenceTask("111101111011110", 2, 3))
    book = book_of(rec("a", snap(60, 1.0, acc=0.5), task=seq), rec("b", snap(8, 2.0), task=seq))
    for fig in (runs_figure(book.records), runs_figure(book.records, metric="accuracy"),
                runs_figure(book.records, log_y=True), runs_figure([])):
        assert_valid(fig)
    changed = runs_figure(book.records)
    changed.update_layout(title_text="changed by a caller")  # must not leak into the cache
    assert runs_figure(book.records).layout.title.text == "Loss by run"
