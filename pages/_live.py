"""Shared Streamlit pieces for pages that train a model live.

The training loop runs in gptviz.live.LiveRun's thread; these pieces only start, pause and
draw it. The page's own figures are drawn by a `draw(snapshot)` callback inside a fragment that
reruns a few times a second while training, and not at all when idle.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from gptviz.live import LiveRun, Snapshot

REFRESH_SECONDS = 0.5  # two redraws a second: smooth to watch, cheap for the trainer
MODELS_KEY = "gptviz_models"

STATUS_TEXT = {
    "idle": "Ready to train.",
    "queued": "Waiting for a free training slot (other users are training)…",
    "training": "Training…",
    "paused": "Paused.",
    "done": "Finished the requested steps.",
    "error": "Training stopped with an error.",
}


def register_model(label: str, run: LiveRun) -> None:
    """Offer this session's model to the other pages (generation, forward pass)."""
    if MODELS_KEY not in st.session_state:
        st.session_state[MODELS_KEY] = {}
    st.session_state[MODELS_KEY][label] = run


def available_models() -> dict[str, LiveRun]:
    return dict(st.session_state.get(MODELS_KEY, {}))


def training_buttons(run: LiveRun, steps: int, key: str, on_reset: Callable[[], None]) -> None:
    """Train/Pause, Step and Reset, side by side."""
    c1, c2, c3 = st.columns(3)
    if run.running:
        c1.button("Pause", icon=":material/pause:", key=f"{key}_pause", on_click=run.pause,
                  width="stretch", type="primary")
    else:
        c1.button(f"Train {steps:,} steps", icon=":material/play_arrow:", key=f"{key}_train",
                  on_click=run.start, args=(steps,), width="stretch", type="primary")
    c2.button("One step", icon=":material/skip_next:", key=f"{key}_step", on_click=run.step_once,
              width="stretch", help="Train exactly one step, then stop.")
    c3.button("Reset", icon=":material/restart_alt:", key=f"{key}_reset", on_click=on_reset,
              width="stretch", help="Throw the trained weights away and start from a fresh model.")


def status_line(snap: Snapshot) -> None:
    progress = min(1.0, snap.step / snap.target) if snap.target > 0 else 0.0
    rate = ""
    if snap.status == "training":
        # where it trains and how fast: the throughput a student can compare across devices
        rate = (f" · {snap.steps_per_second:,.0f} steps/s · "
                f"{snap.tokens_per_second:,.0f} tokens/s on {snap.device.upper()}")
    text = f"Step {snap.step:,}" + (f" of {snap.target:,}" if snap.target else "") + rate
    st.progress(progress, text=f"{STATUS_TEXT.get(snap.status, snap.status)} {text}")
    if snap.message:
        if snap.status == "error":
            st.error(snap.message)
        else:
            st.warning(snap.message)


def live_view(run: LiveRun, draw: Callable[[Snapshot], None]) -> None:
    """Draw `draw(snapshot)` now, and again every REFRESH_SECONDS while the run trains."""
    was_running = run.running

    @st.fragment(run_every=REFRESH_SECONDS if was_running else None)
    def _view() -> None:
        snap = run.snapshot()
        status_line(snap)
        draw(snap)
        if was_running and not run.running:
            st.rerun()  # finished: redraw the whole page once (buttons) and stop ticking

    _view()
