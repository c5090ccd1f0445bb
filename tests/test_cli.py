"""The command line, run in-process: progress lines parse, the loss falls, bad input is refused."""

from __future__ import annotations

import io
import json
import math
import re

import pytest

from gptviz.cli import main

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--batch-size", "32",
        "--eval-interval", "10", "--seed", "0"]
LINE = re.compile(r"step +(\d+) \| loss ([\d.]+) \| val loss ([\d.]+) \| accuracy +([\d.]+)%"
                  r"(?: \| ([\d.]+) ms/step)?")


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_train_prints_parsable_progress_and_the_loss_falls():
    status, out = run_cli("train", "--task", "sorting", "--steps", "40", *TINY)
    assert status == 0
    rows = [LINE.fullmatch(line) for line in out.splitlines() if line.startswith("step")]
    assert all(rows) and [int(r[1]) for r in rows] == [0, 10, 20, 30, 40]
    losses = [float(r[2]) for r in rows]
    assert losses[-1] < 0.8 * losses[0]  # ln(3) = 1.10 at the start: the answer is learnt
    assert rows[0][5] is None and all(float(r[5]) > 0 for r in rows[1:])  # ms/step after steps
    assert all(0.0 <= float(r[4]) <= 100.0 for r in rows)
    assert re.search(r"done: 40 steps in [\d.]+ s .*held-out accuracy [\d.]+%", out)
    assert re.search(r"^  \d \d \d \d \d \d -> [\d ]+ \(expected [\d ]+: (right|wrong)", out,
                     flags=re.M)


def test_json_lines_for_benchmarks_and_stopping_at_a_target():
    status, out = run_cli("train", "--task", "sorting", "--steps", "400", "--json",
                          "--target-accuracy", "0.5", *TINY)
    assert status == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["event"] == "start" and records[0]["model"]["n_embd"] == 16
    evals = [r for r in records if r["event"] == "eval"]
    done = records[-1]
    assert done["event"] == "done" and done["reached_target"] is True
    assert done["accuracy"] >= 0.5 and done["steps"] < 400  # stopped early, at an evaluation
    assert done["steps"] == evals[-1]["step"] and done["steps"] % 10 == 0
    assert all(e["accuracy"] < 0.5 for e in evals[:-1])  # ... at the first one to reach it
    assert evals[-1]["loss"] < evals[0]["loss"] and done["seconds"] >= done["train_seconds"] > 0


def test_presets_are_listed_and_other_tasks_train():
    status, out = run_cli("presets")
    assert status == 0 and "2-digit" in out and "minGPT" in out and "doc000" in out
    status, out = run_cli("train", "--task", "sequence", "--steps", "20", "--eval-interval",
                          "10", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and records[1]["loss"] == pytest.approx(0.663539, abs=1e-5)  # doc 000
    assert records[-1]["loss"] < records[1]["loss"]


@pytest.mark.parametrize("argv, message", [
    (["--task", "addition", "--n-embd", "30", "--n-head", "4"], "not divisible by 4 heads"),
    (["--task", "sorting", "--ndigit", "3"], "--ndigit applies to the addition task"),
    (["--task", "addition", "--preset", "nope"], "no preset 'nope'; it has 2-digit"),
    (["--task", "addition", "--ndigit", "12"], "1 to 6 digits"),
    (["--task", "addition", "--lr", "-1"], "Learning rate"),
    (["--task", "sequence", "--target-accuracy", "0.9"], "no held-out accuracy"),
    (["--task", "addition", "--target-accuracy", "2"], "at most 1"),
    (["--task", "sorting", "--steps", "30", "--warmup-steps", "50"], "longer than the run"),
    (["--task", "sorting", "--schedule", "cosine", "--min-lr", "5"], "floor of the learning"),
    (["--task", "sorting", "--decay-steps", "-3"], "Decay steps"),
])
def test_bad_configuration_exits_non_zero_with_a_message(argv, message, capsys):
    status, out = run_cli("train", *argv)
    err = capsys.readouterr().err
    assert status == 2 and out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_unknown_task_is_refused_by_argparse(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--task", "poetry"])
    assert e.value.code == 2 and "invalid choice: 'poetry'" in capsys.readouterr().err


def test_schedule_options_reach_the_trainer():
    status, out = run_cli("train", "--task", "sorting", "--steps", "20", "--schedule", "cosine",
                          "--warmup-steps", "4", "--min-lr", "1e-5", "--eval-interval", "10",
                          "--lr", "1e-3", "--decay-matrices-only", "--json")
    assert status == 0
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    evals = [r for r in records if r["event"] == "eval"]
    assert [r["step"] for r in evals] == [0, 10, 20]
    # the 10th step (index 9): cosine from step 4 to 20, nanoGPT's formula by hand
    expected = 1e-5 + 0.5 * (1 + math.cos(math.pi * (9 - 4) / (20 - 4))) * (1e-3 - 1e-5)
    assert evals[1]["lr"] == pytest.approx(expected)
    assert evals[2]["lr"] == pytest.approx(1e-5 + 0.5 * (1 + math.cos(math.pi * 15 / 16))
                                           * (1e-3 - 1e-5))


def test_induction_json_lines_carry_the_halves_and_the_best_induction_score():
    status, out = run_cli("train", "--task", "induction", "--seq-len", "8", "--vocab-size", "8",
                          "--n-layer", "2", "--n-head", "2", "--n-embd", "16", "--steps", "60",
                          "--lr", "1e-2",
                          "--eval-interval", "30", "--batch-size", "32", "--seed", "0", "--json")
    assert status == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["model"]["block_size"] == 7 and records[0]["model"]["vocab_size"] == 8
    evals = [r for r in records if r["event"] == "eval"]
    assert [e["step"] for e in evals] == [0, 30, 60]
    for e in evals:
        assert {"val_loss", "first_half_loss", "repeat_loss", "induction_score"} <= e.keys()
        heads = [e[f"induction_L{layer}H{h}"] for layer in (1, 2) for h in (1, 2)]
        assert e["induction_score"] == max(heads)  # the best head's
        assert 0.0 <= e["induction_score"] <= 1.0
        # 3 first-half and 4 repeated targets of 7: the loss over all is their weighted mean
        assert e["val_loss"] == pytest.approx(
            (3 * e["first_half_loss"] + 4 * e["repeat_loss"]) / 7, rel=1e-5)
    assert evals[0]["first_half_loss"] == pytest.approx(math.log(8), abs=0.1)  # a guess
    assert evals[-1]["repeat_loss"] < evals[0]["repeat_loss"] - 0.05  # it learns to copy
    status, text = run_cli("train", "--task", "induction", "--seq-len", "8", "--vocab-size", "8",
                           "--n-embd", "16", "--steps", "10", "--eval-interval", "10")
    assert status == 0 and re.search(r"first half [\d.]+ \| repeated half [\d.]+ \| "
                                     r"induction score [\d.]+", text)


def test_induction_settings_the_task_refuses_get_a_sentence(capsys):
    status, _ = run_cli("train", "--task", "induction", "--seq-len", "7", "--steps", "1")
    assert status == 2
    assert "cannot be cut into two equal halves" in capsys.readouterr().err
    status, _ = run_cli("train", "--task", "sorting", "--seq-len", "8")
    assert status == 2 and "--seq-len applies to the induction task" in capsys.readouterr().err
