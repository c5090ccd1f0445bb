"""The leaderboard's ranking and the room's chart, as pure functions (no database)."""

from __future__ import annotations

from gptviz.rooms import RoomRun, thin
from gptviz.rooms.board import boards
from gptviz.viz.room import room_figure


def run(name: str, page: str = "text_model", task: str = "text:a", *, train: float | None = None,
        val: float | None = None, acc: float | None = None,
        curve_name: str = "validation loss") -> RoomRun:
    return RoomRun(run_id=hash(name) % 1000, name=name, page=page, task_ident=task,
                   task_label=task, settings={}, curve_name=curve_name, curve=[(1, 1.0)],
                   steps=10, train_loss=train, val_loss=val, accuracy=acc, updated_at=0.0)


def names(board) -> list[str]:
    return [s.run.name for s in board.standings]


def test_runs_are_ranked_only_against_runs_of_the_same_page_and_task():
    got = boards([run("a", val=2.0), run("b", task="text:other", val=1.0), run("c", val=1.5),
                  run("d", page="baby_gpt", task="text:a", train=0.3)])
    assert [(b.page, b.standings[0].run.task_ident, len(b.standings)) for b in got] == [
        ("text_model", "text:a", 2), ("text_model", "text:other", 1), ("baby_gpt", "text:a", 1)]
    assert names(got[0]) == ["c", "a"] and [s.rank for s in got[0].standings] == [1, 2]


def test_accuracy_ranks_highest_first_and_ties_go_to_the_lower_loss():
    (b,) = boards([run("lo", page="tasks", acc=0.5, val=0.1), run("tie_hi_loss", page="tasks",
                   acc=0.9, val=0.8), run("tie_lo_loss", page="tasks", acc=0.9, val=0.2),
                   run("none yet", page="tasks", val=0.05)])
    assert b.measure == "held-out accuracy" and b.higher_is_better
    assert names(b) == ["tie_lo_loss", "tie_hi_loss", "lo", "none yet"]
    assert [s.rank for s in b.standings] == [1, 2, 3, None]


def test_without_a_held_out_split_the_training_loss_ranks_under_the_pages_name():
    (b,) = boards([run("x", page="baby_gpt", train=0.5, curve_name="loss on all windows"),
                   run("y", page="baby_gpt", train=0.4, curve_name="loss on all windows")])
    assert (b.measure, b.label, b.higher_is_better) == ("training loss", "loss on all windows",
                                                        False)
    assert names(b) == ["y", "x"]


def test_thinning_keeps_the_ends_and_at_most_the_limit():
    pts = [(i, float(i)) for i in range(1_001)]
    got = thin(pts, 200)
    assert len(got) == 200 and got[0] == (0, 0.0) and got[-1] == (1_000, 1000.0)
    assert [s for s, _ in got] == sorted({s for s, _ in got})
    assert thin(pts[:5], 200) == pts[:5]


def test_the_chart_escapes_names_and_draws_one_line_per_run():
    fig = room_figure([("<b>x</b>", [(0, 2.0), (5, 1.0)]), ("Ana", [(3, 1.5)])],
                      title="Every run", y_title="validation loss", highlight="Ana")
    assert [t.name for t in fig.data] == ["&lt;b&gt;x&lt;/b&gt;", "Ana"]
    assert list(fig.data[0].x) == [0, 5] and fig.data[1].mode == "markers"
    assert fig.data[1].line.width > fig.data[0].line.width
    assert not room_figure([], title="t", y_title="y").data
