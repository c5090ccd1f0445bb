"""Text in the reader's language: gettext catalogues, the Python ecosystem's convention.

Messages are marked in the code with `_("...")` (translated where they are used), `N_("...")`
(marked where they are defined, translated later with `_(name)`) and `ngettext(one, many, n)`;
placeholders are named (`_("Step {step} of {total}").format(...)`), never f-strings, so that
the catalogue holds the whole sentence. `python -m scripts.i18n` extracts them with Babel into
gptviz/locale/gptviz.pot and merges that into each language's .po files
(gptviz/locale/<lang>/LC_MESSAGES/*.po: one domain, kept in several files so that pages can be
translated apart). The .po files are compiled in memory with Babel when first used: there is no
compiled .mo file to keep in step, and no build step on a host.

The language is a context variable: each Streamlit script run sets it (pages/_i18n.py) on the
thread that runs it, so two sessions in two languages never see each other's. The library
never imports streamlit; its figure builders translate their own titles and axes with `_`.
"""

from __future__ import annotations

import functools
import gettext
from contextvars import ContextVar
from io import BytesIO
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "gptviz"
# language code -> its name in that language (the switch shows each in its own language)
LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}
DEFAULT = "en"
# where Babel's locale data has its own name for ours (numbers, plural rules)
BABEL_LOCALE = {"en": "en", "zh": "zh_Hans_CN"}

_current: ContextVar[str] = ContextVar("gptviz_language", default=DEFAULT)


def supported(lang: object) -> bool:
    return isinstance(lang, str) and lang in LANGUAGES


def set_language(lang: str) -> str:
    """Use `lang` for the rest of this thread's (this script run's) text; an unknown code
    means English. Returns the language now in use."""
    lang = lang if supported(lang) else DEFAULT
    _current.set(lang)
    return lang


def language() -> str:
    return _current.get()


def po_files(lang: str) -> list[Path]:
    return sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"))


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of `lang` (all its .po files; fuzzy and empty entries left
    out, so that they show in English rather than wrong); English is the messages themselves."""
    if lang == DEFAULT or not supported(lang):
        return gettext.NullTranslations()
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    merged = Catalog(locale=BABEL_LOCALE[lang], domain=DOMAIN)
    for path in po_files(lang):
        with path.open("rb") as f:
            part = read_po(f, locale=BABEL_LOCALE[lang])
        for m in part:
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            if m.id and not m.fuzzy and all(strings):
                merged[m.id] = m
    buf = BytesIO()
    write_mo(buf, merged)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _(message: str) -> str:
    """`message` in this run's language (itself when it has no translation)."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for `n` in this run's language (Chinese has one form for every n)."""
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for the catalogue where it is defined (a constant, a table); translate
    it where it is shown, with `_(message)`."""
    return message
