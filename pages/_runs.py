"""Compare runs: this session's runs of a training page, overlaid, with a table of settings.

One call per page, inside its "Compare runs" tab or expander:

    compare_runs(P, f"{P}_run", run, task_label=..., train_name=...)

It draws a Keep this run button, one chart per task (a loss in nats over different data or
vocabularies is not comparable, so runs of different tasks are never overlaid: see
gptviz/live/runs.py), held-out accuracy beside the loss where the task scores it, the runs table
(Show and Name editable) and a row to rename or delete a kept run. The chart follows the model
training now ("this run") while it trains.

A run enters the book when Keep this run is pressed, and by itself when the page replaces its
run (Reset, settings that build a new model, a loaded model) after it trained at least one
step: each call remembers the LiveRun it saw under `run_key`, and a different one there next
time means the page replaced it. So pages/_live.py needs no hook. The book (gptviz.live.runs:
at most MAX_RUNS runs, each curve at most MAX_CURVE_POINTS points) lives in session_state.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gptviz.i18n import _
from gptviz.live import LiveRun
from gptviz.live.runs import (
    LIVE_NAME,
    MAX_CURVE_POINTS,
    MAX_NAME_CHARS,
    MAX_RUNS,
    RunBook,
    RunRecord,
    TaskKey,
    differing_settings,
    escape_markdown,
    group_runs,
    incomparable_message,
    record_run,
    run_name,
    setting_name,
    shared_settings,
    task_key,
)
from gptviz.viz.runs import runs_figure
from pages._live import in_language, live_fragment, live_seconds, memo

LIVE_SECONDS = 2.0  # while training, the chart follows "this run" this often (cheap, in a tab)
CHART_HEIGHT = 420


def _book(page: str) -> RunBook:
    key = f"{page}_runbook"
    if key not in st.session_state:
        st.session_state[key] = RunBook()
    return st.session_state[key]


def _note(page: str, text: str, kind: str = "info") -> None:
    st.session_state.setdefault(f"{page}_runs_notes", []).append((kind, text))


def _record(run: LiveRun, task: TaskKey, book: RunBook) -> RunRecord:
    """The model training now, as a record drawn beside the book's."""
    return record_run(LIVE_NAME, run.snapshot(), run.trainer.model.config, run.trainer.config,
                      task, source=id(run), hidden=book.live_hidden)


def _keep(page: str, run: LiveRun, task: TaskKey, asked: bool) -> None:
    """Put a snapshot of `run` in the book (asked: the Keep button, which says why not)."""
    book = _book(page)
    snap = run.snapshot()
    if not snap.steps:  # trained no step here (a fresh model, or a loaded one not trained on)
        if asked:
            _note(page, _("Nothing to keep yet: train at least one step first."), "warning")
        return
    if book.has(id(run), snap.step):
        if asked:
            _note(page, _("This run at step {step:,} is kept already.").format(step=snap.step),
                  "warning")
        return
    record = record_run(book.next_name(), snap, run.trainer.model.config, run.trainer.config,
                        task, source=id(run))
    for note in book.add(record):
        _note(page, note)


def _task_of(page: str, run_key: str, run: LiveRun, label: str | None) -> TaskKey:
    """The run's TaskKey, computed again only when its task object or label changes (a text's
    key hashes its token ids)."""
    seen = st.session_state.get(f"{page}_runs_seen", {}).get(run_key)
    task = run.trainer.task
    if seen is not None and seen[0] is run and seen[2] is task and seen[3] == label:
        return seen[1]
    return task_key(task, label)


def compare_runs(page: str, run_key: str, run: LiveRun, *, task_label: str | None = None,
                 train_name: str | None = None) -> None:
    """The Compare runs panel of a page whose LiveRun is session_state[run_key].

    task_label: the task's name for people (a corpus's name); by default made from the task.
    train_name: what the solid curves are (Baby GPT: "loss on all windows"); by default
    "training loss".
    """
    train_name = _("training loss") if train_name is None else train_name
    seen: dict = st.session_state.setdefault(f"{page}_runs_seen", {})
    previous = seen.get(run_key)
    if previous is not None and previous[0] is not run:  # replaced since the last rerun
        _keep(page, previous[0], previous[1], asked=False)
    task = _task_of(page, run_key, run, task_label)
    seen[run_key] = (run, task, run.trainer.task, task_label)
    book = _book(page)

    for kind, text in st.session_state.pop(f"{page}_runs_notes", []):
        (st.warning if kind == "warning" else st.info)(escape_markdown(text))
    c_keep, c_text = st.columns([1, 3], vertical_alignment="center")
    c_keep.button(_("Keep this run"), icon=":material/bookmark_add:", key=f"{page}_runs_keep",
                  on_click=in_language(_keep), args=(page, run, task, True), width="stretch",
                  help=_("Keep a copy of this run's settings and curves now; training goes "
                         "on."))
    c_text.caption(_(
        "'{live}' is the model on the page now. Up to {runs} runs are kept (the oldest goes "
        "first; each curve thinned to {points} points): Keep this run keeps a copy now; Reset, "
        "or settings that build a new model, keep the run they replace if it trained. To "
        "compare settings from the same start, press Reset and train again: the fresh model "
        "has the same seed.").format(live=_(LIVE_NAME), runs=MAX_RUNS, points=MAX_CURVE_POINTS))
    _charts(page, run, task, train_name)
    _table(page, book, _record(run, task, book), running=run.running)
    _manage(page, book)


def _charts(page: str, run: LiveRun, task: TaskKey, train_name: str) -> None:
    @live_fragment(live_seconds(run.running, LIVE_SECONDS))
    def view() -> None:
        book = _book(page)
        live = _record(run, task, book)
        shown = [r for r in (live, *book.records) if not r.hidden]
        groups = group_runs(shown)
        if not shown:
            st.caption(_("No run is drawn: tick Show in the table below."))
            return
        if len(groups) > 1:
            st.info(escape_markdown(incomparable_message(groups)),
                    icon=":material/compare_arrows:")
        for i, group in enumerate(groups):
            if len(groups) > 1:
                st.markdown(_("**Task: {task}**").format(task=escape_markdown(group[0].task.label)))
            key = (book.version, book.live_hidden, live.steps, len(live.train),
                   tuple((r.run_id, r.task) for r in group))
            accuracy = any(len(r.accuracy) for r in group)
            cols = st.columns(2) if accuracy else [st.container()]
            fig = memo(f"{page}_runs_fig_{i}", key, lambda g=group: runs_figure(
                g, train_name=train_name, height=CHART_HEIGHT))
            cols[0].plotly_chart(fig, key=f"{page}_runs_chart_{i}", theme=None)
            if accuracy:
                acc = memo(f"{page}_runs_acc_{i}", key, lambda g=group: runs_figure(
                    g, metric="accuracy", height=CHART_HEIGHT))
                cols[1].plotly_chart(acc, key=f"{page}_runs_acc_chart_{i}", theme=None)

    view()


def _table(page: str, book: RunBook, live: RunRecord, running: bool) -> None:
    records = [live, *book.records]
    groups = group_runs(records)
    differing = differing_settings(records)
    if len(groups) < 2:
        differing = [k for k in differing if k != "task"]
    rows = []
    for r in records:
        row = {"Show": not r.hidden, "Name": run_name(r), **{k: r.settings.get(k, "–")
                                                        for k in differing},
               "steps": r.steps, "train loss": r.final_train}
        if any(len(x.val) for x in records):
            row["validation loss"] = r.final_val
        if any(len(x.accuracy) for x in records):
            acc = r.final_accuracy
            row["held-out accuracy"] = None if acc is None else 100 * acc
        row["losses from"] = r.losses_from
        rows.append(row)
    key = f"{page}_runs_table_{book.version}"  # a fresh editor after every change to the book
    ids = [r.run_id for r in records]
    st.data_editor(
        pd.DataFrame(rows), key=key, hide_index=True, on_change=in_language(_edited),
        args=(page, ids, key), disabled=[c for c in rows[0] if c not in ("Show", "Name")],
        column_config={
            **{k: st.column_config.TextColumn(setting_name(k)) for k in differing},
            "Show": st.column_config.CheckboxColumn(_("Show"),
                                                    help=_("Draw this run in the chart.")),
            "Name": st.column_config.TextColumn(_("Name"), max_chars=MAX_NAME_CHARS,
                                                help=_("Click to rename a kept run.")),
            "steps": st.column_config.NumberColumn(_("steps"), format="%d"),
            "train loss": st.column_config.NumberColumn(_("train loss"), format="%.4f"),
            "validation loss": st.column_config.NumberColumn(_("validation loss"),
                                                             format="%.4f"),
            "held-out accuracy": st.column_config.NumberColumn(_("held-out accuracy"),
                                                               format="%.1f%%"),
            "losses from": st.column_config.TextColumn(_("losses from")),
        })
    same = shared_settings(records)
    if len(groups) < 2:
        same.pop("task", None)
    notes = []
    if same:
        notes.append(_("Same in every run: {settings}").format(
            settings=_(", ").join(f"{setting_name(k)} {v}" for k, v in same.items())))
    if running:
        notes.append(_("The row of '{live}' is as of step {step:,}; it is brought up to date "
                       "when training pauses or stops (the chart every {seconds:g} s)").format(
            live=_(LIVE_NAME), step=live.steps, seconds=LIVE_SECONDS))
    notes.append(_("Settings are each run's newest; a learning rate changed while it trained "
                   "shows as first → newest"))
    st.caption(escape_markdown(_(". ").join(notes) + _(".")))


def _edited(page: str, ids: list[int], key: str) -> None:
    state = st.session_state.get(key) or {}
    picked = _picked(page)
    book = _book(page)
    for note in book.apply_edits(ids, state.get("edited_rows", {})):
        _note(page, note, "warning")
    book.version += 1  # a fresh editor, also where an edit was refused (it shows the book)
    if picked is not None:  # a renamed run stays the chosen one
        st.session_state[f"{page}_runs_pick"] = book.get(picked).name


def _manage(page: str, book: RunBook) -> None:
    """Rename or delete a kept run, chosen by name (names are unique in a book)."""
    names = [r.name for r in book.records]
    if not names:
        return
    pick_key = f"{page}_runs_pick"
    if st.session_state.get(pick_key) not in names:
        st.session_state[pick_key] = names[-1]  # the newest, until one is chosen
    c1, c2, c3, c4 = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    c1.selectbox(_("Kept run"), names, key=pick_key)
    c2.text_input(_("New name"), key=f"{page}_runs_name", max_chars=MAX_NAME_CHARS,
                  placeholder=_("e.g. lr 1e-2"))
    c3.button(_("Rename"), icon=":material/edit:", key=f"{page}_runs_rename",
              on_click=in_language(_rename), args=(page,), width="stretch")
    c4.button(_("Delete"), icon=":material/delete:", key=f"{page}_runs_delete",
              on_click=in_language(_delete), args=(page,), width="stretch",
              help=_("Delete the chosen kept run."))


def _picked(page: str) -> int | None:
    """The run_id of the kept run chosen in the Kept run box."""
    name = st.session_state.get(f"{page}_runs_pick")
    return next((r.run_id for r in _book(page).records if r.name == name), None)


def _rename(page: str) -> None:
    run_id = _picked(page)
    if run_id is None:
        _note(page, _("That run is no longer kept."), "warning")
        return
    try:
        got = _book(page).rename(run_id, st.session_state.get(f"{page}_runs_name", ""))
    except ValueError as e:
        _note(page, str(e), "warning")
        return
    _note(page, _("Renamed to '{name}'.").format(name=got))
    st.session_state[f"{page}_runs_pick"] = got  # still the chosen one
    st.session_state[f"{page}_runs_name"] = ""


def _delete(page: str) -> None:
    run_id = _picked(page)
    if run_id is None:
        _note(page, _("That run is no longer kept."), "warning")
        return
    gone = _book(page).delete(run_id)
    st.session_state.pop(f"{page}_runs_pick", None)
    _note(page, _("Deleted '{name}'.").format(name=gone.name))

