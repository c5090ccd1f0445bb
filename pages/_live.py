"""Shared Streamlit pieces for pages that train a model live.

The training loop runs in gptviz.live.LiveRun's thread; these pieces only start, pause and
draw it. The page's own figures are drawn by a `draw(snapshot)` callback inside a fragment that
reruns a few times a second while training, and not at all when idle.

Every training page also calls (see pages/baby_gpt.py):
- `page_defaults(...)` for its settings, and passes `persist_state="session"` to each widget,
  so the settings (and so the model they built) survive a switch to another page and back;
- `keep_run(key, identity, build)`: the page's run, rebuilt only when its identity (the
  architecture, the seed, ...) changes; offered to the other pages and guarded by
  `session_guard(job)`: training stops when the tab closes or the connection drops; the model
  stays in session_state, so a reconnecting user presses Train and goes on;
- `apply_url_settings(specs, key)` before its widgets and `share_box(specs)` after them: the
  page's settings travel in the URL, validated and clamped (gptviz/urlparams.py);
- `model_download(...)` and `model_upload(...)`: the model and its configuration as a zip
  (gptviz/checkpoint.py), checked field by field when it comes back.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import streamlit as st
import torch
from streamlit.logger import get_logger

from gptviz.ablation_report import held_text
from gptviz.checkpoint import (
    Bundle,
    CheckpointError,
    Limits,
    check_settings,
    load_bundle,
    save_bundle,
)
from gptviz.config import SCHEDULES, ConfigError, TrainConfig
from gptviz.i18n import DEFAULT as DEFAULT_LANGUAGE
from gptviz.i18n import N_, _, language, set_language
from gptviz.live import TRAINING_SLOTS, BackgroundJob, LiveRun, Snapshot
from gptviz.live.memory import JANITOR
from gptviz.live.slots import DRAWS, OPEN_SESSIONS, redraw_interval
from gptviz.markup import escape_markdown
from gptviz.urlparams import (
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    Param,
    encode_params,
    left_out,
    parse_params,
    share_url,
)

# URL parameters of how a page is shown, kept as they are: pages/_instrument.py's view_mode,
# and the language (pages/_i18n.py)
VIEW_PARAMS = ("hide", "present", "lang")
# two redraws a second while training or replaying: smooth to watch, cheap for the trainer.
# Measured (python -m bench.live_view): 0.2 s cost the server 0.3-0.6 CPU s a redraw and
# stalled every view of a class of 10 on 2 cores. A larger class stretches it (live_seconds).
REFRESH_SECONDS = 0.5
MODELS_KEY = "gptviz_models"
GUARD_KEY = "gptviz_session_guard"
MEMO_KEY = "gptviz_memo"

T = TypeVar("T")
RELOAD_NOTE = N_("Your models live in this tab's session on the server: a reload (F5) or a closed "
               "tab starts afresh, without them. Download a model to keep it; until you do, the "
               "browser asks before a reload.")

_log = get_logger(__name__)

STATUS_TEXT = {
    "idle": N_("Ready to train."),
    "queued": N_("Waiting for a free training slot (other users are training)…"),
    "training": N_("Training…"),
    "paused": N_("Paused."),
    "done": N_("Finished the requested steps."),
    "error": N_("Training stopped with an error."),
}


def register_model(label: str, run: LiveRun) -> None:
    """Offer this session's model to the other pages (generation, forward pass)."""
    if MODELS_KEY not in st.session_state:
        st.session_state[MODELS_KEY] = {}
    st.session_state[MODELS_KEY][label] = run


def available_models() -> dict[str, LiveRun]:
    return dict(st.session_state.get(MODELS_KEY, {}))


def page_defaults(defaults: Mapping[str, Any]) -> None:
    """Give each of this page's settings its default, unless the session already has one."""
    for k, v in defaults.items():
        if k not in st.session_state:
            st.session_state[k] = v


# --- the learning-rate schedule (nanoGPT's), the same on every training page ---------------
SCHEDULE_WORDS = {"constant": N_("constant (after any warm-up)"),
                  "cosine": N_("warm-up, then cosine decay (nanoGPT)")}


def schedule_specs(p: str) -> dict[str, Param]:
    """The schedule's settings for page prefix p, for the page's SPECS (widgets and links)."""
    return {f"{p}_schedule": ChoiceParam(SCHEDULES), f"{p}_warmup": IntParam(0, 100_000),
            f"{p}_min_lr": FloatParam(0.0, 1.0), f"{p}_decay_matrices": BoolParam()}


def schedule_values(p: str, train: TrainConfig) -> dict[str, Any]:
    """The schedule widgets' values for `train` (a preset's, or a loaded model's)."""
    return {f"{p}_schedule": train.schedule, f"{p}_warmup": train.warmup_steps,
            f"{p}_min_lr": train.min_lr, f"{p}_decay_matrices": train.decay_matrices_only}


def schedule_kwargs(p: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """TrainConfig keyword arguments from the schedule settings in `values` (session state)."""
    return dict(schedule=str(values[f"{p}_schedule"]), warmup_steps=int(values[f"{p}_warmup"]),
                min_lr=float(values[f"{p}_min_lr"]),
                decay_matrices_only=bool(values[f"{p}_decay_matrices"]))


def schedule_inputs(p: str, specs: Mapping[str, Param]) -> None:
    """The schedule's widgets, in a sidebar expander (read them with schedule_kwargs).

    A bad combination (a warm-up longer than the run, a floor above the peak) is for
    TrainConfig.validate() to refuse with its sentence, so the page shows it and keeps the model.
    """
    keep = {"persist_state": "session"}
    with st.expander(_("Learning-rate schedule"), icon=":material/timeline:"):
        schedule = st.selectbox(
            _("Schedule"), SCHEDULES, key=f"{p}_schedule",
            format_func=lambda v: _(SCHEDULE_WORDS[v]) if v in SCHEDULE_WORDS else v, **keep,
            help=_("Constant: the learning rate above at every step (after any warm-up). Cosine "
                 "(nanoGPT's get_lr): a linear warm-up, then a cosine decay that reaches the "
                 "floor at step 'Steps per click of Train' and stays there. The model's own step "
                 "counts: a second click trains on at the floor. Drawn under the loss curve."))
        warm, floor = specs[f"{p}_warmup"], specs[f"{p}_min_lr"]
        st.number_input(_("Warm-up steps"), warm.lo, warm.hi, key=f"{p}_warmup", **keep,
                                 help=_("The learning rate climbs linearly from about 0 to its "
                                        "value over the model's first steps."))
        st.number_input(_("Floor of the learning rate"), floor.lo, floor.hi,
                                 key=f"{p}_min_lr", format="%.0e", step=1e-4, **keep,
                                 disabled=schedule != "cosine",
                                 help=_("Cosine only: the learning rate it decays to."))
        st.checkbox(_("Weight decay on matrices only (nanoGPT)"), key=f"{p}_decay_matrices",
                            **keep, help=_("nanoGPT's configure_optimizers: no weight decay on "
                                           "biases and LayerNorm gains. Fixed when the model is "
                                           "built: changing it builds a new model."))


def lr_panel(train: TrainConfig, lrs: list[float]) -> list[float] | None:
    """The learning rates to draw under the loss: only when they change (a schedule)."""
    return lrs if train.schedule != "constant" or train.warmup_steps else None


def keep_run(key: str, identity: Hashable, build: Callable[[], LiveRun],
             label: str | None = None) -> LiveRun:
    """The page's LiveRun under session_state[key], kept while `identity` stays the same.

    When it changes (a new architecture, seed or device), `build()` makes the new run first,
    so a ConfigError it raises (a GPU without room becomes one) leaves the old model in
    place; then the old run is paused.
    The run is offered to the other pages under `label` and guarded (session_guard).
    """
    run: LiveRun | None = st.session_state.get(key)
    if run is None or st.session_state.get(f"{key}_identity") != identity:
        try:
            new = build()
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise ConfigError(_("The GPU has no room for this model. Make it smaller or choose "
                                "the CPU.")) from None
        except RuntimeError as e:  # a CUDA driver or device error while moving the model
            raise ConfigError(_("The model could not be put on the chosen device: "
                                "{error} Choose the CPU.").format(error=str(e)[:200])) from None
        if run is not None:
            run.retire()
        install_run(key, new, identity)
        run = new
    if label is not None:
        register_model(label, run)
    session_guard(run)
    return run


def install_run(key: str, run: LiveRun, identity: Hashable) -> None:
    """Make `run` the page's run (a loaded model, say), pausing the one it replaces."""
    old: LiveRun | None = st.session_state.get(key)
    if old is not None and old is not run:
        old.retire()
    st.session_state[key] = run
    st.session_state[f"{key}_identity"] = identity


def settings_error(e: ConfigError, key: str) -> None:
    """Say why the settings cannot be used, that the model (if any) is kept, and stop."""
    st.error(_("**Cannot use these settings:** {reason}").format(reason=escape_markdown(e)))
    if key in st.session_state:
        st.info(_("Your trained model is kept; fix the setting to continue."))
    st.stop()


def reset_run(key: str) -> None:
    """Throw the page's run away (the Reset button): the next rerun builds a fresh one."""
    run: LiveRun | None = st.session_state.pop(key, None)
    if run is not None:
        run.retire()  # a Train or One step clicked right after reaches it: ignored


def training_buttons(run: LiveRun, steps: int, key: str,
                     on_reset: Callable[[], None] | None = None, reset: bool = True) -> None:
    """Train/Pause, Step and Reset, side by side. Reset defaults to reset_run(f"{key}_run");
    reset=False leaves it out (a locked demo)."""
    c1, c2, c3 = st.columns(3)
    if run.running:
        c1.button(_("Pause"), icon=":material/pause:", key=f"{key}_pause", on_click=run.pause,
                  width="stretch", type="primary")
    else:
        c1.button(_("Train {steps:,} steps").format(steps=steps), icon=":material/play_arrow:",
                  key=f"{key}_train",
                  on_click=in_language(run.start), args=(steps,), width="stretch",
                  type="primary")
    c2.button(_("One step"), icon=":material/skip_next:", key=f"{key}_step",
              on_click=in_language(run.step_once), width="stretch",
              help=_("Train exactly one step, then stop."))
    if reset:
        c3.button(_("Reset"), icon=":material/restart_alt:", key=f"{key}_reset",
                  on_click=on_reset or (lambda: reset_run(f"{key}_run")), width="stretch",
                  help=_("Throw the trained weights away and start from a fresh model."))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def in_language(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn` called in this script run's language. A widget's callback runs at the start of the
    next run, before app.py sets its language (on a fresh thread: English); a job it starts
    copies the caller's language (gptviz/live/job.py)."""
    lang = language()

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> T:
        set_language(lang)
        return fn(*args, **kwargs)
    return call


def rate_text(steps_per_second: float) -> str:
    """"36 steps/s", "1.5 steps/s", or below one step a second "4.2 s/step"."""
    if steps_per_second <= 0:
        return _("measuring speed")
    if steps_per_second >= 10:
        return _("{rate:,.0f} steps/s").format(rate=steps_per_second)
    if steps_per_second >= 1:
        return _("{rate:.1f} steps/s").format(rate=steps_per_second)
    return _("{seconds:,.1f} s/step").format(seconds=1 / steps_per_second)


def status_line(snap: Snapshot) -> None:
    progress = min(1.0, snap.step / snap.target) if snap.target > 0 else 0.0
    rate = ""
    if snap.status == "training":
        # where it trains and how fast: the throughput a student can compare across devices
        rate = " · " + _("{rate} · {tokens:,.0f} tokens/s on {device}").format(
            rate=rate_text(snap.steps_per_second), tokens=snap.tokens_per_second,
            device=snap.device.upper())
    text = (_("Step {step:,} of {target:,}").format(step=snap.step, target=snap.target)
            if snap.target else _("Step {step:,}").format(step=snap.step)) + rate
    status = _(STATUS_TEXT[snap.status]) if snap.status in STATUS_TEXT else snap.status
    if snap.status == "queued" and snap.queue_position:
        status = _("Waiting for a free training slot: {place} in line ({capacity} models train "
                   "at once here, taking turns every few seconds)…").format(
            place=_ordinal(snap.queue_position) if language() == DEFAULT_LANGUAGE
            else snap.queue_position, capacity=getattr(TRAINING_SLOTS, "capacity", 1))
    held = held_text(snap.ablation, snap.status in ("training", "queued"), snap.ablation_step)
    if held:  # parts switched off on the Ablate panel: every figure below is of that model
        text += f" · :orange[**{held}**]"
    st.progress(progress, text=f"{status} {text}")
    if snap.message:  # made in the training thread, in the language of the click that started it
        if snap.status == "error":
            st.error(escape_markdown(_(snap.message)))
        else:
            st.warning(escape_markdown(_(snap.message)))


def memo(name: str, key: Hashable, build: Callable[[], T]) -> T:
    """What `build()` gave last time for this `key`, else a fresh value (kept per session).

    A live view redraws twice a second, and building a plotly figure costs 30-120 ms of CPU;
    keyed by the step count, a view whose model has not moved (queued behind other students,
    paused, finished) redraws for almost nothing, which keeps a shared server responsive.
    The language is part of the key: a figure's text is in the language it was built in.
    """
    key = (language(), key)
    if MEMO_KEY not in st.session_state:
        st.session_state[MEMO_KEY] = {}
    store = st.session_state[MEMO_KEY]
    hit = store.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = build()
    store[name] = (key, value)
    return value


def live_seconds(live: bool, base: float = REFRESH_SECONDS,
                 current: float | None = None) -> float | None:
    """A live view's run_every: `base` for a small class, longer while many sessions have a
    training page open (or models train) in this server process, so that every view keeps
    redrawing (gptviz.live.slots.redraw_interval); None when nothing moves."""
    if not live:
        return None
    class_size = max(OPEN_SESSIONS.value, TRAINING_SLOTS.in_use() + TRAINING_SLOTS.waiting())
    return redraw_interval(class_size, base, current=current)


def retuned(interval: float | None) -> bool:
    """In a live fragment ticking at `interval` (from live_seconds with the default base):
    whether the class's size now asks for another interval. Then the caller reruns the whole
    page, which registers the fragment with the new one."""
    return interval is not None and live_seconds(True, current=interval) != interval


def live_fragment(run_every: float | None) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """`st.fragment(run_every=...)` for a live view: each redraw's CPU time goes into the
    process's DrawMeter, from which live_seconds works out how often a class's views can
    redraw together and leave the trainers their share of the interpreter."""
    def wrap(body: Callable[[], None]) -> Callable[[], None]:
        lang = language()  # a fragment's own rerun does not go through app.py: no language set

        @functools.wraps(body)
        def measured() -> None:
            set_language(lang)
            with DRAWS.measure():
                body()
        return st.fragment(run_every=run_every)(measured)
    return wrap


def live_view(run: LiveRun, draw: Callable[[Snapshot], None]) -> None:
    """Draw `draw(snapshot)` now, and again while the run trains (live_seconds apart)."""
    was_running = run.running
    interval = live_seconds(was_running)

    @live_fragment(interval)
    def _view() -> None:
        snap = run.snapshot()
        status_line(snap)
        draw(snap)
        if (was_running and not run.running) or retuned(interval):
            st.rerun()  # finished (buttons, stop ticking), or a new redraw interval

    _view()


# --- the session guard ---------------------------------------------------------------------
class _GuardRecord:
    """Kept in session_state: this session's jobs, and whether a disconnect paused them."""

    def __init__(self) -> None:
        self.runs: weakref.WeakSet[BackgroundJob] = weakref.WeakSet()  # a Reset frees its run
        self.interrupted = False


class _Holder:
    """The session-scoped resource: Streamlit releases it when the session disconnects."""

    record: _GuardRecord | None = None


def _on_session_released(holder: _Holder) -> None:
    # Runs on the server's event loop when the tab closes or the connection drops: stop
    # the threads without waiting for them (each ends after its current step; cancel()
    # never waits, see gptviz/live/job.py). The models
    # stay in session_state, which Streamlit keeps for server.disconnectedSessionTTL so
    # that a reconnecting browser finds them.
    OPEN_SESSIONS.closed()
    JANITOR.soon()  # what closed sessions held: freed once Streamlit drops them (memory.py)
    rec = holder.record
    if rec is None:
        return
    stopped = 0
    for run in list(rec.runs):
        if run.running:
            run.cancel()
            stopped += 1
    if stopped:
        rec.interrupted = True
    _log.info("gptviz: session released, stopped %d training run(s)", stopped)


@st.cache_resource(scope="session", max_entries=1, on_release=_on_session_released,
                   show_spinner=False)
def _session_holder() -> _Holder:
    OPEN_SESSIONS.opened()  # released (closed) with the session, in _on_session_released
    JANITOR.soon()  # a new session is when Streamlit drops the expired ones (memory.py)
    return _Holder()


def session_guard(run: BackgroundJob) -> None:
    """Stop `run`'s training when this browser session goes away (every page's every job)."""
    if GUARD_KEY not in st.session_state:
        st.session_state[GUARD_KEY] = _GuardRecord()
    rec: _GuardRecord = st.session_state[GUARD_KEY]
    _session_holder().record = rec
    rec.runs.add(run)
    if rec.interrupted:
        rec.interrupted = False
        st.info(_("Training was paused because the connection to this page dropped. Your model "
                  "is kept: press Train to go on."), icon=":material/wifi_off:")


# --- settings in the URL --------------------------------------------------------------------
def apply_url_settings(specs: Mapping[str, Param], key: str) -> None:
    """Once per session, before the widgets: take the page's settings from its URL.

    Valid values go into session_state under the widget keys; clamped or refused ones are
    reported with a warning that names the setting (the value itself is never shown).
    """
    flag = f"{key}_url_applied"
    if flag in st.session_state:
        return
    st.session_state[flag] = True
    raw = {k: st.query_params.get_all(k) for k in st.query_params if k not in VIEW_PARAMS}
    values, messages = parse_params(raw, specs)
    for k, v in values.items():
        st.session_state[k] = v
    for m in messages:
        st.warning(m, icon=":material/link_off:")


def share_box(specs: Mapping[str, Param], extra: Mapping[str, str] | None = None) -> str:
    """Keep the URL in step with the settings, and show it as a link to share; `extra`
    parameters (a locked demo's hide list, presenter mode) go into the link only."""
    values = {k: st.session_state[k] for k in specs if k in st.session_state}
    params = encode_params(values, specs)
    for k in VIEW_PARAMS:  # how the page is shown (a locked demo, presenter mode) stays too
        if k in st.query_params:
            params[k] = st.query_params[k]
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    url = share_url(st.context.url or "", values, specs)
    extra = {**({"lang": language()} if language() != DEFAULT_LANGUAGE else {}), **(extra or {})}
    if extra:
        url += ("&" if "?" in url else "?") + urlencode(dict(extra))
    st.markdown(_("**Share this experiment.** The address bar holds this page's settings (a "
                  "typed text only up to a link's length: see below if one is left out); "
                  "copy it (or the link below) and send it to your class: the link opens this "
                  "page set up the same way, and with the same seed, training gives the same "
                  "model."))
    st.code(url, language=None, wrap_lines=True)
    for note in left_out(values, specs):
        st.warning(note, icon=":material/link_off:")
    return url


# --- save and load ------------------------------------------------------------------------
def model_download(run: LiveRun, task_spec: dict[str, Any], file_name: str, key: str) -> None:
    """A button that downloads the model, its configuration and its task as one zip."""

    def data() -> bytes:  # built when clicked, in a worker thread, between training steps
        return run.read_model(lambda m: save_bundle(m, task_spec, run.trainer.config,
                                                    run.trainer.step_count))

    st.download_button(_("Download model (.zip)"), data=data, file_name=file_name,
                       mime="application/zip", key=key, on_click="ignore",
                       icon=":material/download:",
                       help=_("The weights (safetensors) and the settings (JSON) in one zip. "
                              "Load it here again, in another tab or on another computer."))
    st.caption(_(RELOAD_NOTE))


def model_upload(key: str, apply: Callable[[Bundle], str], max_mb: int, kind: str,
                 limits: Limits) -> None:
    """An uploader for model zips. The file's settings must be this page's task `kind` and
    inside `limits` (the page's widget bounds, checkpoint.check_settings), checked on its JSON
    before any weight is unpacked; then `apply(bundle)` installs the model on this page and
    returns a sentence saying what was loaded, or raises CheckpointError / ConfigError if the
    model does not fit this page; either way the page shows a message and keeps working."""
    n = st.session_state.get(f"{key}_n", 0)
    st.file_uploader(_("Load a saved model (.zip)"), type=["zip"], key=f"{key}_{n}",
                     on_change=in_language(_on_upload), args=(key, apply, max_mb, kind, limits),
                     max_upload_size=max_mb,
                     help=_("A zip saved with Download model. It is checked before use: the "
                            "settings, the names and shapes of the weights, and their values."))
    note = st.session_state.pop(f"{key}_msg", None)
    if note is not None:
        kind, text = note
        (st.success if kind == "success" else st.error)(text)  # its parts escaped


def fitted_note(notes: list[str]) -> str:
    """' In the file, its learning rate 5 is outside ...' for the loaded-model message."""
    return (" " + _("From the file: {notes}.").format(notes="; ".join(notes))) if notes else ""


def _on_upload(key: str, apply: Callable[[Bundle], str], max_mb: int, kind: str,
               limits: Limits) -> None:
    n = st.session_state.get(f"{key}_n", 0)
    f = st.session_state.get(f"{key}_{n}")
    if f is None:  # the file was removed
        return
    try:
        bundle = load_bundle(f.getvalue(), max_bytes=max_mb * 1_000_000,
                             fits=lambda c, t, task: check_settings(c, t, task, kind, limits))
        note = ("success", escape_markdown(apply(bundle)))  # it may quote the file
    except (CheckpointError, ConfigError) as e:
        note = ("error", _("**This file could not be loaded.** {reason} Your current model is "
                           "kept.").format(reason=escape_markdown(e)))
    except Exception:  # a bug of ours: say so, keep the page and the model
        _log.exception("gptviz: loading a model failed")
        note = ("error", _("**This file could not be loaded** because of an error inside the "
                           "app. Your current model is kept."))
    st.session_state[f"{key}_msg"] = note
    st.session_state[f"{key}_n"] = n + 1  # a fresh, empty uploader for the next file
