"""The room store against both databases it supports: SQLite (a file) and a real PostgreSQL
server (tests/pgserver.py, Debian's binaries). Every limit and every bad input is a checked
RoomError with its sentence; time is a fake clock the tests move."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gptviz.config import ConfigError, RoomLimits
from gptviz.rooms import (
    CODE_ALPHABET,
    CODE_LENGTH,
    BadCode,
    BadName,
    BadRun,
    NameTaken,
    NotMember,
    NotTeacher,
    PostingTooFast,
    RoomClosed,
    RoomError,
    RoomExpired,
    RoomFull,
    RoomNotFound,
    RoomStore,
    RunPost,
    StoreReadOnly,
    StoreUnavailable,
    TeacherKey,
    TooManyRuns,
    clean_code,
    limits_from_env,
    store_url,
)
from gptviz.rooms.schema import SCHEMA_VERSION

MARKUP_NAME = "[x](http://e)**b**<script>"


class Clock:
    """Seconds since the epoch that move only when told."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fresh_pg_database(server) -> str:
    return server.fresh_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rooms.sqlite3'}"
    return fresh_pg_database(request.getfixturevalue("postgres"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_store(url: str, clock: Clock, **limits) -> RoomStore:
    return RoomStore(url, RoomLimits(**limits), clock=clock)


@pytest.fixture
def store(db_url, clock):
    s = make_store(db_url, clock)
    yield s
    s.dispose()


def post(key: str = "run-1", steps: int = 10, val: float | None = 1.5, n: int = 10,
         accuracy: float | None = None) -> RunPost:
    curve = [(i, 3.0 - i / max(n, 1)) for i in range(n)]
    return RunPost(run_key=key, page="text_model", task_ident="text:abc", task_label="docs",
                   settings={"text_layers": "2", "text_lr": "0.001"}, curve_name="validation loss",
                   curve=curve, steps=steps, train_loss=1.4, val_loss=val, accuracy=accuracy)


# --- the happy path ----------------------------------------------------------------------------
def test_a_room_round_trip_keeps_settings_thins_the_curve_and_never_a_model(store, clock):
    assert store.schema_version() == SCHEMA_VERSION
    key = store.open_room()
    assert len(key.code) == CODE_LENGTH and set(key.code) <= set(CODE_ALPHABET)
    ana = store.join(key.code.lower(), "  Ana   Lopez ")  # typed in lower case, spaces tidied
    assert ana.name == "Ana Lopez"
    store.post_run(ana, post(n=1_000))
    (run,) = store.runs(key.code)
    assert run.name == "Ana Lopez" and run.page == "text_model"
    assert run.settings == {"text_layers": "2", "text_lr": "0.001"}
    assert len(run.curve) == store.limits.curve_points  # 1,000 points thinned to 200
    assert run.curve[0] == (0, 3.0) and run.curve[-1] == (999, pytest.approx(3.0 - 0.999))
    steps = [s for s, _ in run.curve]
    assert steps == sorted(steps)
    assert (run.val_loss, run.train_loss, run.accuracy) == (1.5, 1.4, None)
    # an update of the same run replaces it, another key is another run
    clock.advance(1.0)
    store.post_run(ana, post(steps=20, val=1.2))
    clock.advance(1.0)
    store.post_run(ana, post(key="run-2", steps=5, val=2.0))
    runs = store.runs(key.code)
    assert sorted((r.steps, r.val_loss) for r in runs) == [(5, 2.0), (20, 1.2)]
    room = store.room(key.code)
    assert room.members == 1 and not room.closed
    assert room.expires_at - room.created_at == pytest.approx(4 * 3600)


def test_codes_read_unambiguously_and_typing_is_forgiven():
    assert not set("0O1I") & set(CODE_ALPHABET)
    assert clean_code(" ab3-k7q ") == "AB3K7Q"
    for bad in ("", "ABC", "ABCDEFG", "AB0K7Q", "ABOK7Q", "AB1K7Q", "<b>xx</b>"):
        with pytest.raises(BadCode):
            clean_code(bad)


def test_a_wrong_code_says_so(store):
    store.open_room()
    with pytest.raises(RoomNotFound, match="No room has the code ABCDEF"):
        store.join("ABCDEF", "Ana")
    with pytest.raises(BadCode, match="6 characters"):
        store.join("hello world", "Ana")


# --- time -------------------------------------------------------------------------------------
def test_a_room_expires_after_its_hours_and_is_deleted_by_the_next_opening(db_url, clock):
    store = make_store(db_url, clock, room_hours=2.0)
    key = store.open_room()
    ana = store.join(key.code, "Ana")
    clock.advance(2 * 3600 - 1)
    store.post_run(ana, post())  # a second before the end: still open
    clock.advance(1)
    for attempt in (lambda: store.join(key.code, "Bo"), lambda: store.room(key.code),
                    lambda: store.runs(key.code), lambda: store.post_run(ana, post("r2"))):
        with pytest.raises(RoomExpired, match="expired .*2 hours"):
            attempt()
    store.open_room()  # purges the expired room: its code is unknown now
    with pytest.raises(RoomNotFound):
        store.room(key.code)
    store.dispose()


# --- names --------------------------------------------------------------------------------------
def test_names_are_unique_in_a_room_ignoring_case(store):
    key, other = store.open_room(), store.open_room()
    store.join(key.code, "Ana")
    for same in ("ana", "ANA", " Ana ", "ＡＮＡ"):  # the last in full-width letters
        with pytest.raises(NameTaken, match="already has that name"):
            store.join(key.code, same)
    assert store.join(other.code, "Ana").name == "Ana"  # another room: free
    assert store.room(key.code).members == 1


@pytest.mark.parametrize("name, words", [
    (MARKUP_NAME, "letters, digits, spaces"),
    ("<b>bold</b>", "letters, digits, spaces"),
    ("**Ana**", "letters, digits, spaces"),
    ("a" * 10_000, "at most 24 characters; this one has 10,000"),
    ("", "Type a display name"),
    ("   \n\t ", "Type a display name"),
    ("...", "at least one letter"),
    ("Ana\u202eevil", "letters, digits, spaces"),  # a right-to-left override
])
def test_a_name_of_markup_or_10000_characters_is_refused_with_a_sentence(store, name, words):
    key = store.open_room()
    with pytest.raises(BadName, match=words):
        store.join(key.code, name)
    assert store.room(key.code).members == 0


def test_real_names_in_any_script_pass(store):
    key = store.open_room()
    for name in ("Zoë", "李雷", "Anne-Marie O'Neil", "J. Smith 2", "Łukasz"):
        assert store.join(key.code, name).name == name


# --- limits -------------------------------------------------------------------------------------
def test_a_full_room_refuses_the_next_student(db_url, clock):
    store = make_store(db_url, clock, max_members=2)
    key = store.open_room()
    store.join(key.code, "A1")
    store.join(key.code, "A2")
    with pytest.raises(RoomFull, match="full \\(2 students\\)"):
        store.join(key.code, "A3")
    store.dispose()


def test_simultaneous_joins_never_overfill_a_room(db_url, clock):
    store = make_store(db_url, clock, max_members=3)
    key = store.open_room()
    outcomes: list[str] = []
    lock = threading.Lock()

    def join(i: int) -> None:
        try:
            store.join(key.code, f"S{i}")
            got = "joined"
        except RoomError as e:
            got = type(e).__name__
        with lock:
            outcomes.append(got)

    threads = [threading.Thread(target=join, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["RoomFull"] * 5 + ["joined"] * 3
    assert store.room(key.code).members == 3
    store.dispose()


def test_runs_per_student_are_limited_but_updates_are_not(db_url, clock):
    store = make_store(db_url, clock, max_runs_per_member=2)
    key = store.open_room()
    ana, bo = store.join(key.code, "Ana"), store.join(key.code, "Bo")
    for k in ("r1", "r2"):
        clock.advance(1)
        store.post_run(ana, post(k))
    clock.advance(1)
    with pytest.raises(TooManyRuns, match="posted 2 runs"):
        store.post_run(ana, post("r3"))
    clock.advance(1)
    store.post_run(ana, post("r2", steps=99))  # an update of a run already posted
    store.post_run(bo, post("r3"))  # another student's own count
    assert sorted(r.steps for r in store.runs(key.code)) == [10, 10, 99]
    store.dispose()


def test_posting_faster_than_the_limit_waits(db_url, clock):
    store = make_store(db_url, clock, posts_per_second=1.0)
    key = store.open_room()
    ana = store.join(key.code, "Ana")
    store.post_run(ana, post(steps=1))
    clock.advance(0.5)
    with pytest.raises(PostingTooFast, match="At most 1 post"):
        store.post_run(ana, post(steps=2))
    clock.advance(0.5)
    store.post_run(ana, post(steps=3))
    assert [r.steps for r in store.runs(key.code)] == [3]
    store.dispose()


def test_bad_runs_are_refused(store):
    key = store.open_room()
    ana = store.join(key.code, "Ana")
    for bad in (post(val=float("nan")), post(accuracy=2.0),
                RunPost("k", "", "t", "t", {}, "loss", [], 1),
                RunPost("k", "p", "t", "t", {"x": "y" * 5_000}, "loss", [], 1)):
        with pytest.raises(BadRun):
            store.post_run(ana, bad)
    assert store.runs(key.code) == []


# --- the teacher --------------------------------------------------------------------------------
def test_only_the_teacher_closes_and_a_closed_room_stays_readable(store, clock):
    key = store.open_room()
    ana = store.join(key.code, "Ana")
    store.post_run(ana, post())
    with pytest.raises(NotTeacher):
        store.close(TeacherKey(key.code, "not-the-token"))
    store.close(key)
    assert store.room(key.code).closed
    with pytest.raises(RoomClosed, match="closed"):
        store.join(key.code, "Bo")
    clock.advance(5)
    with pytest.raises(RoomClosed, match="no longer posted"):
        store.post_run(ana, post(steps=50))
    assert [r.steps for r in store.runs(key.code)] == [10]


def test_delete_removes_the_room_its_members_and_runs_only(store, clock):
    key, other = store.open_room(), store.open_room()
    ana, bo = store.join(key.code, "Ana"), store.join(other.code, "Bo")
    store.post_run(ana, post())
    store.post_run(bo, post())
    with pytest.raises(NotTeacher):
        store.delete(TeacherKey(key.code, other.token))  # another room's token
    store.delete(key)
    with pytest.raises(RoomNotFound):
        store.runs(key.code)
    clock.advance(5)
    with pytest.raises(RoomNotFound):
        store.post_run(ana, post(steps=11))
    assert [r.name for r in store.runs(other.code)] == ["Bo"]


def test_a_forged_member_token_cannot_post(store):
    key = store.open_room()
    ana = store.join(key.code, "Ana")
    forged = type(ana)(ana.code, ana.name, "forged-token")
    with pytest.raises(NotMember):
        store.post_run(forged, post())


# --- the database down or read-only -----------------------------------------------------------
def test_an_sqlite_file_that_cannot_be_opened_is_unavailable(tmp_path, clock):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = make_store(f"sqlite:///{blocker / 'rooms.sqlite3'}", clock)
    for attempt in (store.open_room, lambda: store.join("ABCDEF", "Ana"),
                    lambda: store.room("ABCDEF")):
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            attempt()


def test_a_read_only_sqlite_file_reads_but_does_not_write(tmp_path, clock):
    path = tmp_path / "rooms.sqlite3"
    writer = make_store(f"sqlite:///{path}", clock)
    key = writer.open_room()
    writer.dispose()
    store = make_store(f"sqlite:///file:{path}?mode=ro&uri=true", clock)
    assert store.room(key.code).code == key.code
    for attempt in (store.open_room, lambda: store.join(key.code, "Ana"),
                    lambda: store.close(key)):
        with pytest.raises(StoreReadOnly, match="read-only"):
            attempt()
    store.dispose()


def test_postgresql_at_a_wrong_address_is_unavailable(clock):
    store = make_store("postgresql://postgres@127.0.0.1:1/postgres", clock)
    with pytest.raises(StoreUnavailable, match="cannot be reached") as e:
        store.open_room()
    assert not isinstance(e.value, StoreReadOnly)


def test_a_postgresql_server_that_stops_is_unavailable_then_comes_back(postgres, clock):
    store = make_store(fresh_pg_database(postgres), clock)
    key = store.open_room()
    postgres.stop()
    try:
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            store.join(key.code, "Ana")
        with pytest.raises(StoreUnavailable):
            store.runs(key.code)
    finally:
        postgres.start()
    assert store.join(key.code, "Ana").name == "Ana"  # the pool reconnects by itself
    store.dispose()


def test_a_read_only_postgresql_reads_but_does_not_write(postgres, clock):
    url = fresh_pg_database(postgres)
    writer = make_store(url, clock)
    key = writer.open_room()
    writer.dispose()
    store = make_store(url + "?options=-c%20default_transaction_read_only%3Don", clock)
    assert store.room(key.code).code == key.code
    with pytest.raises(StoreReadOnly, match="read-only"):
        store.join(key.code, "Ana")
    store.dispose()


def test_a_nonsense_address_is_a_sentence_not_a_traceback(clock):
    with pytest.raises(StoreUnavailable, match="address is not valid"):
        make_store("nosuchdb://x", clock).room("ABCDEF")


# --- configuration ------------------------------------------------------------------------------
def test_the_database_and_limits_come_from_the_environment(tmp_path):
    assert store_url({"GPTVIZ_ROOMS_DB": str(tmp_path / "r.db")}) == f"sqlite:///{tmp_path}/r.db"
    assert store_url({"GPTVIZ_ROOMS_URL": "postgresql://h/db"}) == "postgresql://h/db"
    assert store_url({}).endswith("data/rooms.sqlite3")
    assert limits_from_env({"GPTVIZ_ROOM_HOURS": "1.5"}).room_hours == 1.5
    assert limits_from_env({"GPTVIZ_ROOM_SIZE": "30"}).max_members == 30
    with pytest.raises(ConfigError):
        limits_from_env({"GPTVIZ_ROOM_HOURS": "soon"})
    with pytest.raises(ConfigError):
        limits_from_env({"GPTVIZ_ROOM_SIZE": "0"})


# --- the schema's version -------------------------------------------------------------------
def test_an_older_schema_is_migrated_and_a_newer_one_refused(db_url, clock, monkeypatch):
    from sqlalchemy import text

    from gptviz.rooms import schema

    old = make_store(db_url, clock)
    key = old.open_room()
    old.dispose()
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(schema, "MIGRATIONS", {1: ["ALTER TABLE rooms ADD COLUMN note TEXT"]})
    new = make_store(db_url, clock)
    assert new.schema_version() == 2
    assert new.room(key.code).code == key.code  # the rooms survived the upgrade
    with new._tx() as conn:
        assert conn.execute(text("SELECT note FROM rooms")).scalar() is None  # the new column
    new.dispose()
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 1)
    with pytest.raises(StoreUnavailable, match="newer gptviz \\(schema 2"):
        make_store(db_url, clock).room(key.code)
