"""Warn before a reload or a closed tab throws away a model this session trained.

A model lives in the server's session: a reload (F5) or a closed tab starts a new session with
nothing in it. While this session holds a model with steps trained (or one training now), the
browser asks before leaving (its own `beforeunload` dialog; browsers show their own words and
only after the user has interacted with the page). Pressing a "Download model" button counts as
saved until the step counts change. st.html does not run scripts in Streamlit 1.67, so this is
an inline component of `st.components.v2` (no iframe, nothing fetched), mounted in app.py.
"""

from __future__ import annotations

import streamlit as st

from pages._live import available_models

GUARD_JS = """
export default function (component) {
  const steps = Number((component.data || {}).steps || 0);
  const w = window;
  w.__gptvizSteps = steps;
  // it draws nothing: take its slot out of the page's layout (no gap above the title)
  const slot = component.parentElement && component.parentElement.closest(
    "[data-testid='stElementContainer']");
  if (slot) slot.style.display = "none";
  if (!w.__gptvizUnload) {
    w.__gptvizSaved = -1;
    // a click on a Download model button (English or Chinese): saved, until the step counts change
    document.addEventListener("click", (e) => {
      const b = e.target.closest && e.target.closest("[data-testid='stDownloadButton']");
      if (b && /Download model|下载模型/.test(b.textContent)) w.__gptvizSaved = w.__gptvizSteps;
    }, true);
    w.__gptvizUnload = (e) => {
      if (w.__gptvizSteps > 0 && w.__gptvizSaved !== w.__gptvizSteps) {
        e.preventDefault();
        e.returnValue = "";  // the browser shows its own question
      }
    };
    w.addEventListener("beforeunload", w.__gptvizUnload);
  }
}
"""

_guard = st.components.v2.component("gptviz_unload_guard", js=GUARD_JS, isolate_styles=False)


def unsaved_steps() -> int:
    """Steps trained by this session's models (one that is training counts at least one)."""
    total = 0
    for run in available_models().values():
        total += max(run.trainer.step_count, 1 if run.running else 0)
    return total


def unload_guard() -> None:
    """Call in app.py before the page runs: arm (or disarm) the browser's reload warning."""
    _guard(data={"steps": unsaved_steps()}, key="gptviz_unload_guard")
