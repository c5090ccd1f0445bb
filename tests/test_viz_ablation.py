"""The ablation figures: one bar per head and MLP with PartEffect's numbers; the arrows that
moved, with their probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from gptviz.ablate import PartEffect, part_effects
from gptviz.ablation_report import ArrowChange, arrow_changes, evaluation_batches
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN
from gptviz.tasks import SequenceTask
from gptviz.train import Trainer, build_model
from gptviz.viz.ablation import MAX_BARS, arrow_changes_figure, part_effects_figure
from gptviz.viz.style import MIN_TEXT_SIZE
from tests.apptest_helpers import array


def bars(fig) -> dict[str, float]:
    """Part name -> bar height, over every bar trace."""
    out = {}
    for t in fig.data:
        out.update(zip(t.x, (float(v) for v in t.y), strict=True))
    return out


def effects(n_layer: int, n_head: int) -> list[PartEffect]:
    out = []
    for layer in range(n_layer):
        for head in [*range(n_head), None]:
            rank = 5 if head is None else head
            out.append(PartEffect(layer, head, loss=1.0 + 0.01 * (7 * layer + rank),
                                  base_loss=1.0))
    return out


def test_one_bar_per_head_and_mlp_of_document_000s_model_with_its_increase():
    trainer = Trainer(build_model(DOC000_MODEL, DOC000_TRAIN.seed),
                      SequenceTask(DOC000_SEQUENCE, 2, 3), DOC000_TRAIN)
    trainer.run(50)
    batches = evaluation_batches(trainer.task, trainer.config)["train"]
    got = part_effects(trainer.model.eval(), batches)
    fig = part_effects_figure(got)
    drawn = bars(fig)
    assert len(drawn) == 4 * (4 + 1) == len(got)  # 4 layers of 4 heads, plus 4 MLPs
    for e in got:
        assert drawn[e.name] == pytest.approx(e.increase)
    heads, mlps = fig.data
    assert heads.name == "attention head" and len(heads.x) == 16
    assert mlps.name == "MLP" and list(mlps.x) == ["MLP 1", "MLP 2", "MLP 3", "MLP 4"]
    # layer order on the axis: a layer's heads, then its MLP
    assert list(fig.layout.xaxis.categoryarray[:5]) == ["L1 H1", "L1 H2", "L1 H3", "L1 H4",
                                                       "MLP 1"]
    assert len(fig.layout.shapes) == 3  # a line between each two layers


def test_bars_carry_their_numbers_and_hover_the_losses_and_text_is_large_enough():
    fig = part_effects_figure(effects(2, 2))
    heads = fig.data[0]
    assert list(heads.text) == [f"{(v - 1.0):+.2f}" for v in (1.0, 1.01, 1.07, 1.08)]
    assert [list(c) for c in heads.customdata][1] == [1.01, 1.0]  # loss, whole model's
    assert fig.layout.xaxis.tickfont.size >= MIN_TEXT_SIZE
    assert fig.layout.yaxis.tickfont.size >= MIN_TEXT_SIZE
    assert fig.layout.legend.font.size >= MIN_TEXT_SIZE
    assert part_effects_figure(effects(2, 2), font_scale=1.5).layout.xaxis.tickfont.size == 21


def test_too_many_parts_show_the_largest_first_and_say_so():
    many = effects(8, 16)  # 136 parts
    fig = part_effects_figure(many)
    drawn = bars(fig)
    assert len(drawn) == MAX_BARS
    largest = sorted(many, key=lambda e: -e.increase)[:MAX_BARS]
    assert set(drawn) == {e.name for e in largest}
    assert list(fig.layout.xaxis.categoryarray) == [e.name for e in largest]
    assert "of 136" in fig.layout.title.subtitle.text
    with pytest.raises(ValueError):
        part_effects_figure([])


def test_arrows_figure_shows_the_most_moved_at_the_top_with_both_probabilities():
    states = [(0, 0), (0, 1), (1, 0), (1, 1)]
    before = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    after = np.array([[0.5, 0.5], [0.6, 0.4], [0.25, 0.75], [0.0, 1.0]])
    changes = arrow_changes(states, before, after, 2)
    fig = arrow_changes_figure(changes, top=3)
    _, on, off = fig.data
    assert on.name == "every part on" and off.name == "with the parts off"
    labels = list(fig.layout.yaxis.categoryarray)
    assert labels[-1] == "11 → 10   60% to 0%"  # plotly's top row: the most moved
    assert len(labels) == 3
    assert array(on.x).tolist() == pytest.approx([100 * c.before for c in changes[:3]][::-1])
    assert array(off.x).tolist() == pytest.approx([100 * c.after for c in changes[:3]][::-1])
    assert fig.layout.xaxis.tickfont.size >= MIN_TEXT_SIZE
    one = arrow_changes_figure([ArrowChange((), 1, (1,), 0.3, 0.5)], token_str="ab".__getitem__)
    assert list(one.layout.yaxis.categoryarray) == ["(start) → b   30% to 50%"]
