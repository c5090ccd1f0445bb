"""Page pieces that make a training page a live instrument a class can watch.

- `view_mode(key, controls)`: presenter mode (`?present=1`, or the toggle) and a locked demo
  (`?hide=name,name`: the named controls are not drawn), read once per session from the URL;
- `compact_page(mode)`: the page's CSS: less padding so the controls and the live figures share
  one 1280x720 screen, larger type in presenter mode;
- `timeline_slider(run, key)`: replay a run at any recorded step, with a play button.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from gptviz.i18n import N_, _

if TYPE_CHECKING:  # the home page imports this module and must draw without torch
    from gptviz.live import LiveRun

PRESENT_FONT_SCALE = 1.35  # figure text in presenter mode, against the normal size
PLAY_SECONDS = 0.3  # one frame of the timeline's replay


@dataclass(frozen=True)
class ViewMode:
    present: bool  # presenter mode: larger type, sidebar collapsed, explanations hidden
    hidden: frozenset[str]  # controls a locked-demo link hides

    def shows(self, name: str) -> bool:
        return name not in self.hidden

    @property
    def font_scale(self) -> float:
        return PRESENT_FONT_SCALE if self.present else 1.0


def view_mode(key: str, controls: Mapping[str, str]) -> ViewMode:
    """This page's presenter mode and hidden controls (`controls`: name -> what it hides,
    marked with N_: shown translated).

    From the URL once per session (`?present=1`, `?hide=a,b`), then from the presenter toggle.
    A hide list naming nothing real is reported by listing the names that exist, never by
    echoing what the link said.
    """
    flag = f"{key}_view_from_url"
    if flag not in st.session_state:
        st.session_state[flag] = True
        present = st.query_params.get("present", "") in ("1", "true", "yes")
        st.session_state[f"{key}_present"] = present
        asked = [n.strip() for n in st.query_params.get("hide", "").split(",") if n.strip()]
        known = [n for n in asked if n in controls]
        st.session_state[f"{key}_hidden"] = frozenset(known)
        if len(known) < len(asked):
            st.session_state[f"{key}_hide_warning"] = True
    if st.session_state.pop(f"{key}_hide_warning", False):
        names = _(", ").join(_("`{name}` ({what})").format(name=n, what=_(what))
                             for n, what in controls.items())
        st.warning(_("The link asked to hide something this page does not have; it can hide: "
                     "{names}.").format(names=names), icon=":material/link_off:")
    return ViewMode(bool(st.session_state.get(f"{key}_present")),
                    st.session_state.get(f"{key}_hidden", frozenset()))


def presenter_toggle(key: str) -> None:
    st.toggle(_("Presenter"), key=f"{key}_present",
              help=_("Larger type for a projector; the sidebar folds away and the explanations "
                     "hide. Or open the page with ?present=1."))


def compact_page(mode: ViewMode) -> None:
    """Less padding around the page, so the controls and the live figures fit one screen."""
    if mode.present:
        st.set_page_config(initial_sidebar_state="collapsed")
    size = "1.25rem" if mode.present else "1rem"
    # The sidebar folded away (presenter mode): the header's white band would hide the title;
    # clear it (transparent), let clicks through it, and move the title right of the unfold
    # button. (Comments here, not in the CSS: the page's text is checked for English words.)
    st.html(f"""<style>
      [data-testid="stMainBlockContainer"] {{ padding-top: 1.2rem; padding-bottom: 2rem;
        padding-left: 2rem; padding-right: 2rem; }}
      [data-testid="stMainBlockContainer"] h1 {{ font-size: 2rem; padding-top: 0;
        padding-bottom: 0.2rem; }}
      [data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] button
        {{ font-size: {size}; }}
      [data-testid="stHeader"] {{ background: transparent; height: 2.5rem;
        pointer-events: none; }}
      [data-testid="stHeader"] button, [data-testid="stHeader"] a {{ pointer-events: auto; }}
      .stApp:has([data-testid="stExpandSidebarButton"]) [data-testid="stMainBlockContainer"] h1
        {{ padding-left: 2.2rem; }}
    </style>""")


def timeline_slider(run: LiveRun, key: str, target: int) -> int | None:
    """A slider over the run's steps (0 to the training target) and a play button.

    Returns the step to show, or None to follow training live. A step past what was recorded
    shows the last recorded frame with a note (training has not got there yet).
    """
    recorded = run.timeline.recorded()
    if len(recorded) < 2:
        return None
    end = max(target, recorded[-1])
    c1, c2, c3 = st.columns([1.3, 1, 6], vertical_alignment="bottom")
    replay = c1.toggle(_("Replay"), key=f"{key}_replay",
                       help=_("Go back to any step of this run: the graph, the attention and "
                              "the table as they were then. Training goes on meanwhile."))
    if not replay:
        return None
    if st.session_state.get(f"{key}_tstep", 0) > end:
        st.session_state[f"{key}_tstep"] = end
    playing = st.session_state.get(f"{key}_playing", False)
    c2.button(_("Pause") if playing else _("Play"), icon=":material/pause:" if playing
              else ":material/play_arrow:", key=f"{key}_play", on_click=_toggle_play,
              args=(key, recorded))
    step = c3.slider(_("Step"), 0, end, key=f"{key}_tstep")
    return int(step)


def _toggle_play(key: str, recorded: list[int]) -> None:
    playing = not st.session_state.get(f"{key}_playing", False)
    st.session_state[f"{key}_playing"] = playing
    if playing and st.session_state.get(f"{key}_tstep", 0) >= recorded[-1]:
        st.session_state[f"{key}_tstep"] = 0  # from the start again


def advance_play(run: LiveRun, key: str) -> None:
    """One frame of the replay (called by the live fragment while playing)."""
    if not st.session_state.get(f"{key}_playing"):
        return
    recorded = run.timeline.recorded()
    now = st.session_state.get(f"{key}_tstep", 0)
    later = [s for s in recorded if s > now]
    if later:
        st.session_state[f"{key}_tstep"] = later[0]
    else:
        st.session_state[f"{key}_playing"] = False


LIVE_PAGES = N_("Baby GPT, Train on text, Sorting & addition and GPT-1")  # shown: _(LIVE_PAGES)


def no_live_view_here() -> None:
    """On a page that trains nothing live: say what a presenter-mode or locked-demo link does
    (nothing here), instead of ignoring it silently."""
    asked = [k for k in ("present", "hide") if k in st.query_params]
    if asked and not st.session_state.get("gptviz_view_note_shown"):
        st.session_state["gptviz_view_note_shown"] = True
        st.info(_("Presenter mode and locked demos are for the pages that train live "
                  "({pages}); this page shows as usual.").format(pages=_(LIVE_PAGES)),
                icon=":material/info:")
