"""Class rooms: a teacher opens a room, students join with its code and a display name, and
their training pages post each run (settings, a thinned loss curve, final figures; never the
model) to a shared leaderboard. A library: no Streamlit here (the page is pages/class_room.py).
"""

from gptviz.rooms.errors import (
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
    StoreReadOnly,
    StoreUnavailable,
    TooManyRuns,
)
from gptviz.rooms.names import CODE_ALPHABET, CODE_LENGTH, clean_code, clean_name
from gptviz.rooms.records import Membership, Room, RoomRun, RunPost, TeacherKey, thin
from gptviz.rooms.store import RoomStore, limits_from_env, store_url

__all__ = ["BadCode", "BadName", "BadRun", "CODE_ALPHABET", "CODE_LENGTH", "Membership",
           "NameTaken", "NotMember", "NotTeacher", "PostingTooFast", "Room", "RoomClosed",
           "RoomError", "RoomExpired", "RoomFull", "RoomNotFound", "RoomRun", "RoomStore",
           "RunPost", "StoreReadOnly", "StoreUnavailable", "TeacherKey", "TooManyRuns",
           "clean_code", "clean_name", "limits_from_env", "store_url", "thin"]
