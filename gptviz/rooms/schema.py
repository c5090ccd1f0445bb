"""The room store's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Times are seconds since the epoch (a float from the store's clock, so tests can move time).
Tokens are stored as SHA-256 digests only: a leaked database cannot close a room.
A run's model is never stored: its settings (the share link's parameters), a thinned curve and
its final figures are.

Migrations: `schema_version` holds one row, the version these tables were made at. The store
creates missing tables on start (create_all never alters an existing one), then upgrades an
older version step by step with MIGRATIONS (version n -> the statements that make n + 1), and
refuses a database made by a newer gptviz instead of guessing.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

SCHEMA_VERSION = 1
MIGRATIONS: dict[int, list[str]] = {}  # e.g. {1: ["ALTER TABLE runs ADD COLUMN note TEXT"]}

CODE_CHARS = 6
NAME_CHARS = 100  # the column; RoomLimits.max_name_chars is the rule
TOKEN_HASH_CHARS = 64  # hex SHA-256

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
)

rooms = Table(
    "rooms", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(CODE_CHARS), nullable=False, unique=True),
    Column("teacher_token", String(TOKEN_HASH_CHARS), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
    Column("closed", Boolean, nullable=False, default=False),
)

members = Table(
    "members", metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(NAME_CHARS), nullable=False),
    Column("name_key", String(4 * NAME_CHARS), nullable=False),  # casefold can lengthen it
    Column("token", String(TOKEN_HASH_CHARS), nullable=False, unique=True),
    Column("joined_at", Double, nullable=False),
    Column("last_post_at", Double, nullable=True),
    UniqueConstraint("room_id", "name_key", name="uq_member_name"),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("member_id", Integer, ForeignKey("members.id", ondelete="CASCADE"),
           nullable=False),
    Column("run_key", String(64), nullable=False),  # the poster's own id for the run
    Column("page", String(40), nullable=False),  # the page file's stem: "baby_gpt"
    Column("task_ident", String(200), nullable=False),  # equal: the runs are comparable
    Column("task_label", String(200), nullable=False),
    Column("settings", JSON, nullable=False),  # the share link's parameters, name -> text
    Column("curve_name", String(60), nullable=False),  # "validation loss"
    Column("curve", JSON, nullable=False),  # [[step, value], ...], thinned
    Column("steps", Integer, nullable=False),
    Column("train_loss", Double, nullable=True),
    Column("val_loss", Double, nullable=True),
    Column("accuracy", Double, nullable=True),  # held-out, 0 to 1
    Column("updated_at", Double, nullable=False),
    UniqueConstraint("member_id", "run_key", name="uq_member_run"),
)
