"""Tell a student when the server they trained on went away.

A Streamlit session lives in one server process. When that process ends (a restart, a crash,
the out-of-memory killer, or with replicas behind nginx one replica going down), the open tab
reconnects by itself, to a new process or another replica, and gets a new, empty session: the
model it trained is gone, and the page shows Step 0 as if nothing had happened. The tab still
holds its widgets' values and sends them with its first run in the new session (the student's
next click), which a tab opened afresh never does; that is how the page tells the two apart.

Streamlit 1.67's tab does not rerun by itself on reconnecting, so without help the note would
wait for the student's next click. A small inline component (`st.components.v2`, no iframe,
nothing fetched) watches the tab's connection state and, when the tab is connected again after
losing its server, asks for one rerun unless the tab ran the script by itself within 1.5 s (it
does while a live view ticks): the note shows at once. After a brief network drop to
the same server the session is still there, the rerun finds it seen, and nothing is shown.
"""

from __future__ import annotations

import streamlit as st

from gptviz.i18n import N_, _

SEEN = "gptviz_session_seen"
RESTART_NOTE = N_("**The server restarted** (or this tab was moved to another server): the "
                "model this tab trained before is gone. Training starts again from a new "
                "model, with your settings; press **Train** to go on. If you were uploading a "
                "file just then, it did not arrive: upload it again.")
RESTART_TOAST = N_("This tab's model is gone: its server went away (see the top of the page).")

WATCH_JS = """
export default function (component) {
  const w = window;
  w.__gptvizReconnect = component;  // the latest instance sends the rerun
  // it draws nothing: take its slot out of the page's layout
  const slot = component.parentElement && component.parentElement.closest(
    "[data-testid='stElementContainer']");
  if (slot) slot.style.display = "none";
  const app = document.querySelector("[data-testid='stApp']");
  if (w.__gptvizWatch || !app) return;
  let lost = false, ran = false;
  // a script run after the reconnection: Streamlit's tab asks for one itself while a live view
  // ticks; then a second rerun from here would only wipe the first one's notes
  new MutationObserver((changes) => {
    if (changes.some((c) => c.target.getAttribute("data-test-script-state") === "running")) {
      ran = true;
    }
  }).observe(app, {attributes: true, subtree: true, attributeFilter: ["data-test-script-state"]});
  w.__gptvizWatch = new MutationObserver(() => {
    const state = app.getAttribute("data-test-connection-state");
    if (state !== "CONNECTED") {
      lost = true;
    } else if (lost) {
      lost = false;
      ran = false;
      setTimeout(() => {
        if (!ran) w.__gptvizReconnect.setTriggerValue("reconnected", Date.now());
      }, 1500);
    }
  });
  w.__gptvizWatch.observe(app, {attributes: true,
                                attributeFilter: ["data-test-connection-state"]});
}
"""

_watch = st.components.v2.component("gptviz_reconnect_watch", js=WATCH_JS,
                                    isolate_styles=False)


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
    came_back = SEEN not in st.session_state and _client_sent_widget_values()
    st.session_state[SEEN] = True
    # after the check: the watcher is itself a widget, and registers a value in this run
    _watch(key="gptviz_reconnect_watch", on_reconnected_change=lambda: None)
    if came_back:
        st.warning(_(RESTART_NOTE), icon=":material/restart_alt:")
        # and in the corner, for a student scrolled down to the uploader or the figures
        st.toast(_(RESTART_TOAST), icon=":material/restart_alt:")
