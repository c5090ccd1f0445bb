"""This session's runs of a training page, kept to compare: their settings and loss curves.

A RunRecord is what is kept of a LiveRun: its settings as text, its curves thinned to at most
MAX_CURVE_POINTS points each (NumPy arrays), its final numbers, and the task it trained on. A
RunBook holds at most MAX_RUNS of them (the oldest goes first, with a note), gives each a name
of its own (plain text) and a colour, and can rename, hide and delete them. The model that is
training now is not in the book: a page draws it beside the book as LIVE_NAME.

Losses are comparable only on the same task. A loss in nats is the mean of -log p(the right next
token): on other data, or over another vocabulary, it scores another exercise (guessing alone
scores log V, which differs with V). TaskKey names the task a run trained on; `group_runs`
splits records into comparable groups, and gptviz/viz/runs.py refuses to draw two groups in one
chart.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from gptviz.config import GPTConfig, TrainConfig
from gptviz.i18n import N_, _, ngettext
from gptviz.live.run import Snapshot
from gptviz.markup import MARKDOWN_SPECIALS, escape_markdown  # noqa: F401  (re-exported)
from gptviz.tasks import AdditionTask, SequenceTask, SortingTask, Task, TextTask
from gptviz.viz.style import LIVE_RUN_COLOR, RUN_COLORS

MAX_RUNS = 8  # kept runs per page and session; the oldest goes when a ninth comes
MAX_CURVE_POINTS = 500  # points kept per curve of a kept run (evenly spaced, last one kept)
MAX_NAME_CHARS = 40
LIVE_ID = 0  # the run_id of the model training now (never a kept run's)
LIVE_NAME = N_("this run")  # an identifier in the book: shown as _(LIVE_NAME)
# the settings' names (the keys of RunRecord.settings), for the table and the legend
SETTING_NAMES = {"task": N_("task"), "layers": N_("layers"), "heads": N_("heads"),
                 "embd": N_("embd"), "context": N_("context"), "lr": N_("lr"),
                 "batch": N_("batch"), "weight decay": N_("weight decay"),
                 "schedule": N_("schedule"), "seed": N_("seed"), "bias": N_("bias"),
                 "dropout": N_("dropout")}


SCHEDULE_NAMES = {"constant": N_("constant"), "cosine": N_("cosine")}


def setting_name(key: str) -> str:
    """A setting's name (a key of RunRecord.settings) in the reader's language."""
    return _(SETTING_NAMES[key]) if key in SETTING_NAMES else key


def run_name(record: RunRecord) -> str:
    """The run's name as shown: the live run's in the reader's language."""
    return _(LIVE_NAME) if record.run_id == LIVE_ID and record.name == LIVE_NAME else record.name


# --- the task a run trained on ------------------------------------------------------------------
@dataclass(frozen=True)
class TaskKey:
    """Which task a run trained on. Runs with equal `ident` and `vocab_size` are comparable."""

    label: str  # for people: "addition, 2 digits"
    ident: str  # for comparing: equal for the same data and scoring
    vocab_size: int
    floor: float | None = field(default=None, compare=False)  # lowest loss the data allows


def _digest(*parts: bytes) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(p)
        h.update(b"\0")
    return h.hexdigest()[:16]


def task_key(task: Task, label: str | None = None) -> TaskKey:
    """The TaskKey of a task object; `label` replaces the generated label (a corpus's name).

    Baby GPT's sequence task: the sequence, V and T (so the state space) and what is scored; a
    text: its characters (token ids of both splits); sorting and addition: their options.
    """
    v = task.vocab_size
    if isinstance(task, SequenceTask):
        t = task.block_size
        seq = task.sequence if len(task.sequence) <= 24 else task.sequence[:23] + "…"
        words = dict(v=v, t=t, states=v ** t, seq=seq)
        made = (_("V {v}, T {t} ({states:,} states), last position, on {seq}") if task.last_only
                else _("V {v}, T {t} ({states:,} states), every position, on {seq}"))
        return TaskKey(label or made.format(**words),
                       f"sequence:{v}:{t}:{task.last_only}:{_digest(task.sequence.encode())}",
                       v, task.entropy_floor())
    if isinstance(task, TextTask):
        ids = [task.data[s].numpy().tobytes() for s in ("train", "val") if s in task.data]
        return TaskKey(label or _("text of {n:,} characters").format(
            n=sum(len(task.data[s]) for s in task.data)), f"text:{_digest(*ids)}", v)
    if isinstance(task, AdditionTask):
        return TaskKey(label or ngettext("addition, {n} digit", "addition, {n} digits",
                                         task.ndigit).format(n=task.ndigit),
                       f"addition:{task.ndigit}", v, task.entropy_floor())
    if isinstance(task, SortingTask):
        return TaskKey(label or _("sorting {n} numbers of 0-{top}").format(
            n=task.length, top=task.num_digits - 1),
                       f"sorting:{task.length}:{task.num_digits}", v, task.entropy_floor())
    return TaskKey(label or type(task).__name__, f"{type(task).__name__}:{id(task)}", v)


def comparable(a: TaskKey, b: TaskKey) -> bool:
    return a == b


# --- what is kept of a run -------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Curve:
    """One curve of a run: its steps (int64) and values (float64), at most MAX_CURVE_POINTS."""

    steps: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, steps: Sequence[int], values: Sequence[float],
           limit: int = MAX_CURVE_POINTS) -> Curve:
        """The points evenly thinned to `limit`, the first and the last always kept."""
        s = np.asarray(steps, dtype=np.int64)
        v = np.asarray(values, dtype=np.float64)
        if len(s) != len(v):
            raise ValueError(f"{len(s)} steps for {len(v)} values: need one value per step")
        if len(s) > limit:
            idx = np.unique(np.linspace(0, len(s) - 1, limit).round().astype(np.int64))
            s, v = s[idx], v[idx]
        return cls(s, v)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last(self) -> float | None:
        return float(self.values[-1]) if len(self) else None

    @property
    def nbytes(self) -> int:
        return self.steps.nbytes + self.values.nbytes


@dataclass(frozen=True, eq=False)
class RunRecord:
    """A run as kept: settings (text, by name), curves, and the task it trained on."""

    name: str
    task: TaskKey
    settings: dict[str, str]  # "layers" -> "4", "lr" -> "1e-3", ...: what tells runs apart
    steps: int  # steps trained
    batch: Curve  # each training step's batch loss
    train: Curve  # the loss on training data at each evaluation
    val: Curve  # the loss on held-out data at each evaluation (empty without a held-out split)
    accuracy: Curve  # a task's held-out accuracy at each evaluation, 0 to 1 (or empty)
    source: int = 0  # which LiveRun it came from (its id() when kept)
    run_id: int = LIVE_ID  # given by the RunBook; LIVE_ID for the model training now
    colour: str = LIVE_RUN_COLOR
    hidden: bool = False  # left out of the chart (still in the table)

    @property
    def loss_curve(self) -> Curve:
        """The training-loss curve drawn: the evaluations', else (none yet) the batch losses."""
        return self.train if len(self.train) else self.batch

    @property
    def final_train(self) -> float | None:
        return self.loss_curve.last

    @property
    def final_val(self) -> float | None:
        return self.val.last

    @property
    def final_accuracy(self) -> float | None:
        return self.accuracy.last

    @property
    def losses_from(self) -> str:
        """Where the final losses were measured, in words."""
        if len(self.train):
            return _("evaluation at step {step:,}").format(step=int(self.train.steps[-1]))
        if len(self.batch):
            return _("last batch (step {step:,}), no evaluation yet").format(
                step=int(self.batch.steps[-1]))
        return _("not trained")

    @property
    def nbytes(self) -> int:
        """The bytes of its curves (the rest is a few short strings)."""
        return sum(c.nbytes for c in (self.batch, self.train, self.val, self.accuracy))


def format_lr(lr: float) -> str:
    """1e-3, 3e-3, 2.5e-4, 0.01 → "1e-2": learning rates as people write them."""
    if lr <= 0 or not math.isfinite(lr):
        return f"{lr:g}"
    mantissa, exponent = f"{lr:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _schedule_text(t: TrainConfig) -> str:
    words = dict(warm=t.warmup_steps, floor=format_lr(t.min_lr), steps=t.schedule_steps,
                 schedule=_(SCHEDULE_NAMES.get(t.schedule, t.schedule)))
    if t.schedule == "cosine":
        text = (_("cosine, warm-up {warm:,}, to {floor} at step {steps:,}") if t.warmup_steps
                else _("cosine, to {floor} at step {steps:,}"))
    else:
        text = _("{schedule}, warm-up {warm:,}") if t.warmup_steps else "{schedule}"
    return text.format(**words)


def _lr_text(t: TrainConfig, lrs: Sequence[float]) -> str:
    """The learning rate; "1e-3 → 1e-2" when it was changed while a constant schedule ran."""
    now = format_lr(t.learning_rate)
    if t.schedule != "constant" or t.warmup_steps or not lrs:
        return now
    first = format_lr(lrs[0])
    return now if first == now else f"{first} → {now}"


def run_settings(model: GPTConfig, train: TrainConfig, task_label: str,
                 lrs: Sequence[float] = ()) -> dict[str, str]:
    """The settings that tell runs apart, as text. The values are the run's newest (a setting
    changed while it trained shows its new value); lrs (the learning rate at each recorded
    step) shows a changed learning rate as first → newest."""
    return {
        "task": task_label, "layers": str(model.n_layer), "heads": str(model.n_head),
        "embd": str(model.n_embd), "context": str(model.block_size),
        "lr": _lr_text(train, lrs), "batch": str(train.batch_size),
        "weight decay": f"{train.weight_decay:g}", "schedule": _schedule_text(train),
        "seed": str(train.seed), "bias": _("yes") if model.bias else _("no"),
        "dropout": f"{model.dropout:g}",
    }


def record_run(name: str, snap: Snapshot, model: GPTConfig, train: TrainConfig, task: TaskKey,
               *, source: int = 0, run_id: int = LIVE_ID, colour: str = LIVE_RUN_COLOR,
               hidden: bool = False) -> RunRecord:
    """A RunRecord of a LiveRun's snapshot, with its model's and training's configuration."""
    evals = snap.evals
    val = [(e.step, e.val_loss) for e in evals if e.val_loss is not None]
    acc = [(e.step, e.metrics["accuracy"]) for e in evals if "accuracy" in e.metrics]
    return RunRecord(
        name=name, task=task, settings=run_settings(model, train, task.label, snap.lrs),
        steps=snap.step, batch=Curve.of(snap.steps, snap.losses),
        train=Curve.of([e.step for e in evals], [e.train_loss for e in evals]),
        val=Curve.of([s for s, _v in val], [v for _s, v in val]),
        accuracy=Curve.of([s for s, _a in acc], [a for _s, a in acc]),
        source=source, run_id=run_id, colour=colour, hidden=hidden)


# --- comparing --------------------------------------------------------------------------------
def group_runs(records: Iterable[RunRecord]) -> list[list[RunRecord]]:
    """The records in groups of comparable runs (one per task), in order of first appearance."""
    groups: dict[TaskKey, list[RunRecord]] = {}
    for r in records:
        groups.setdefault(r.task, []).append(r)
    return list(groups.values())


def incomparable_message(groups: Sequence[Sequence[RunRecord]]) -> str:
    """Why runs of different tasks are not drawn together (plain text, no markup)."""
    labels = "; ".join(g[0].task.label for g in groups)
    return _("These runs trained on {n} different tasks ({labels}). A loss in nats scores the "
             "next token of one task's data over its vocabulary, so losses on different tasks "
             "or vocabularies are not comparable: each task is drawn on its own.").format(
        n=len(groups), labels=labels)


def differing_settings(records: Sequence[RunRecord]) -> list[str]:
    """The settings whose values differ between the records, in the settings' order."""
    keys: list[str] = []
    for r in records:
        keys += [k for k in r.settings if k not in keys]
    return [k for k in keys if len({r.settings.get(k, "") for r in records}) > 1]


def shared_settings(records: Sequence[RunRecord]) -> dict[str, str]:
    """The settings every record has with the same value."""
    if not records:
        return {}
    differ = set(differing_settings(records))
    return {k: v for k, v in records[0].settings.items() if k not in differ}


def legend_label(record: RunRecord, differing: Sequence[str], at_most: int = 2) -> str:
    """"run 2 (lr 1e-2, layers 1)": the name and up to `at_most` settings that differ."""
    shown = [f"{setting_name(k)} {record.settings.get(k, '–')}" for k in differing
             if k != "task"][:at_most]
    return run_name(record) + (f" ({_(', ').join(shown)})" if shown else "")


# --- names ----------------------------------------------------------------------------------
def clean_name(raw: str) -> str:
    """A run's name as plain text: no control characters or line breaks, runs of white space
    as one space, at most MAX_NAME_CHARS characters. ValueError if nothing is left."""
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in str(raw))
    text = " ".join(text.split())[:MAX_NAME_CHARS].strip()
    if not text:
        raise ValueError(_("A run needs a name: type at least one letter or digit."))
    return text


# --- the book -------------------------------------------------------------------------------
class RunBook:
    """At most `limit` kept runs of one page, oldest first; the model training now is drawn
    beside them (its Show flag is `live_hidden`). Every change bumps `version`."""

    def __init__(self, limit: int = MAX_RUNS) -> None:
        if limit < 1:
            raise ValueError("A run book holds at least one run.")
        self.limit = limit
        self._records: list[RunRecord] = []
        self._serial = 0  # run ids and default names count up, never reused
        self.live_hidden = False
        self.version = 0

    @property
    def records(self) -> tuple[RunRecord, ...]:
        return tuple(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def get(self, run_id: int) -> RunRecord:
        for r in self._records:
            if r.run_id == run_id:
                return r
        raise KeyError(f"no kept run {run_id}")

    def _index(self, run_id: int) -> int:
        for i, r in enumerate(self._records):
            if r.run_id == run_id:
                return i
        if run_id == LIVE_ID:
            raise ValueError(_("'{live}' is the model on the page now: press Keep this run to "
                               "keep a copy you can name or delete.").format(live=_(LIVE_NAME)))
        raise ValueError(_("That run is no longer kept."))

    def has(self, source: int, steps: int) -> bool:
        """Whether a record of LiveRun `source` at `steps` steps is kept already."""
        return any(r.source == source and r.steps == steps for r in self._records)

    def unique_name(self, name: str, exclude: int | None = None) -> str:
        """`name`, or `name (2)`, `name (3)`, ...: unlike every other run's and LIVE_NAME
        (ignoring case)."""
        taken = {r.name.casefold() for r in self._records if r.run_id != exclude}
        taken.add(LIVE_NAME.casefold())
        if name.casefold() not in taken:
            return name
        n = 2
        while True:
            tail = f" ({n})"
            candidate = name[:MAX_NAME_CHARS - len(tail)].rstrip() + tail
            if candidate.casefold() not in taken:
                return candidate
            n += 1

    def next_name(self) -> str:
        return self.unique_name(_("run {n}").format(n=self._serial + 1))

    def add(self, record: RunRecord) -> list[str]:
        """Keep `record` under a free name, id and colour; past the limit the oldest goes.
        Returns notes for the page (plain text)."""
        self._serial += 1
        notes = []
        while len(self._records) >= self.limit:
            old = self._records.pop(0)
            notes.append(_("At most {limit} runs are kept: the oldest, '{name}', was "
                           "dropped.").format(limit=self.limit, name=old.name))
        used = {r.colour for r in self._records}
        colour = next((c for c in RUN_COLORS if c not in used),
                      RUN_COLORS[self._serial % len(RUN_COLORS)])
        name = self.unique_name(clean_name(record.name))
        self._records.append(dataclasses.replace(record, name=name, run_id=self._serial,
                                                 colour=colour))
        self.version += 1
        notes.insert(0, _("Kept '{name}' ({steps:,} steps).").format(name=name,
                                                                    steps=record.steps))
        return notes

    def rename(self, run_id: int, name: str) -> str:
        """Rename a kept run; returns the name it got (with a number if another run had it).
        ValueError for an empty name or the live run."""
        i = self._index(run_id)
        new = self.unique_name(clean_name(name), exclude=run_id)
        if new != self._records[i].name:
            self._records[i] = dataclasses.replace(self._records[i], name=new)
            self.version += 1
        return new

    def set_hidden(self, run_id: int, hidden: bool) -> None:
        if run_id == LIVE_ID:
            changed = self.live_hidden != hidden
            self.live_hidden = hidden
        else:
            i = self._index(run_id)
            changed = self._records[i].hidden != hidden
            self._records[i] = dataclasses.replace(self._records[i], hidden=hidden)
        self.version += changed

    def delete(self, run_id: int) -> RunRecord:
        i = self._index(run_id)
        self.version += 1
        return self._records.pop(i)

    def apply_edits(self, row_ids: Sequence[int],
                    edited_rows: Mapping[int | str, Mapping[str, object]]) -> list[str]:
        """A runs table's edits (st.data_editor's `edited_rows`: row index -> {column: value})
        for the runs `row_ids` (in the table's order): "Show" hides or shows, "Name" renames.
        Returns notes (plain text) for edits that could not be made as asked."""
        notes = []
        for row, change in edited_rows.items():
            i = int(row)
            if not 0 <= i < len(row_ids):
                continue
            run_id = row_ids[i]
            if "Show" in change:
                try:
                    self.set_hidden(run_id, not bool(change["Show"]))
                except ValueError as e:
                    notes.append(str(e))
            if "Name" in change:
                asked = str(change["Name"] or "")
                try:
                    got = self.rename(run_id, asked)
                except ValueError as e:
                    notes.append(str(e))
                    continue
                if got != " ".join(asked.split()):
                    notes.append(_("Named '{name}': another run has that name, or it was "
                                   "too long or had line breaks.").format(name=got))
        return notes
