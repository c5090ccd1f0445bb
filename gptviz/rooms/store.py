"""RoomStore: class rooms in a real database, SQLite by default, PostgreSQL by URL.

Through SQLAlchemy 2 Core: one well-kept library whose SQL and whose connection pool are the
same on both databases (psycopg 3 is its PostgreSQL driver), where plain sqlite3 beside psycopg
would need two dialects of every statement and two ways to pool and retry. Core, not its ORM:
a handful of tables, statements we can read.

- SQLite (the default): one file, `GPTVIZ_ROOMS_DB` (default data/rooms.sqlite3), in WAL mode
  so that the replicas on one machine read while one writes; a write takes the lock at BEGIN
  (BEGIN IMMEDIATE), so a check such as "room not full" and the insert after it are one step.
- PostgreSQL when `GPTVIZ_ROOMS_URL` is set (postgresql://user:pass@host/db): several machines
  share it. A join locks its room's row (SELECT ... FOR UPDATE) for the same reason.

Every method raises a RoomError subclass with a sentence for the page, also when the database
is down (StoreUnavailable) or read-only (StoreReadOnly); nothing else escapes. The clock is
injected (seconds since the epoch), so tests move time instead of waiting.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    SQLAlchemyError,
)

from gptviz.config import ConfigError, RoomLimits
from gptviz.i18n import _
from gptviz.rooms import schema
from gptviz.rooms.errors import (
    NameTaken,
    NotMember,
    NotTeacher,
    PostingTooFast,
    RoomClosed,
    RoomError,
    RoomExpired,
    RoomFull,
    RoomNotFound,
    StoreReadOnly,
    StoreUnavailable,
    TooManyRuns,
)
from gptviz.rooms.names import clean_code, clean_name, name_key, new_code
from gptviz.rooms.records import Membership, Room, RoomRun, RunPost, TeacherKey, checked

log = logging.getLogger(__name__)

DEFAULT_DB = Path(__file__).resolve().parents[2] / "data" / "rooms.sqlite3"
CONNECT_TIMEOUT_S = 5  # a database that does not answer: the page says so after this long
SQLITE_BUSY_MS = 10_000  # how long a writer waits for another replica's write
Clock = Callable[[], float]


def store_url(environ: Mapping[str, str] = os.environ) -> str:
    """The database the app uses: GPTVIZ_ROOMS_URL if set, else the SQLite file
    GPTVIZ_ROOMS_DB (default data/rooms.sqlite3 in the repository)."""
    url = environ.get("GPTVIZ_ROOMS_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{environ.get('GPTVIZ_ROOMS_DB') or DEFAULT_DB}"


def limits_from_env(environ: Mapping[str, str] = os.environ) -> RoomLimits:
    """RoomLimits, with GPTVIZ_ROOM_HOURS and GPTVIZ_ROOM_SIZE where set (ConfigError if bad)."""
    kw: dict[str, float | int] = {}
    try:
        if environ.get("GPTVIZ_ROOM_HOURS"):
            kw["room_hours"] = float(environ["GPTVIZ_ROOM_HOURS"])
        if environ.get("GPTVIZ_ROOM_SIZE"):
            kw["max_members"] = int(environ["GPTVIZ_ROOM_SIZE"])
    except ValueError:
        raise ConfigError("GPTVIZ_ROOM_HOURS must be a number and GPTVIZ_ROOM_SIZE a whole "
                          "number.") from None
    return RoomLimits(**kw).validate()  # type: ignore[arg-type]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _read_only(e: DBAPIError) -> bool:
    orig = e.orig
    sqlstate = getattr(orig, "sqlstate", None)
    return sqlstate in ("25006", "42501") or "readonly" in str(orig).replace("-", "").lower()


def make_engine(url: str) -> Engine:
    """An engine for `url`; postgresql:// URLs get the psycopg 3 driver."""
    try:
        u = make_url(url)
        if u.drivername in ("postgresql", "postgres"):
            u = u.set(drivername="postgresql+psycopg")
        if u.get_backend_name() == "sqlite":
            engine = create_engine(u, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
            _sqlite_setup(engine)
            return engine
        return create_engine(u, pool_pre_ping=True, pool_size=5, max_overflow=5,
                             connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    except (ArgumentError, NoSuchModuleError, ValueError) as e:
        raise StoreUnavailable(_("The class-room database address is not valid ({error}); set "
                                 "GPTVIZ_ROOMS_URL to postgresql://user:password@host/db or "
                                 "unset it for the built-in SQLite file.").format(
                                     error=type(e).__name__)) from None


def _sqlite_setup(engine: Engine) -> None:
    """WAL (readers beside a writer, across processes), and transactions that we begin
    ourselves: BEGIN IMMEDIATE for writes, so a check and its insert hold one lock."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # pysqlite's own BEGIN off: ours below
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
            cur.execute("PRAGMA foreign_keys = ON")
            try:
                cur.execute("PRAGMA journal_mode = WAL")
            except Exception:  # a read-only file: reads still work, writes say so
                log.warning("gptviz rooms: could not switch SQLite to WAL (read-only?)")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("gptviz_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class RoomStore:
    """Rooms, members and runs; see the module's docstring. Safe to share between sessions
    (the engine pools connections; nothing per user is kept in the object)."""

    def __init__(self, url: str | None = None, limits: RoomLimits | None = None,
                 clock: Clock = time.time) -> None:
        self.url = url or store_url()
        self.limits = (limits or RoomLimits()).validate()
        self.clock = clock
        self._engine: Engine | None = None
        self._ready = False
        self._lock = threading.Lock()
        if self.url == f"sqlite:///{DEFAULT_DB}":  # our own data dir; any other path is yours
            with suppress(OSError):  # else the connection fails: StoreUnavailable, on the page
                DEFAULT_DB.parent.mkdir(exist_ok=True)

    @property
    def backend(self) -> str:
        """"sqlite" or "postgresql"."""
        try:
            return make_url(self.url).get_backend_name()
        except ArgumentError:
            return "unknown"

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    # --- connections -------------------------------------------------------------------------
    @contextmanager
    def _tx(self, write: bool = False, clashes: bool = False) -> Iterator[Connection]:
        """A transaction, with every database error turned into a sentence; clashes: let an
        IntegrityError (a unique key taken meanwhile) through, for the caller to say why."""
        self._start()
        assert self._engine is not None
        try:
            with self._engine.connect() as conn:
                conn.execution_options(gptviz_write=write)
                with conn.begin():
                    yield conn
        except RoomError:
            raise
        except IntegrityError:
            if clashes:
                raise
            log.exception("gptviz rooms: unexpected integrity error")
            raise StoreUnavailable(_("The class-room database refused this change just now; "
                                     "it is tried again.")) from None
        except SQLAlchemyError as e:  # DBAPIError, a pool that timed out, ...
            raise self._down(e) from None

    def _down(self, e: SQLAlchemyError) -> StoreUnavailable:
        log.warning("gptviz rooms: database error: %s", getattr(e, "orig", e))
        if isinstance(e, DBAPIError) and _read_only(e):
            return StoreReadOnly(_("The class-room database is read-only just now: rooms can "
                                   "be looked at but not opened, joined or posted to."))
        return StoreUnavailable(_("The class-room database cannot be reached just now (it may "
                                  "be down or its address wrong); rooms are unavailable."))

    def _start(self) -> None:
        """Create the engine and the schema, once (again after a failure)."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            if self._engine is None:
                self._engine = make_engine(self.url)
            try:
                self._create_schema()
            except SQLAlchemyError as e:
                raise self._down(e) from None
            self._ready = True

    def _create_schema(self) -> None:
        assert self._engine is not None
        try:
            schema.metadata.create_all(self._engine)
        except DBAPIError as e:
            if _read_only(e):
                raise
            schema.metadata.create_all(self._engine)  # another replica created them meanwhile
        with self._engine.connect() as conn:
            conn.execution_options(gptviz_write=False)
            with conn.begin():
                found = conn.execute(select(func.max(schema.schema_version.c.version))).scalar()
        if found == schema.SCHEMA_VERSION:
            return
        if found is not None and found > schema.SCHEMA_VERSION:
            raise StoreUnavailable(_("The class-room database was made by a newer gptviz "
                                     "(schema {found}, this one knows {known}).").format(
                                         found=found, known=schema.SCHEMA_VERSION))
        with self._engine.connect() as conn:
            conn.execution_options(gptviz_write=True)
            with conn.begin():
                version = found or schema.SCHEMA_VERSION
                for v in range(version, schema.SCHEMA_VERSION):
                    for statement in schema.MIGRATIONS.get(v, []):
                        conn.exec_driver_sql(statement)
                conn.execute(schema.schema_version.delete())
                conn.execute(schema.schema_version.insert().values(
                    version=schema.SCHEMA_VERSION))

    def schema_version(self) -> int | None:
        with self._tx() as conn:
            return conn.execute(select(func.max(schema.schema_version.c.version))).scalar()

    # --- rooms -------------------------------------------------------------------------------
    def open_room(self) -> TeacherKey:
        """A new room with a fresh code; expired rooms are deleted first."""
        now = self.clock()
        token = secrets.token_urlsafe(24)
        for _attempt in range(20):  # 32^6 codes: a clash is rare, two in a row rarer still
            code = new_code()
            try:
                with self._tx(write=True, clashes=True) as conn:
                    self._purge(conn, now)
                    conn.execute(schema.rooms.insert().values(
                        code=code, teacher_token=_digest(token), created_at=now,
                        expires_at=now + self.limits.room_hours * 3600, closed=False))
                return TeacherKey(code, token)
            except IntegrityError:
                continue
        raise StoreUnavailable(_("No free room code was found; try again."))

    def _purge(self, conn: Connection, now: float) -> None:
        old = select(schema.rooms.c.id).where(schema.rooms.c.expires_at <= now)
        conn.execute(schema.runs.delete().where(schema.runs.c.room_id.in_(old)))
        conn.execute(schema.members.delete().where(schema.members.c.room_id.in_(old)))
        conn.execute(schema.rooms.delete().where(schema.rooms.c.expires_at <= now))

    def _room_row(self, conn: Connection, code: str, lock: bool = False):
        code = clean_code(code)
        q = select(schema.rooms).where(schema.rooms.c.code == code)
        row = conn.execute(q.with_for_update() if lock else q).first()
        if row is None:
            raise RoomNotFound(_("No room has the code {code}: check it on the teacher's "
                                 "screen (a room is gone once its teacher deletes it or it "
                                 "expires).").format(code=code))
        if row.expires_at <= self.clock():
            hours = self.limits.room_hours
            raise RoomExpired((_("Room {code} has expired (a room lasts {hours:g} hour): the "
                                 "teacher can open a new one.") if hours == 1 else
                               _("Room {code} has expired (a room lasts {hours:g} hours): the "
                                 "teacher can open a new one.")).format(code=code, hours=hours))
        return row

    def room(self, code: str) -> Room:
        """The room, also when closed; RoomNotFound / RoomExpired otherwise."""
        with self._tx() as conn:
            row = self._room_row(conn, code)
            n = conn.execute(select(func.count()).select_from(schema.members).where(
                schema.members.c.room_id == row.id)).scalar_one()
        return Room(row.code, row.created_at, row.expires_at, bool(row.closed), int(n))

    def _teacher_row(self, conn: Connection, key: TeacherKey):
        row = self._room_row(conn, key.code, lock=True)
        if not hmac.compare_digest(row.teacher_token, _digest(key.token)):
            raise NotTeacher(_("Only the teacher who opened this room can close or delete "
                               "it."))
        return row

    def close(self, key: TeacherKey) -> None:
        """No more joins or posts; the room stays readable until it expires or is deleted."""
        with self._tx(write=True) as conn:
            row = self._teacher_row(conn, key)
            conn.execute(schema.rooms.update().where(schema.rooms.c.id == row.id).values(
                closed=True))

    def delete(self, key: TeacherKey) -> None:
        """The room, its members and their runs, gone."""
        with self._tx(write=True) as conn:
            row = self._teacher_row(conn, key)
            conn.execute(schema.runs.delete().where(schema.runs.c.room_id == row.id))
            conn.execute(schema.members.delete().where(schema.members.c.room_id == row.id))
            conn.execute(schema.rooms.delete().where(schema.rooms.c.id == row.id))

    # --- members -----------------------------------------------------------------------------
    def join(self, code: str, name: str) -> Membership:
        """Join room `code` as `name` (plain text, unique in the room ignoring case)."""
        code = clean_code(code)
        name = clean_name(name, self.limits.max_name_chars)
        token = secrets.token_urlsafe(24)
        try:
            with self._tx(write=True, clashes=True) as conn:
                row = self._room_row(conn, code, lock=True)  # joins to one room queue here
                if row.closed:
                    raise RoomClosed(_("Room {code} is closed: the teacher is not taking new "
                                       "students.").format(code=code))
                taken = conn.execute(select(schema.members.c.id).where(
                    schema.members.c.room_id == row.id,
                    schema.members.c.name_key == name_key(name))).first()
                if taken is not None:
                    raise NameTaken(_("Someone in this room already has that name: add a "
                                      "letter or a number (after a reload, join again with a "
                                      "new name)."))
                n = conn.execute(select(func.count()).select_from(schema.members).where(
                    schema.members.c.room_id == row.id)).scalar_one()
                if n >= self.limits.max_members:
                    raise RoomFull(_("Room {code} is full ({n} students); ask the teacher to "
                                     "open a second room.").format(
                                         code=code, n=self.limits.max_members))
                conn.execute(schema.members.insert().values(
                    room_id=row.id, name=name, name_key=name_key(name), token=_digest(token),
                    joined_at=self.clock()))
        except IntegrityError:  # the same name joined in the same instant
            raise NameTaken(_("Someone in this room already has that name: add a letter or a "
                              "number.")) from None
        return Membership(code, name, token)

    # --- runs --------------------------------------------------------------------------------
    def post_run(self, member: Membership, post: RunPost) -> None:
        """Add or update the member's run `post.run_key` (its newest settings, curve and
        figures). PostingTooFast, TooManyRuns, RoomClosed, ... with their sentences."""
        values = checked(post, self.limits.curve_points)
        now = self.clock()
        with self._tx(write=True) as conn:
            room = self._room_row(conn, member.code)
            if room.closed:
                raise RoomClosed(_("Room {code} is closed: runs are no longer posted to "
                                   "it.").format(code=room.code))
            m = conn.execute(select(schema.members).where(
                schema.members.c.token == _digest(member.token),
                schema.members.c.room_id == room.id)).first()
            if m is None:
                raise NotMember(_("This session is not a member of room {code} any more: "
                                  "join it again on the Class room page.").format(
                                      code=room.code))
            gap = 1.0 / self.limits.posts_per_second
            if m.last_post_at is not None and now - m.last_post_at < gap:
                raise PostingTooFast(_("At most {n:g} post(s) a second per student: this one "
                                       "waits for the next.").format(
                                           n=self.limits.posts_per_second))
            existing = conn.execute(select(schema.runs.c.id).where(
                schema.runs.c.member_id == m.id,
                schema.runs.c.run_key == values["run_key"])).first()
            if existing is None:
                n = conn.execute(select(func.count()).select_from(schema.runs).where(
                    schema.runs.c.member_id == m.id)).scalar_one()
                if n >= self.limits.max_runs_per_member:
                    raise TooManyRuns(_("You have posted {n} runs to this room, the most one "
                                        "student may; new runs are not posted.").format(n=n))
                conn.execute(schema.runs.insert().values(
                    room_id=room.id, member_id=m.id, updated_at=now, **values))
            else:
                conn.execute(schema.runs.update().where(schema.runs.c.id == existing.id)
                             .values(updated_at=now, **values))
            conn.execute(schema.members.update().where(schema.members.c.id == m.id).values(
                last_post_at=now))

    def runs(self, code: str) -> list[RoomRun]:
        """Every run in the room, newest first."""
        r, m = schema.runs, schema.members
        with self._tx() as conn:
            room = self._room_row(conn, code)
            rows = conn.execute(select(r, m.c.name).join(m, m.c.id == r.c.member_id)
                                .where(r.c.room_id == room.id)
                                .order_by(r.c.updated_at.desc(), r.c.id)).all()
        return [RoomRun(run_id=row.id, name=row.name, page=row.page,
                        task_ident=row.task_ident, task_label=row.task_label,
                        settings={str(k): str(v) for k, v in dict(row.settings).items()},
                        curve_name=row.curve_name,
                        curve=[(int(s), float(v)) for s, v in row.curve], steps=row.steps,
                        train_loss=row.train_loss, val_loss=row.val_loss,
                        accuracy=row.accuracy, updated_at=row.updated_at) for row in rows]
