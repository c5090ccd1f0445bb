"""The checked errors of the room store: each carries one sentence meant for the page.

A page catches RoomError, shows str(e) as text and goes on; nothing here is a traceback.
The sentences never repeat what a user typed (it could be markup or a wall of text), except a
room code that passed the code check (six characters of the code alphabet).
"""

from __future__ import annotations


class RoomError(Exception):
    """Something a room cannot do, said in one sentence for the page."""


class BadCode(RoomError):
    """The text typed is not a room code at all."""


class RoomNotFound(RoomError):
    """No room has this code (never had one, or it was deleted)."""


class RoomExpired(RoomError):
    """The room's time is up."""


class RoomClosed(RoomError):
    """The teacher closed the room: it can be looked at, not joined or posted to."""


class NotTeacher(RoomError):
    """Only the teacher's token closes or deletes a room."""


class BadName(RoomError):
    """A display name that is empty, too long, or not plain text."""


class NameTaken(RoomError):
    """Another student in the room has this name (ignoring case)."""


class NotMember(RoomError):
    """A member token the room does not know (the student left, or the room was deleted)."""


class RoomFull(RoomError):
    """The room has as many students as RoomLimits.max_members."""


class TooManyRuns(RoomError):
    """The student has posted RoomLimits.max_runs_per_member runs."""


class PostingTooFast(RoomError):
    """More than RoomLimits.posts_per_second posts from one student."""


class BadRun(RoomError):
    """A posted run that is malformed (not finite numbers, settings that are not text)."""


class StoreUnavailable(RoomError):
    """The database cannot be reached (down, a wrong address, a file that cannot be opened)."""


class StoreReadOnly(StoreUnavailable):
    """The database can be read but not written."""
