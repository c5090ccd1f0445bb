"""gptviz/gpt1/report.py: the verdict follows the accuracies, progress counts the planned steps."""

from __future__ import annotations

import pytest

from gptviz.gpt1.comparison import RunCurve
from gptviz.gpt1.report import NOISE, progress, run_rows, verdict


def finished(init: str, n: int, acc: float) -> RunCurve:
    return RunCurve(init, n, steps=[0, 10], val_accuracy=[0.5, acc], train_accuracy=[0.5, 0.9],
                    finished=True, seconds=1.23)


@pytest.mark.parametrize("pre, scratch, words", [
    (0.80, 0.60, "helped: **+20 points**"),
    (0.55, 0.75, "**hurt**: -20 points"),
    (0.61, 0.60, "**no clear difference** (+1 points"),
])
def test_verdict_says_what_the_gap_is(pre, scratch, words):
    (line,) = verdict([finished("pretrained", 64, pre), finished("scratch", 64, scratch)])
    assert line.startswith(f"With 64 labelled examples: {pre:.0%} from the pre-trained GPT, "
                           f"{scratch:.0%} from scratch")
    assert words in line


def test_verdict_needs_both_starting_points_finished():
    unfinished = RunCurve("scratch", 64, steps=[0, 5], val_accuracy=[0.5, 0.6])
    assert verdict([finished("pretrained", 64, 0.8), unfinished]) == []
    assert verdict([finished("pretrained", 64, 0.8)]) == []
    lines = verdict([finished(i, n, 0.7) for n in (128, 32) for i in ("scratch", "pretrained")])
    assert [line.split(":")[0] for line in lines] == ["With 32 labelled examples",
                                                      "With 128 labelled examples"]
    assert f"±{100 * NOISE:.0f} points" in lines[0]


def test_progress_counts_finished_runs_and_the_current_step():
    assert progress("queued", [], 2, 10) == (0.0, "Waiting for a free training slot "
                                                  "(other users are training)…")
    # before the first run reports, the job knows no plan yet: never "run 0 of 0"
    assert progress("running", [], 0, 10) == (0.0, "Starting fine-tuning…")
    half = RunCurve("scratch", 16, steps=[0, 5])
    frac, text = progress("running", [finished("pretrained", 16, 0.7), half], 2, 10)
    assert frac == pytest.approx(0.75)  # one run of two, and half of the second
    assert text == "Fine-tuning run 2 of 2 (scratch, 16 examples, step 5)"
    runs = [finished("pretrained", 16, 0.7), finished("scratch", 16, 0.6)]
    assert progress("done", runs, 2, 10) == (1.0, "Finished 2 runs.")
    assert progress("stopped", [half], 2, 10)[1] == "Stopped after 0 finished runs."


def test_run_rows_show_the_latest_numbers():
    (row,) = run_rows([finished("scratch", 32, 0.625)])
    assert row == {"start from": "scratch", "labelled examples": 32,
                   "validation accuracy": "62.5%", "training accuracy": "90.0%", "steps": 10,
                   "seconds": 1.2, "finished": True}
    assert run_rows([RunCurve("pretrained", 16)])[0]["validation accuracy"] == ""
