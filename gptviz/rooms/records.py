"""What goes into a room and what comes out: plain dataclasses, checked on the way in.

A RunPost is what a training page posts about one run: the settings of its share link, one
loss curve thinned to RoomLimits.curve_points, and its final figures. Never its weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gptviz.i18n import N_, _
from gptviz.rooms.errors import BadRun

MAX_SETTINGS = 50  # parameters of a share link (gptviz.urlparams.MAX_PARAMS)
MAX_SETTING_CHARS = 2_100  # Baby GPT's link carries a sequence of up to 2,000 symbols
MAX_LABEL_CHARS = 200


@dataclass(frozen=True)
class Room:
    code: str
    created_at: float
    expires_at: float
    closed: bool
    members: int  # students who joined


@dataclass(frozen=True)
class TeacherKey:
    """What the teacher's session keeps: only this token closes or deletes the room."""

    code: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class Membership:
    """What a student's session keeps after joining: the token is what posts its runs."""

    code: str
    name: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class RunPost:
    run_key: str  # the poster's id for this run (a new model: a new key)
    page: str  # the page's file stem, "baby_gpt": its share link opens that page
    task_ident: str  # equal for comparable runs (gptviz.live.runs.TaskKey.ident)
    task_label: str  # the task for people
    settings: Mapping[str, str]  # the share link's parameters
    curve_name: str  # what the curve is, "validation loss"
    curve: Sequence[tuple[int, float]]  # (step, loss); thinned by the store
    steps: int
    train_loss: float | None = None
    val_loss: float | None = None
    accuracy: float | None = None  # held-out, 0 to 1


@dataclass(frozen=True)
class RoomRun:
    """A run as the room shows it."""

    run_id: int
    name: str  # the student's display name
    page: str
    task_ident: str
    task_label: str
    settings: dict[str, str]
    curve_name: str
    curve: list[tuple[int, float]]
    steps: int
    train_loss: float | None
    val_loss: float | None
    accuracy: float | None
    updated_at: float


def thin(points: Sequence[tuple[int, float]], limit: int) -> list[tuple[int, float]]:
    """At most `limit` (>= 2) points, evenly spaced by index, the first and the last kept."""
    pts = [(int(s), float(v)) for s, v in points]
    if len(pts) <= limit:
        return pts
    idx = sorted({round(i * (len(pts) - 1) / (limit - 1)) for i in range(limit)})
    return [pts[i] for i in idx]


def _number(x: float | None, what: str) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise BadRun(_("The run's {what} is not a number.").format(what=_(what))) from None
    if not math.isfinite(v):
        raise BadRun(_("The run's {what} is not a finite number (training diverged?).").format(
            what=_(what)))
    return v


def _text(x: object, what: str, limit: int) -> str:
    if not isinstance(x, str) or not x or len(x) > limit:
        raise BadRun(_("The run's {what} must be a text of 1 to {limit} characters.").format(
            what=_(what), limit=limit))
    return x


def checked(post: RunPost, curve_points: int) -> dict:
    """The post as column values, or BadRun with a sentence. The curve is thinned, and points
    that are not finite (a diverged step) are dropped."""
    settings = dict(post.settings)
    if len(settings) > MAX_SETTINGS or not all(
            isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 40
            and len(v) <= MAX_SETTING_CHARS for k, v in settings.items()):
        raise BadRun(_("The run's settings must be at most {n} short texts.").format(
            n=MAX_SETTINGS))
    steps = int(post.steps)
    if steps < 0:
        raise BadRun(_("The run's step count is below 0."))
    curve = [(int(s), float(v)) for s, v in post.curve if math.isfinite(float(v))]
    accuracy = _number(post.accuracy, N_("held-out accuracy"))
    if accuracy is not None and not 0.0 <= accuracy <= 1.0:
        raise BadRun(_("The run's held-out accuracy must be 0 to 1."))
    return dict(run_key=_text(post.run_key, N_("key"), 64),
                page=_text(post.page, N_("page"), 40),
                task_ident=_text(post.task_ident, N_("task"), MAX_LABEL_CHARS),
                task_label=_text(post.task_label, N_("task label"), MAX_LABEL_CHARS),
                settings=settings, curve_name=_text(post.curve_name, N_("curve name"), 60),
                curve=[list(p) for p in thin(curve, curve_points)], steps=steps,
                train_loss=_number(post.train_loss, N_("training loss")),
                val_loss=_number(post.val_loss, N_("validation loss")), accuracy=accuracy)
