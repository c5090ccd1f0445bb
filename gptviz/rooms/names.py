"""Room codes and display names: what may be typed, checked before anything is stored.

A code is six characters from an alphabet without look-alikes (no 0/O, 1/I), so it reads off a
projector and types on a phone; 32^6 is about a billion codes. A display name is plain text:
letters (any script), digits, spaces and . - ' only, so it can never be read as Markdown or
HTML wherever it is shown (the pages show it as text anyway).
"""

from __future__ import annotations

import secrets
import unicodedata

from gptviz.i18n import _
from gptviz.rooms.errors import BadCode, BadName

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0, O, 1, I: they are read wrongly
CODE_LENGTH = 6
NAME_PUNCTUATION = " .-'"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def clean_code(raw: str) -> str:
    """A typed code, upper-cased, spaces and hyphens dropped ("ab3 k-7q" → "AB3K7Q").
    BadCode with a sentence if it cannot be a room code."""
    text = "".join(str(raw).split()).replace("-", "").upper()
    if not text:
        raise BadCode(_("Type the room code shown on the teacher's screen."))
    if len(text) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in text):
        raise BadCode(_("A room code has {n} characters, letters A-Z and digits 2-9 (there is "
                        "no 0, O, 1 or I): check the code on the teacher's screen.").format(
                            n=CODE_LENGTH))
    return text


def clean_name(raw: str, max_chars: int) -> str:
    """A display name as stored: white space runs as one space, trimmed, at most max_chars
    characters of letters, digits, spaces and . - ' (BadName with a sentence otherwise)."""
    text = " ".join(str(raw).split())
    if not text:
        raise BadName(_("Type a display name: the class sees it on the leaderboard."))
    for c in text:
        if not (unicodedata.category(c)[0] in "LMN" or c in NAME_PUNCTUATION):
            raise BadName(_("A display name may hold letters, digits, spaces and the marks "
                            ". - ' only (no markup or symbols)."))
    if len(text) > max_chars:
        raise BadName(_("A display name has at most {limit} characters; this one has "
                        "{n:,}.").format(limit=max_chars, n=len(text)))
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        raise BadName(_("A display name needs at least one letter or digit."))
    return text


def name_key(name: str) -> str:
    """What makes two names the same: case (and compatibility forms) ignored."""
    return unicodedata.normalize("NFKC", name).casefold()
