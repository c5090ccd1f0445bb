"""Tell a student when the server they trained on went away.

A Streamlit session lives in one server process. When that process ends (a restart, a crash,
the out-of-memory killer, or with replicas behind nginx one replica going down), the open tab
reconnects by itself, to a new process or another replica, and gets a new, empty session: the
model it trained is gone, and the page shows Step 0 as if nothing had happened. The tab still
holds its widgets' values and sends them with its first run in the new session (the student's
next click: Streamlit 1.67's tab does not rerun by itself on reconnecting), which a tab opened
afresh never does; that is how the page tells the two apart.
"""

from __future__ import annotations

import streamlit as st

SEEN = "gptviz_session_seen"
RESTART_NOTE = ("**The server restarted** (or this tab was moved to another server): the "
                "model this tab trained before is gone. Training starts again from a new "
                "model, with your settings; press **Train** to go on.")


def _client_sent_widget_values() -> bool:
    """Whether this run came with widget values from the browser (Streamlit internals: the
    widget states a run received; if they move, no note is shown rather than a wrong one)."""
    try:
        from streamlit.runtime.state import get_session_state

        return bool(get_session_state()._state._new_widget_state.states)
    except Exception:  # noqa: BLE001  a Streamlit whose internals differ
        return False


def restart_note() -> None:
    """Call in app.py before the page runs: on a session's first run, say so if the browser
    brought widget values from a session this server never had."""
    if SEEN in st.session_state:
        return
    st.session_state[SEEN] = True
    if _client_sent_widget_values():
        st.warning(RESTART_NOTE, icon=":material/restart_alt:")
