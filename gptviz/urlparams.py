"""Page settings in the URL: parse, validate and clamp them like any other input.

A teacher shares a link such as `.../baby_gpt?baby_layers=2&baby_seq=0110` and every student
gets the same experiment. Whatever arrives in a URL is untrusted: each value is checked against
its Param (type, range, length, allowed characters), out-of-range numbers are clamped, and
anything else is dropped; every correction yields a message for the page. The messages never
repeat the raw value (it could be markup, or a wall of text): they name the setting only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from gptviz.i18n import N_, _, ngettext

MAX_RAW_CHARS = 100  # longest value accepted for a number, a flag or a choice
MAX_PARAMS = 50  # more parameters than this and the rest are ignored


def _finite_number(raw: str) -> float:
    try:
        x = float(raw.strip())
    except ValueError:
        raise ValueError(_("is not a number")) from None
    if not math.isfinite(x):
        raise ValueError(_("is not a finite number"))
    return x


@dataclass(frozen=True)
class IntParam:
    lo: int
    hi: int

    def parse(self, raw: str) -> tuple[int, str | None]:
        x = _finite_number(raw)
        if x != int(x):
            raise ValueError(_("is not a whole number"))
        return _clamp(int(x), self.lo, self.hi)

    def encode(self, v: Any) -> str:
        return str(int(v))


@dataclass(frozen=True)
class FloatParam:
    lo: float
    hi: float

    def parse(self, raw: str) -> tuple[float, str | None]:
        x = _finite_number(raw)
        return _clamp(x, self.lo, self.hi)

    def encode(self, v: Any) -> str:
        return repr(float(v))  # repr round-trips exactly: 0.001 stays 0.001


@dataclass(frozen=True)
class BoolParam:
    def parse(self, raw: str) -> tuple[bool, str | None]:
        s = raw.strip().lower()
        if s in ("1", "true", "yes", "on"):
            return True, None
        if s in ("0", "false", "no", "off"):
            return False, None
        raise ValueError(_("must be 1 or 0 (true or false)"))

    def encode(self, v: Any) -> str:
        return "1" if v else "0"


@dataclass(frozen=True)
class ChoiceParam:
    choices: tuple[str, ...]

    def parse(self, raw: str) -> tuple[str, str | None]:
        if raw not in self.choices:
            raise ValueError(_("must be one of {choices}").format(choices=", ".join(self.choices)))
        return raw, None

    def encode(self, v: Any) -> str:
        return str(v)


@dataclass(frozen=True)
class TextParam:
    max_chars: int
    allowed: str | None = None  # a regex character class of allowed characters, e.g. "0-9a-z"
    # what the allowed characters are, for the message (a page marks its own with N_; it is
    # translated when the message is made)
    describe: str = N_("characters")

    def parse(self, raw: str) -> tuple[str, str | None]:
        if len(raw) > self.max_chars:
            raise ValueError(_("is longer than {max:,} characters").format(max=self.max_chars))
        if self.allowed is not None and not re.fullmatch(f"[{self.allowed}\\s]*", raw):
            raise ValueError(_("may only hold {allowed}").format(allowed=_(self.describe)))
        return raw, None

    def encode(self, v: Any) -> str:
        # a run of symbols (allowed set) reads the same without its spaces and line breaks,
        # which would only lengthen the link; free text keeps them
        return re.sub(r"\s+", "", str(v)) if self.allowed is not None else str(v)


Param = IntParam | FloatParam | BoolParam | ChoiceParam | TextParam


def _clamp(x, lo, hi):
    if x < lo:
        return lo, _("is below the minimum {lo:g}: using {lo:g}").format(lo=lo)
    if x > hi:
        return hi, _("is above the maximum {hi:g}: using {hi:g}").format(hi=hi)
    return x, None


def parse_params(raw: Mapping[str, str | Sequence[str]],
                 specs: Mapping[str, Param]) -> tuple[dict[str, Any], list[str]]:
    """Values for the settings in `raw` that pass (clamped), and a message per correction.

    `raw` maps a name to its value, or to all its values (the last one counts). Unknown names
    are ignored with one message; settings that are not in the URL are not in the result.
    """
    values: dict[str, Any] = {}
    messages: list[str] = []
    unknown = 0
    for i, (name, value) in enumerate(raw.items()):
        if i >= MAX_PARAMS:
            messages.append(_("The link has more than {max} settings; the rest were "
                              "ignored.").format(max=MAX_PARAMS))
            break
        spec = specs.get(name)
        if spec is None:
            unknown += 1
            continue
        if not isinstance(value, str):
            value = value[-1] if len(value) else ""
        if not isinstance(spec, TextParam) and len(value) > MAX_RAW_CHARS:
            messages.append(_("The link's setting `{name}` is too long; it was "
                              "ignored.").format(name=name))
            continue
        try:
            v, note = spec.parse(value)
        except ValueError as e:
            # the problem is a phrase of the parser's: "is not a number", "is above the ..."
            messages.append(_("The link's setting `{name}` {problem}; it was ignored.").format(
                name=name, problem=e))
            continue
        values[name] = v
        if note:
            messages.append(_("The link's setting `{name}` {note}.").format(name=name,
                                                                             note=note))
    if unknown:
        messages.append(ngettext(
            "The link has {n} setting(s) this page does not know; it was ignored.",
            "The link has {n} setting(s) this page does not know; they were ignored.",
            unknown).format(n=unknown))
    return values, messages


def encode_params(values: Mapping[str, Any], specs: Mapping[str, Param]) -> dict[str, str]:
    """The query parameters that reproduce `values` (only names that have a spec, and only
    values that a link can carry: see left_out)."""
    out = {}
    for k, v in values.items():
        if k in specs and _travels(specs[k], encoded := specs[k].encode(v)):
            out[k] = encoded
    return out


def _travels(spec: Param, encoded: str) -> bool:
    """Whether the value parses back as it is (a text over its link length does not)."""
    if not isinstance(spec, TextParam) and len(encoded) > MAX_RAW_CHARS:
        return False
    try:
        spec.parse(encoded)
    except ValueError:
        return False
    return True


def left_out(values: Mapping[str, Any], specs: Mapping[str, Param]) -> list[str]:
    """A sentence for each setting whose value a link cannot carry (a text that is longer than
    its spec allows in a link), so the page can say so instead of making a link that lies."""
    notes = []
    for k, v in values.items():
        spec = specs.get(k)
        if spec is None or _travels(spec, spec.encode(v)):
            continue
        if isinstance(spec, TextParam):
            notes.append(_("`{name}` is left out of the link: a link carries at most {max:,} "
                           "characters, so the link opens this page with that setting at its "
                           "default.").format(name=k, max=spec.max_chars))
        else:
            notes.append(_("`{name}` is left out of the link: a link carries at most its range, "
                           "so the link opens this page with that setting at its "
                           "default.").format(name=k))
    return notes


def share_url(base: str, values: Mapping[str, Any], specs: Mapping[str, Param]) -> str:
    return f"{base}?{urlencode(encode_params(values, specs))}"
