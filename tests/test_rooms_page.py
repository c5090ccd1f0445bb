"""AppTests of the Class room page and of posting from a training page: every bad input gets
its sentence on the page (no exception), names show as typed, and a database that is down or
read-only leaves the training page working with one warning and the model kept."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import insert
from streamlit.testing.v1 import AppTest

from gptviz.config import RoomLimits
from gptviz.live.runs import escape_markdown
from gptviz.rooms import RoomStore, RunPost, schema
from gptviz.rooms.store import _digest
from pages._room import POST_SECONDS
from tests.apptest_helpers import button, open_page, wait_done

MARKUP_NAME = "[x](http://e)**b**<script>"


@pytest.fixture
def db(tmp_path: Path, monkeypatch) -> Iterator[Path]:
    """The page's database: a fresh SQLite file (GPTVIZ_ROOMS_DB), the store cache cleared."""
    path = tmp_path / "rooms.sqlite3"
    monkeypatch.setenv("GPTVIZ_ROOMS_DB", str(path))
    monkeypatch.delenv("GPTVIZ_ROOMS_URL", raising=False)
    st.cache_resource.clear()
    yield path
    st.cache_resource.clear()


def store_of(path: Path, **kw) -> RoomStore:
    return RoomStore(f"sqlite:///{path}", **kw)


def room_page(**state) -> AppTest:
    return open_page("class_room", timeout=30, session_state=state)


def join(at: AppTest, code: str, name: str) -> AppTest:
    at.text_input(key="room_code").input(code)
    at.text_input(key="room_name").input(name)
    return at.button(key="room_join").click().run()


def messages(at: AppTest) -> str:
    return " ".join(e.value for e in (*at.error, *at.warning, *at.info, *at.success))


def plain(markdown_text: str) -> str:
    """What an escaped Markdown message reads as."""
    return markdown_text.replace("\\", "")


# --- bad input on the page ---------------------------------------------------------------------
def _expired(path: Path) -> str:
    past = store_of(path, clock=lambda: time.time() - 5 * 3600)
    return past.open_room().code


def _closed(path: Path) -> str:
    s = store_of(path)
    key = s.open_room()
    s.close(key)
    return key.code


def _taken(path: Path) -> str:
    s = store_of(path)
    key = s.open_room()
    s.join(key.code, "Ana")
    return key.code


def _open(path: Path) -> str:
    return store_of(path).open_room().code


BAD_JOINS = [  # (how the room is made, the code typed, the name typed, words on the page)
    ("unknown code", _open, "ABCDEF", "Ana", "No room has the code ABCDEF"),
    ("not a code", _open, "hello!", "Ana", "A room code has 6 characters"),
    ("empty code", _open, "", "Ana", "Type the room code"),
    ("expired", _expired, None, "Ana", "has expired"),
    ("closed", _closed, None, "Ana", "is closed"),
    ("duplicate name", _taken, None, "ANA", "already has that name"),
    ("markup name", _open, None, MARKUP_NAME, "letters, digits, spaces"),
    ("10,000 characters", _open, None, "a" * 10_000, "this one has 10,000"),
    ("empty name", _open, None, "   ", "Type a display name"),
]


@pytest.mark.parametrize("case, make, code, name, words", BAD_JOINS,
                         ids=[c[0] for c in BAD_JOINS])
def test_a_bad_join_says_why_on_the_page(db, case, make, code, name, words):
    real = make(db)
    at = join(room_page(), real if code is None else code, name)
    assert not at.exception
    assert words in plain(messages(at)), messages(at)
    assert "gptviz_room_member" not in at.session_state
    assert "script" not in " ".join(m.value for m in at.markdown)  # nothing typed echoed


def test_a_full_room_says_so(db, monkeypatch):
    monkeypatch.setenv("GPTVIZ_ROOM_SIZE", "1")
    code = _taken(db)
    at = join(room_page(), code, "Bo")
    assert not at.exception
    assert "is full (1 students)" in plain(messages(at))


def test_a_database_that_cannot_be_opened_says_so(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("GPTVIZ_ROOMS_DB", str(blocker / "rooms.sqlite3"))
    st.cache_resource.clear()
    try:
        at = room_page()
        at.button(key="room_open").click().run()
        assert not at.exception
        assert "cannot be reached" in plain(messages(at))
        at = join(at, "ABCDEF", "Ana")
        assert not at.exception and "cannot be reached" in plain(messages(at))
    finally:
        st.cache_resource.clear()


def test_a_read_only_database_says_so(db, monkeypatch):
    code = _open(db)
    monkeypatch.setenv("GPTVIZ_ROOMS_URL", f"sqlite:///file:{db}?mode=ro&uri=true")
    st.cache_resource.clear()
    at = join(room_page(), code, "Ana")
    assert not at.exception
    assert "read-only" in plain(messages(at))


# --- the teacher -------------------------------------------------------------------------------
def test_the_teacher_opens_shows_closes_and_deletes_a_room(db):
    at = room_page()
    at.button(key="room_open").click().run()
    assert not at.exception
    key = at.session_state["gptviz_room_teacher"]
    html = " ".join(h.proto.body for h in at.get("html"))
    assert f">{key.code}</div>" in html and "font: 700 7.5rem" in html  # large, for a projector
    (qr,) = at.get("image")
    assert "image/svg+xml" in str(qr.proto) or ".svg" in str(qr.proto), "no QR code (SVG)"
    assert any(f"class_room?room={key.code}" in c.value for c in at.code)
    student = join(room_page(), key.code, "Ana")
    assert "joined room" in plain(messages(student))
    at.run()
    assert any("1 student" in c.value for c in at.caption)
    at.button(key="room_close").click().run()
    assert store_of(db).room(key.code).closed
    assert "is closed" in plain(messages(join(room_page(), key.code, "Bo")))
    at.button(key="room_delete").click().run()  # not confirmed: nothing deleted
    assert "Tick" in plain(messages(at)) and store_of(db).room(key.code)
    at.checkbox(key="room_confirm").check().run()
    at.button(key="room_delete").click().run()
    assert not at.exception and "gptviz_room_teacher" not in at.session_state
    assert "No room has the code" in plain(messages(join(room_page(), key.code, "Cy")))


def test_names_and_labels_show_as_typed_never_as_markup(db):
    """A name that slipped past the checks (written straight into the database) is still
    shown as text: escaped in the table, HTML-escaped in the chart's legend."""
    s = store_of(db)
    key = s.open_room()
    with s._tx(write=True) as conn:
        room_id = conn.execute(schema.rooms.select()).first().id
        conn.execute(insert(schema.members).values(
            room_id=room_id, name=MARKUP_NAME, name_key="m", token=_digest("t"), joined_at=0.0))
    from gptviz.rooms import Membership
    s.post_run(Membership(key.code, MARKUP_NAME, "t"), RunPost(
        "r", "text_model", "text:1", "corpus **bold** <i>x</i>", {"text_layers": "2"},
        "validation loss", [(1, 3.0), (2, 2.5)], 2, 2.4, 2.5))
    at = room_page(gptviz_room_teacher=key)
    assert not at.exception
    table = at.table[0].value
    assert list(table["name"]) == [escape_markdown(MARKUP_NAME)]
    assert "text_model?text_layers=2" in table["settings"].iloc[0]
    headings = " ".join(m.value for m in at.markdown)
    assert "](http://e)" not in headings and "**bold**" not in headings
    assert escape_markdown("corpus **bold** <i>x</i>") in headings
    (chart,) = at.get("plotly_chart")
    names = [t["name"] for t in json.loads(chart.proto.spec)["data"]]
    assert names == ["[x](http://e)**b**&lt;script&gt;"]


def test_the_board_ranks_accuracy_highest_first(db):
    s = store_of(db, limits=RoomLimits(posts_per_second=100))
    key = s.open_room()
    for name, acc in (("Lo", 0.5), ("Hi", 0.9), ("Mid", 0.7)):
        m = s.join(key.code, name)
        s.post_run(m, RunPost("r", "tasks", "addition:2", "addition, 2 digits", {},
                              "validation loss", [(1, 1.0)], 100, 1.0, 1.0, acc))
    at = room_page(gptviz_room_teacher=key)
    table = at.table[0].value
    assert list(table["name"]) == ["Hi", "Mid", "Lo"]
    assert list(table["held-out accuracy"]) == ["90.0%", "70.0%", "50.0%"]


# --- posting from a training page ------------------------------------------------------------
def test_baby_gpt_posts_its_run_to_the_room_and_survives_the_database_going_read_only(
        db, monkeypatch):
    s = store_of(db)
    key = s.open_room()
    ana = s.join(key.code, "Ana")
    at = open_page("baby_gpt", session_state={"gptviz_room_member": ana, "baby_steps": 20})
    try:
        assert not at.exception
        assert any("Class room" in c.value and "posting this run as Ana" in c.value
                   for c in at.caption)
        run = at.session_state["baby_run"]
        button(at, "Train").click().run()
        wait_done(at, run)
        assert not at.exception
        (posted,) = s.runs(key.code)
        assert (posted.name, posted.page, posted.steps) == ("Ana", "baby_gpt", 20)
        assert posted.curve_name == "loss on all windows" and len(posted.curve) >= 2
        assert posted.train_loss == pytest.approx(run.snapshot().evals[-1].train_loss)
        assert posted.settings["baby_steps"] == "20" and "baby_seq" in posted.settings
        # the database goes read-only: the page warns once, keeps training, keeps the model
        monkeypatch.setenv("GPTVIZ_ROOMS_URL", f"sqlite:///file:{db}?mode=ro&uri=true")
        st.cache_resource.clear()
        button(at, "Train").click().run()
        wait_done(at, run)
        time.sleep(POST_SECONDS)  # the page posts at most every POST_SECONDS
        at.run()
        assert not at.exception
        warnings = [w.value for w in at.warning if "read-only" in plain(w.value)]
        assert len(warnings) == 1 and "Your model is fine" in plain(warnings[0])
        assert at.session_state["baby_run"] is run and run.trainer.step_count == 40
        assert s.runs(key.code)[0].steps == 20  # not posted while read-only
    finally:
        at.session_state["baby_run"].pause()
        st.cache_resource.clear()


def test_a_deleted_room_ends_the_membership_with_a_note(db):
    s = store_of(db)
    key = s.open_room()
    ana = s.join(key.code, "Ana")
    s.delete(key)
    at = open_page("baby_gpt", session_state={"gptviz_room_member": ana, "baby_steps": 5})
    try:
        button(at, "Train").click().run()
        wait_done(at, at.session_state["baby_run"])
        assert not at.exception
        assert "gptviz_room_member" not in at.session_state
        assert any("You have left the room" in plain(w.value) for w in at.warning)
        assert at.session_state["baby_run"].trainer.step_count == 5
    finally:
        at.session_state["baby_run"].pause()
        st.cache_resource.clear()


@pytest.mark.parametrize("page, run_key, setup, measure", [
    ("tasks", "tasks_sorting_run", {"tasks_task": "sorting", "tasks_steps": 30}, "accuracy"),
    ("text_model", "text_run", {"text_steps": 20}, "val_loss"),
])
def test_text_and_tasks_post_their_runs_with_their_own_figures(db, page, run_key, setup,
                                                               measure):
    s = store_of(db)
    key = s.open_room()
    ana = s.join(key.code, "Ana")
    at = open_page(page, session_state={"gptviz_room_member": ana, **setup})
    try:
        assert not at.exception
        if page == "text_model":
            at.selectbox(key="text_preset").set_value("Tiny").run()
            at.number_input(key="text_steps").set_value(20).run()
            at.number_input(key="text_eval").set_value(10).run()
        run = at.session_state[run_key]
        button(at, "Train").click().run()
        wait_done(at, run, timeout=120)
        time.sleep(POST_SECONDS)
        at.run()
        assert not at.exception
        (posted,) = s.runs(key.code)
        assert (posted.name, posted.page, posted.steps) == ("Ana", page, run.trainer.step_count)
        last = run.snapshot().evals[-1]
        if measure == "accuracy":
            assert posted.accuracy == pytest.approx(last.metrics["accuracy"])
            assert posted.settings.get("tasks_task") == "sorting"
        else:
            assert posted.val_loss == pytest.approx(last.val_loss)
            assert posted.curve_name == "validation loss"
        board = room_page(gptviz_room_teacher=key).table[0].value
        assert list(board["name"]) == ["Ana"]
    finally:
        at.session_state[run_key].pause()
        st.cache_resource.clear()


def test_the_teacher_can_hide_the_code_so_the_board_takes_the_screen(db):
    key = store_of(db).open_room()
    at = room_page(gptviz_room_teacher=key)
    assert at.get("html") and at.get("image")
    at.toggle(key="room_show_code").set_value(False).run()
    assert not at.exception and not at.get("html") and not at.get("image")
    assert any(f"Room {key.code}" in c.value for c in at.caption)  # the code is still there


def test_a_large_group_draws_its_best_runs_and_lists_them_all(db):
    from pages.class_room import CHART_RUNS

    s = store_of(db, limits=RoomLimits(posts_per_second=100))
    key = s.open_room()
    n = CHART_RUNS + 3
    for i in range(n):
        s.post_run(s.join(key.code, f"S{i}"), RunPost(
            "r", "text_model", "text:1", "docs", {}, "validation loss", [(1, 3.0), (2, 1.0)],
            2, 1.0, 1.0 + i / 100))
    at = room_page(gptviz_room_teacher=key)
    assert not at.exception
    assert len(at.table[0].value) == n
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["name"] for t in spec["data"]] == [f"S{i}" for i in range(CHART_RUNS)]
    assert f"The best {CHART_RUNS} of {n} runs" in spec["layout"]["title"]["text"]
