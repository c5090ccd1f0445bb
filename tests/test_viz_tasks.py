"""Figures of the sorting and addition tasks hold the numbers they were given."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gptviz.config import GPTConfig
from gptviz.tasks import AdditionTask, SortingTask
from gptviz.train import EvalEvent, build_model
from gptviz.viz.tasks import accuracy_figure, answer_attention_figure


def test_accuracy_figure_plots_percentages_and_skips_evaluations_without_accuracy():
    evals = [EvalEvent(0, 2.3, 2.3, {"accuracy": 0.0}), EvalEvent(10, 1.0, 1.1, {}),
             EvalEvent(20, 0.5, 0.6, {"accuracy": 0.25}), EvalEvent(30, 0.1, 0.1,
                                                                    {"accuracy": 0.995})]
    fig = accuracy_figure(evals, target=0.99)
    assert list(fig.data[0].x) == [0, 20, 30]
    assert list(fig.data[0].y) == pytest.approx([0.0, 25.0, 99.5])
    assert fig.layout.shapes[0].y0 == pytest.approx(99.0)  # the 99% line
    assert len(accuracy_figure([], target=None).data) == 0  # empty before the first evaluation


def example(task, problem, n_layer=2, n_head=2):
    cfg = GPTConfig(vocab_size=task.vocab_size, block_size=task.block_size, n_layer=n_layer,
                    n_head=n_head, n_embd=16)
    return task.attention(build_model(cfg, 0), problem)


def test_answer_attention_rows_are_the_answer_positions_of_each_layer():
    task = AdditionTask(ndigit=2)
    ex = example(task, "37+85")
    fig = answer_attention_figure(ex, head=1)
    assert len(fig.data) == 2  # one panel per layer
    for li, trace in enumerate(fig.data):
        z = np.asarray(trace.z, dtype=float)
        want = ex.attention[li, 1, [3, 4, 5]].numpy()  # rows that write ones, tens, hundreds
        seen = ~np.isnan(z)
        assert np.allclose(z[seen], want[seen], atol=1e-6)
        # the causal mask: row r sees positions 0..answer_rows[r] only
        assert seen.tolist() == [[k <= q for k in range(6)] for q in (3, 4, 5)]
        assert np.allclose(np.nansum(z, axis=1), 1.0, atol=1e-5)
    assert list(fig.data[0].y)[0].startswith("writes ") and "(ones)" in fig.data[0].y[0]
    assert list(fig.data[0].x)[:2] == ["3<sub>0</sub>", "7<sub>1</sub>"]
    texts = [a.text for a in fig.layout.annotations]
    assert "<b>a</b>" in texts and "<b>b</b>" in texts
    assert len(fig.layout.shapes) == 4  # 2 separators (a|b, b|sum) per layer


def test_mean_of_heads_and_bad_heads():
    task = SortingTask(length=4, num_digits=3)
    ex = example(task, "2 1 0 2", n_layer=1, n_head=4)
    z = np.asarray(answer_attention_figure(ex).data[0].z, dtype=float)
    want = ex.attention[0].mean(0)[ex.answer_rows].numpy()
    assert np.allclose(np.nan_to_num(z), np.where(np.isnan(z), 0, want), atol=1e-6)
    assert "(1st)" in answer_attention_figure(ex).data[0].y[0]
    with pytest.raises(ValueError, match="head index 4"):
        answer_attention_figure(ex, head=4)
    bad = type(ex)(ex.tokens[:-1], ex.attention, ex.answer_rows, ex.answer_tokens,
                   ex.answer_names, ex.segments)
    with pytest.raises(ValueError, match="tokens"):
        answer_attention_figure(bad)


def test_figures_escape_labels():
    task = SortingTask(length=3, num_digits=3)
    ex = example(task, "2 1 0", n_layer=1, n_head=1)
    evil = type(ex)(["<b>"] * len(ex.tokens), torch.as_tensor(ex.attention), ex.answer_rows,
                    ex.answer_tokens, ["<i>x</i>"] * 3, [("<script>", 0, 3)])
    fig = answer_attention_figure(evil)
    assert "<b>" not in fig.data[0].x[0] and "&lt;b&gt;" in fig.data[0].x[0]
    assert "&lt;i&gt;" in fig.data[0].y[0]
    assert any("&lt;script&gt;" in a.text for a in fig.layout.annotations)
