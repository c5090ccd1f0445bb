"""The leaderboard: a room's runs in comparable groups, each ranked by its task's measure.

Runs are compared only on the same page and task (a loss in nats on other data scores another
exercise: gptviz/live/runs.py). In a group, the measure is held-out accuracy where the task has
it (higher is better, ties broken by the lower loss), else the validation loss, else the
training loss (Baby GPT: the loss on all windows, which has no held-out split); lower is better.
A run without the measure yet is listed after the ranked ones, with no rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gptviz.i18n import N_
from gptviz.rooms.records import RoomRun


@dataclass(frozen=True)
class Standing:
    rank: int | None  # 1 = best; None while the run has no value of the measure
    run: RoomRun
    score: float | None  # the measure's value


@dataclass(frozen=True)
class Board:
    page: str
    task_label: str
    measure: str  # "held-out accuracy", "validation loss", "training loss"
    label: str  # the measure in the page's words ("loss on all windows" on Baby GPT)
    higher_is_better: bool
    standings: list[Standing]


def _measure(runs: Sequence[RoomRun]) -> tuple[str, bool]:
    # English identifiers, marked for the catalogue: the page shows them translated
    if any(r.accuracy is not None for r in runs):
        return N_("held-out accuracy"), True
    if any(r.val_loss is not None for r in runs):
        return N_("validation loss"), False
    return N_("training loss"), False


def _score(run: RoomRun, measure: str) -> float | None:
    return {"held-out accuracy": run.accuracy, "validation loss": run.val_loss,
            "training loss": run.train_loss}[measure]


def _order(run: RoomRun, measure: str, higher: bool) -> tuple[float, float]:
    """Best first: the measure, then the lower loss."""
    s = _score(run, measure)
    assert s is not None
    loss = run.val_loss if run.val_loss is not None else run.train_loss
    return (-s if higher else s, loss if loss is not None else float("inf"))


def boards(runs: Sequence[RoomRun]) -> list[Board]:
    """One Board per (page, task), the group with the most runs first."""
    groups: dict[tuple[str, str], list[RoomRun]] = {}
    for r in runs:
        groups.setdefault((r.page, r.task_ident), []).append(r)
    out = []
    for (page, _), group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        measure, higher = _measure(group)
        scored = [r for r in group if _score(r, measure) is not None]
        rest = [r for r in group if _score(r, measure) is None]

        scored.sort(key=lambda r, m=measure, h=higher: _order(r, m, h))
        standings = [Standing(i + 1, r, _score(r, measure)) for i, r in enumerate(scored)]
        standings += [Standing(None, r, None) for r in rest]
        label = measure
        if measure == "training loss":  # the pages' own name for it, where they agree
            names = {r.curve_name for r in group} - {"batch loss"}
            label = names.pop() if len(names) == 1 else measure
        out.append(Board(page, group[0].task_label, measure, label, higher, standings))
    return out
