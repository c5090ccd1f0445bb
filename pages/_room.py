"""The class room's page pieces: the shared store, this session's room, and posting a run.

A training page that can post to a room calls, once, after its training buttons:

    post_to_room(P, run, SPECS)               # (task_label=..., train_name=...) where needed

When this session has joined a room (pages/class_room.py), a small fragment posts the run
(its share link's settings, one loss curve thinned by the store, its final figures; never the
model) every POST_SECONDS while it trains and once more after it stops. When the database is
down or read-only the page keeps training and says so in one warning; it tries again every
RETRY_SECONDS. A room that closed, expired or was deleted ends the membership, with a note.
"""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import streamlit as st
from streamlit.logger import get_logger

from gptviz.config import ConfigError
from gptviz.i18n import N_, _
from gptviz.live import LiveRun, Snapshot
from gptviz.live.runs import escape_markdown, task_key
from gptviz.rooms import (
    Membership,
    NotMember,
    PostingTooFast,
    RoomClosed,
    RoomError,
    RoomExpired,
    RoomNotFound,
    RoomStore,
    RunPost,
    StoreUnavailable,
    TeacherKey,
    TooManyRuns,
    limits_from_env,
)
from gptviz.urlparams import Param, encode_params
from pages._live import memo

MEMBER_KEY = "gptviz_room_member"  # the Membership of this session (a student)
TEACHER_KEY = "gptviz_room_teacher"  # the TeacherKey of a room this session opened
POSTS_KEY = "gptviz_room_posts"
POST_SECONDS = 2.0  # while training, a run is posted this often (the store allows 1 a second)
RETRY_SECONDS = 30.0  # a database that was down is tried again this often
ENDED = (RoomClosed, RoomExpired, RoomNotFound, NotMember)  # the membership is over

_log = get_logger(__name__)


@st.cache_resource(show_spinner=False)
def room_store() -> RoomStore:
    """One store (a connection pool) for the whole server: it holds no user's data."""
    try:
        limits = limits_from_env()
    except ConfigError as e:
        _log.warning("gptviz rooms: %s Using the default limits.", e)
        limits = None
    return RoomStore(limits=limits)


def forget_problems() -> None:
    """A new membership: the notes about the last one go (they stay until then)."""
    st.session_state.pop(POSTS_KEY, None)


def member() -> Membership | None:
    return st.session_state.get(MEMBER_KEY)


def teacher() -> TeacherKey | None:
    return st.session_state.get(TEACHER_KEY)


@dataclass
class _PostState:
    """What this session posted, per page."""

    keys: weakref.WeakKeyDictionary  # LiveRun -> its run key in the room
    posted: dict[str, int]  # run key -> the step last posted
    last_try: float = 0.0
    problem: str | None = None  # a sentence while posting does not work
    down: bool = False  # the database was unavailable: try again after RETRY_SECONDS
    stopped: set[str] = field(default_factory=set)  # run keys refused for good (too many runs)


def _state(page: str) -> _PostState:
    posts = st.session_state.setdefault(POSTS_KEY, {})
    if page not in posts:
        posts[page] = _PostState(weakref.WeakKeyDictionary(), {})
    return posts[page]


def run_post(page: str, run_key: str, snap: Snapshot, run: LiveRun,
             settings: Mapping[str, str], task_label: str | None, train_name: str) -> RunPost:
    """The RunPost of a snapshot: the validation curve where there is one, else the
    evaluations' training loss, else the batch losses."""
    evals = snap.evals
    val = [(e.step, e.val_loss) for e in evals if e.val_loss is not None]
    train = [(e.step, e.train_loss) for e in evals]
    acc = [e.metrics["accuracy"] for e in evals if "accuracy" in e.metrics]
    if val:
        curve, name = val, N_("validation loss")  # posted in English: the board translates
    elif train:
        curve, name = train, train_name
    else:
        curve, name = list(zip(snap.steps, snap.losses, strict=True)), N_("batch loss")
    task = run.trainer.task
    key = memo(f"{page}_room_task", (id(task), task_label), lambda: task_key(task, task_label))
    return RunPost(run_key=run_key, page=page, task_ident=key.ident, task_label=key.label,
                   settings=settings, curve_name=name, curve=curve, steps=snap.step,
                   train_loss=train[-1][1] if train else (snap.losses[-1] if snap.losses
                                                           else None),
                   val_loss=val[-1][1] if val else None, accuracy=acc[-1] if acc else None)


def _try_post(page: str, run: LiveRun, specs: Mapping[str, Param], task_label: str | None,
              train_name: str, who: Membership) -> None:
    state = _state(page)
    key = state.keys.get(run)
    if key is None:
        key = state.keys[run] = uuid.uuid4().hex
    snap = run.snapshot()
    if not snap.step or state.posted.get(key) == snap.step or key in state.stopped:
        return
    now = time.monotonic()
    wait = RETRY_SECONDS if state.down else POST_SECONDS
    if now - state.last_try < wait:
        return
    state.last_try = now
    values = {k: st.session_state[k] for k in specs if k in st.session_state}
    try:
        room_store().post_run(who, run_post(page, key, snap, run, encode_params(values, specs),
                                            task_label, train_name))
    except PostingTooFast:
        return  # another page of this session posted a moment ago: the next tick
    except StoreUnavailable as e:
        state.down, state.problem = True, _(
            "{error} Your model is fine and keeps training here; this run is posted to room "
            "{code} when the database is back.").format(error=e, code=who.code)
        return
    except TooManyRuns as e:
        state.stopped.add(key)
        state.problem = _("{error} Your model is fine and keeps training here.").format(
            error=e)
        return
    except ENDED as e:
        st.session_state.pop(MEMBER_KEY, None)
        state.problem = _("{error} You have left the room; this page works as before.").format(
            error=e)
        return
    except RoomError as e:  # a run the store refuses (a diverged loss): this post only
        state.problem = str(e)
        return
    state.posted[key] = snap.step
    state.down, state.problem = False, None


def post_to_room(page: str, run: LiveRun, specs: Mapping[str, Param], *,
                 task_label: str | None = None, train_name: str = N_("training loss")) -> None:
    """Post `run` to this session's room while it trains (see the module's docstring).
    page: this page's file stem ("baby_gpt"): the room links each run to it."""
    if member() is None:
        earlier = st.session_state.get(POSTS_KEY, {}).get(page)
        if earlier is None or earlier.problem is None:
            return  # not in a room, and nothing to say about one
    state = _state(page)
    key = state.keys.get(run)
    step = run.snapshot().step
    unposted = step > 0 and (key is None or state.posted.get(key) != step) and (
        key not in state.stopped)
    ticking = member() is not None and (run.running or unposted)  # idle and posted: no ticks

    @st.fragment(run_every=POST_SECONDS if ticking else None)
    def poster() -> None:
        who = member()
        if who is not None:
            _try_post(page, run, specs, task_label, train_name, who)
        if state.problem:
            st.warning(escape_markdown(state.problem), icon=":material/groups:")
        if who is not None:
            posted = state.posted.get(state.keys.get(run, ""))
            st.caption((_("Class room {code}: posting this run as {name} (step {step:,} "
                          "posted).") if posted else
                        _("Class room {code}: posting this run as {name}.")).format(
                            code=who.code, name=escape_markdown(who.name), step=posted or 0))

    poster()
