"""The catalogue's upkeep, with Babel: extract the marked messages, merge them into each
language's .po files, and check that every message has its translation.

Each message lives in one .po file named after the first source file that uses it
("pages.baby_gpt.po", "gptviz.viz.attention.po"), so that pages can be translated apart and a
page's messages are found together. Run as `python scripts/i18n.py update` (then translate the
empty entries) and `python scripts/i18n.py check`; tests/test_i18n.py runs the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from gptviz.i18n import BABEL_LOCALE, DEFAULT, DOMAIN, LANGUAGES, LOCALE_DIR

ROOT = LOCALE_DIR.parents[1]
SOURCES = ("app.py", "pages", "gptviz")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
# fixed dates in the headers: an update that changes no message changes no file
DATE = datetime(2026, 12, 3, tzinfo=timezone.utc)
HEADER = "# gptviz's messages{lang}. Made by `python scripts/i18n.py update`; translate msgstr."
PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*(?:[:!][^{}]*)?\}")


@dataclass
class Message:
    id: str | tuple[str, str]  # (singular, plural) for ngettext
    locations: list[tuple[str, int]] = field(default_factory=list)

    @property
    def part(self) -> str:
        """The .po file it belongs to: its first source file, as a dotted name."""
        path = sorted(self.locations)[0][0]
        return path.removesuffix(".py").replace("/", ".")


def source_files(root: Path = ROOT) -> list[Path]:
    out: list[Path] = []
    for s in SOURCES:
        p = root / s
        out += [p] if p.is_file() else sorted(p.rglob("*.py"))
    return [p for p in out if "__pycache__" not in p.parts]


def extract(root: Path = ROOT) -> dict[str, Message]:
    """Every marked message in the app's code, by its id (the singular for plurals)."""
    found: dict[str, Message] = {}
    for path in source_files(root):
        rel = path.relative_to(root).as_posix()
        for lineno, msg, _comments, _context in extract_from_file(
                "python", str(path), keywords=KEYWORDS, strip_comment_tags=True):
            if isinstance(msg, tuple) and len(msg) == 1:
                msg = msg[0]
            if not msg or (isinstance(msg, tuple) and not all(msg)):
                continue
            key = msg if isinstance(msg, str) else msg[0]
            found.setdefault(key, Message(msg)).locations.append((rel, lineno))
    return found


def _read(path: Path, lang: str) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=BABEL_LOCALE[lang], domain=DOMAIN)


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False, sort_output=False,
                 include_previous=False)


def update(root: Path = ROOT, files: list[str] | None = None) -> dict[str, int]:
    """Write gptviz/locale/gptviz.pot and bring every language's .po files in step with the
    code: new messages added untranslated to their file, gone ones dropped, locations
    refreshed, translations kept (found in any file). Returns, per language, how many entries
    lack a translation.

    files: only these source files (as "pages/baby_gpt.py"): their messages go into their own
    .po files and no other .po file is touched, so that several people can work on separate
    pages at once; a message that is also elsewhere may then sit in two files until the next
    update of everything, which puts it in one (the translation kept).
    """
    messages = extract(root)
    if files is None:
        pot = Catalog(domain=DOMAIN, project="gptviz", header_comment=HEADER.format(lang=""),
                      creation_date=DATE, revision_date=DATE)
        for m in messages.values():
            pot.add(m.id, locations=m.locations)
        _write(LOCALE_DIR / f"{DOMAIN}.pot", pot)
        chosen = {k: m.part for k, m in messages.items()}
    else:
        wanted = set(files)
        chosen = {}
        for k, m in messages.items():
            mine = sorted(loc for loc in m.locations if loc[0] in wanted)
            if mine:
                chosen[k] = mine[0][0].removesuffix(".py").replace("/", ".")
    missing: dict[str, int] = {}
    for lang in LANGUAGES:
        if lang == DEFAULT:
            continue
        folder = LOCALE_DIR / lang / "LC_MESSAGES"
        old: dict[str, object] = {}
        for path in sorted(folder.glob("*.po")):
            for e in _read(path, lang):
                key = e.id if isinstance(e.id, str) else (e.id[0] if e.id else "")
                if key and (key not in old or (e.string and not old[key].string)):
                    old[key] = e
        targets = ({f.removesuffix(".py").replace("/", ".") for f in files} if files is not None
                   else None)
        for path in sorted(folder.glob("*.po")):
            if targets is None or path.stem in targets:
                path.unlink()
        parts: dict[str, Catalog] = {}
        for key, part in chosen.items():
            m = messages[key]
            cat = parts.setdefault(part, Catalog(
                locale=BABEL_LOCALE[lang], domain=DOMAIN, project="gptviz",
                header_comment=HEADER.format(lang=f" in {LANGUAGES[lang]}"),
                creation_date=DATE, revision_date=DATE, fuzzy=False))
            prev = old.get(key)
            same = prev is not None and prev.id == m.id
            cat.add(m.id, string=prev.string if same else "", locations=m.locations,
                    flags=prev.flags if same else ())
        for name, cat in parts.items():
            _write(folder / f"{name}.po", cat)
        missing[lang] = len(problems(lang, messages))
    return missing


def placeholders(text: str) -> set[str]:
    return {p.split(":")[0].split("!")[0].strip("{}") for p in PLACEHOLDER.findall(text)}


def problems(lang: str, messages: dict[str, Message] | None = None) -> list[str]:
    """What is wrong with `lang`'s catalogue against the code: a message untranslated, fuzzy,
    in two files, in no file, with other placeholders than its English; an entry the code no
    longer uses."""
    messages = extract() if messages is None else messages
    out: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        for e in _read(path, lang):
            if not e.id:
                continue
            key = e.id if isinstance(e.id, str) else e.id[0]
            where = f"{path.name}: {key[:60]!r}"
            if key in seen:
                out.append(f"{where} is also in {seen[key]}")
            seen[key] = path.name
            if key not in messages:
                out.append(f"{where} is not used in the code any more")
                continue
            strings = list(e.string) if isinstance(e.string, tuple) else [e.string]
            if not all(strings):
                out.append(f"{where} has no translation")
            elif e.fuzzy:
                out.append(f"{where} is fuzzy")
            else:
                ids = list(e.id) if isinstance(e.id, tuple) else [e.id]
                want = set().union(*(placeholders(i) for i in ids))
                for s in strings:
                    if placeholders(s) != want:
                        out.append(f"{where}: placeholders {sorted(placeholders(s))} in the "
                                   f"translation, {sorted(want)} in the message")
    out += [f"{k[:60]!r} (used in {m.locations[0][0]}) is in no .po file"
            for k, m in messages.items() if k not in seen]
    return out


def fill(lang: str, translations: dict[str, str | list[str]]) -> list[str]:
    """Put translations (message id -> its translation; a list of forms for a plural) into
    the .po files that hold those messages. Returns the ids that no file holds."""
    left = dict(translations)
    for path in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        cat = _read(path, lang)
        changed = False
        for e in cat:
            key = e.id if isinstance(e.id, str) else (e.id[0] if e.id else "")
            if key and key in left:
                t = left.pop(key)
                e.string = tuple(t) if isinstance(e.id, tuple) else t
                e.flags.discard("fuzzy")
                changed = True
        if changed:
            _write(path, cat)
    return list(left)
