"""Class room: a teacher opens a room, students join with its code, every run on one board.

The teacher's screen shows the code large (for a projector) with a QR code of the join link;
students type the code and a display name, then train on Baby GPT, Train on text or Sorting &
addition, which post their runs here (pages/_room.py). The board redraws every few seconds.
The store is gptviz/rooms; every refusal is its sentence, shown as text.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode, urlsplit

import segno
import streamlit as st

from gptviz.i18n import N_, _, ngettext
from gptviz.live.runs import escape_markdown
from gptviz.rooms import RoomError, RoomExpired, RoomNotFound, clean_code, clean_name
from gptviz.rooms.board import Board, boards
from gptviz.viz.room import room_figure
from pages._entry import enter_through_app  # noqa: E402
from pages._instrument import no_live_view_here
from pages._live import live_seconds
from pages._room import MEMBER_KEY, TEACHER_KEY, forget_problems, member, room_store, teacher

enter_through_app()
no_live_view_here()

P = "room"
PAGE = "class_room"
CHART_RUNS = 20  # curves drawn per chart (the best ones): more is a tangle, and slow to send
REFRESH_SECONDS = 3.0  # the board redraws this often (longer while a large class trains here)
PAGES = {"baby_gpt": N_("Baby GPT"), "text_model": N_("Train on text"),
         "tasks": N_("Sorting & addition")}
CODE_CSS = """<style>
.gptviz-room-code {font: 700 7.5rem/1.05 ui-monospace, 'DejaVu Sans Mono', monospace;
  letter-spacing: 0.12em; color: #111827; margin: 0.1em 0 0.2em 0; white-space: nowrap;}
</style>"""


def _shown(name: str) -> str:
    """A measure's or curve's name as posted (English, the same for every student) in this
    run's language; names the catalogue does not have stay as they are."""
    return _(name) if name else name


def _note(text: str, kind: str = "error") -> None:
    st.session_state[f"{P}_note"] = (kind, text)


def _show_note() -> None:
    note = st.session_state.pop(f"{P}_note", None)
    if note:
        kind, text = note
        {"error": st.error, "success": st.success, "info": st.info}[kind](escape_markdown(text))


def page_url(page: str, params: dict[str, str]) -> str:
    """The address of another page of this app, with query parameters: st.context.url is this
    page's address as the browser has it (behind a proxy path too), without its query."""
    base = (st.context.url or "").removesuffix(f"/{PAGE}")
    return f"{base}/{page}" + (f"?{urlencode(params)}" if params else "")


# --- actions (button callbacks) --------------------------------------------------------------
def open_room() -> None:
    try:
        st.session_state[TEACHER_KEY] = room_store().open_room()
    except RoomError as e:
        _note(str(e))


def join_room() -> None:
    code = st.session_state.get(f"{P}_code", "")
    name = st.session_state.get(f"{P}_name", "")
    try:
        st.session_state[MEMBER_KEY] = room_store().join(code, name)
    except RoomError as e:
        _note(str(e))
        return
    forget_problems()
    _note(_("You joined room {code}.").format(code=st.session_state[MEMBER_KEY].code), "success")


def close_room() -> None:
    key = teacher()
    if key is None:
        return
    try:
        room_store().close(key)
        _note(_("Room {code} is closed: nobody can join or post; the board stays.").format(
            code=key.code), "info")
    except RoomError as e:
        _note(str(e))


def delete_room() -> None:
    key = teacher()
    if key is None:
        return
    if not st.session_state.get(f"{P}_confirm"):
        _note(_("Tick 'Yes, delete this room and every run in it' first."))
        return
    try:
        room_store().delete(key)
    except (RoomNotFound, RoomExpired):
        pass  # gone already: the same outcome
    except RoomError as e:
        _note(str(e))
        return
    st.session_state.pop(TEACHER_KEY, None)
    st.session_state[f"{P}_confirm"] = False
    _note(_("Room {code} and its runs are deleted.").format(code=key.code), "info")


def leave(key: str) -> None:
    st.session_state.pop(key, None)


# --- views -----------------------------------------------------------------------------------
def entry() -> None:
    """Open a room (the teacher) or join one (a student)."""
    if f"{P}_code" not in st.session_state:  # a join link: ?room=CODE fills the code in
        st.session_state[f"{P}_code"] = str(st.query_params.get("room", ""))[:20]
    left, right = st.columns(2, gap="large")
    with left.container(border=True):
        st.subheader(_("Teachers"))
        st.write(_("Open a room and show its code to the class. Students' runs appear on its "
                   "board as they train."))
        st.button(_("Open a room"), icon=":material/meeting_room:", key=f"{P}_open",
                  on_click=open_room, type="primary")
    with right.container(border=True):
        st.subheader(_("Students"))
        st.text_input(_("Room code"), key=f"{P}_code", placeholder=_("e.g. K7Q3MA"))
        st.text_input(_("Your display name"), key=f"{P}_name",
                      placeholder=_("how the class sees you"),
                      help=_("Letters, digits, spaces and . - ' only; at most {n} "
                             "characters.").format(n=room_store().limits.max_name_chars))
        st.button(_("Join"), icon=":material/login:", key=f"{P}_join", on_click=join_room,
                  type="primary")
        typed_problems()


def typed_problems() -> None:
    """Say at once what is wrong with a typed code or name (Join says it again)."""
    limit = room_store().limits.max_name_chars
    for key, check in ((f"{P}_code", clean_code), (f"{P}_name", lambda n: clean_name(n, limit))):
        value = str(st.session_state.get(key) or "")
        if value.strip():
            try:
                check(value)
            except RoomError as e:
                st.error(escape_markdown(str(e)))


def code_panel(code: str) -> None:
    """The code in large type and a QR code of the join link, for the projector."""
    code = clean_code(code)  # the six characters of the code alphabet: safe in HTML below
    link = page_url(PAGE, {"room": code})
    left, right = st.columns([4, 1], vertical_alignment="center")
    with left:
        st.markdown(_("Join at **Class room** with the code"))
        st.html(f'{CODE_CSS}<div class="gptviz-room-code" data-testid="room-code">{code}</div>')
        st.code(link, language=None)
    with right:
        qr = segno.make(link, error="m")
        st.image(qr.svg_inline(scale=6, border=2), caption=_("Scan to join"), width=190)
    host = urlsplit(link).hostname or ""
    if host in ("localhost", "127.0.0.1", "::1"):
        st.warning(_("This link names this computer itself ({host}): students' devices "
                     "cannot reach it. Open the app at this computer's network address (such "
                     "as `http://192.168.1.20:8501`) and the link and QR code follow.").format(
                         host=host))


def teacher_controls(code: str, closed: bool) -> None:
    box = st.expander((_("Close or delete room {code} (closed)") if closed else
                       _("Close or delete room {code}")).format(code=code),
                      icon=":material/settings:")
    c1, c2, c3 = box.columns([1, 2, 1], vertical_alignment="center")
    c1.button(_("Close the room"), icon=":material/lock:", key=f"{P}_close",
              on_click=close_room, disabled=closed,
              help=_("Nobody can join or post any more; the board stays."))
    with c2:
        st.checkbox(_("Yes, delete this room and every run in it"), key=f"{P}_confirm")
        st.button(_("Delete the room"), icon=":material/delete:", key=f"{P}_delete",
                  on_click=delete_room)
    c3.button(_("Leave this view"), icon=":material/logout:", key=f"{P}_leave_teacher",
              on_click=leave, args=(TEACHER_KEY,),
              help=_("Back to the start. The room goes on until it expires, but this tab can "
                     "no longer close or delete it (neither can a reload: keep this tab "
                     "open)."))


def board_rows(board: Board) -> list[dict[str, str]]:
    """The board as table rows of text (escaped: st.table reads Markdown in cells)."""
    percent = board.measure == "held-out accuracy"
    rows, link = [], _("open")
    for s in board.standings:
        r = s.run
        score = "–" if s.score is None else (f"{100 * s.score:.1f}%" if percent
                                              else f"{s.score:.4f}")
        rows.append({_("rank"): "–" if s.rank is None else str(s.rank),
                     _("name"): escape_markdown(r.name), _shown(board.label): score,
                     _("steps"): f"{r.steps:,}",
                     _("settings"): f"[{link}]({page_url(r.page, r.settings)})"})
    return rows


def room_board(code: str) -> None:
    """The room's state, leaderboards and curves, redrawn every few seconds."""

    @st.fragment(run_every=live_seconds(True, base=REFRESH_SECONDS))
    def view() -> None:
        store = room_store()
        try:
            room = store.room(code)
            runs = store.runs(code)
        except RoomError as e:
            st.warning(escape_markdown(str(e)), icon=":material/groups:")
            return
        ends = dt.datetime.fromtimestamp(room.expires_at, dt.UTC).strftime("%H:%M UTC")
        state = (_("closed: no new students or posts") if room.closed else
                 _("open until {ends}").format(ends=ends))
        st.caption(_("Room {code} · {students} · {runs} · {state} · updated {time} UTC").format(
            code=room.code,
            students=ngettext("{n} student", "{n} students", room.members).format(
                n=room.members),
            runs=ngettext("{n} run", "{n} runs", len(runs)).format(n=len(runs)),
            state=state, time=f"{dt.datetime.now(dt.UTC):%H:%M:%S}"))
        if not runs:
            st.info(_("No runs yet: they appear here as soon as students train."))
        for i, b in enumerate(boards(runs)):
            where = _(PAGES[b.page]) if b.page in PAGES else b.page
            st.markdown("#### " + _("{page}: {task}").format(page=escape_markdown(where),
                                                            task=escape_markdown(b.task_label)))
            st.caption((_("Ranked by {measure} (higher is better). 'open' opens the run's "
                          "settings on its page (a share link: the same settings and seed).")
                        if b.higher_is_better else
                        _("Ranked by {measure} (lower is better). 'open' opens the run's "
                          "settings on its page (a share link: the same settings and seed)."))
                       .format(measure=_shown(b.label)))
            left, right = st.columns([2, 3])
            left.table(board_rows(b), hide_index=True)
            drawn = b.standings[:CHART_RUNS]
            curves = [(s.run.name, s.run.curve) for s in drawn]
            names = {s.run.curve_name for s in b.standings}
            y = _shown(names.pop()) if len(names) == 1 else _("loss (nats)")
            title = (_("Every run: {y}").format(y=y) if len(drawn) == len(b.standings)
                     else _("The best {n} of {total} runs: {y}").format(
                         n=len(drawn), total=len(b.standings), y=y))
            right.plotly_chart(room_figure(curves, title=title, y_title=y),
                               key=f"{P}_chart_{i}", theme=None)

    view()


def student_view(who) -> None:
    st.markdown(_("You are in room **{code}** as").format(code=who.code))
    st.text(who.name)
    st.write(_("Train on {pages} (in the sidebar): each run you train there is posted to this "
               "room's board (its settings, its loss curve and its final figures; never your "
               "model). Stay in this tab: a reload leaves the room.").format(
                   pages=_(", ").join(_(p) for p in PAGES.values())))
    st.button(_("Leave the room"), icon=":material/logout:", key=f"{P}_leave", on_click=leave,
              args=(MEMBER_KEY,))


# --- the page --------------------------------------------------------------------------------
st.title(_("Class room"))
_show_note()
key, who = teacher(), member()
if key is not None:
    try:
        closed = room_store().room(key.code).closed
    except RoomError as e:
        st.warning(escape_markdown(str(e)))
        closed = True
    if st.toggle(_("Show the join code"), value=True, key=f"{P}_show_code",
                 help=_("Off: the board takes the screen (the code stays in the caption "
                        "below).")):
        code_panel(key.code)
    teacher_controls(key.code, closed)
    room_board(key.code)
elif who is not None:
    student_view(who)
    room_board(who.code)
else:
    entry()
st.caption(_("Rooms last {hours:g} hours and hold at most {members} students, {runs} runs "
             "each. A run's model is never posted: only its settings, its loss curve and its "
             "final figures.").format(hours=room_store().limits.room_hours,
                                      members=room_store().limits.max_members,
                                      runs=room_store().limits.max_runs_per_member))
