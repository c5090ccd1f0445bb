"""Every piece of text an AppTest run shows, for the Chinese pages' check (tests/test_i18n.py).

The text is read from the elements' protobufs: markdown and alerts, widget labels, help and
options, tab and expander labels, metrics, and the plotly figures' titles, axis titles,
legends, annotations and hover templates (their JSON spec); a graphviz chart's DOT source.
Values a user typed or chose are not text the app wrote, and are left out.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from streamlit.testing.v1 import AppTest

# four or more English words in a row (outside code spans and links)
ENGLISH_RUN = re.compile(r"(?:\b[A-Za-z][A-Za-z'’-]*\b[ ,:;]+){3,}\b[A-Za-z][A-Za-z'’-]*\b")
CODE = re.compile(r"`[^`]*`|https?://\S+|<[^>]+>|%\{[^}]*\}")
TEXT_FIELDS = {"body", "label", "help", "placeholder", "options", "caption", "message",
               "text", "title", "source"}
SKIP_FIELDS = {"id", "form_id", "key", "icon", "default", "value", "set_value", "format",
               "type", "url", "page", "page_script_hash", "spec", "theme", "data", "args"}
FIGURE_KEYS = {"text", "name", "hovertemplate", "texttemplate", "ticktext", "label"}


def english_sentences(text: str) -> list[str]:
    return ENGLISH_RUN.findall(CODE.sub(" ", text))


def _figure_texts(node: Any, parent: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("x", "y", "z", "customdata", "ids", "values", "source", "target"):
                continue
            out += _figure_texts(v, k)
    elif isinstance(node, list):
        for v in node:
            out += _figure_texts(v, parent)
    elif isinstance(node, str) and (parent in FIGURE_KEYS or parent == "title"):
        out.append(node)
    return out


def _repeated(field: Any) -> bool:
    is_repeated = getattr(field, "is_repeated", None)
    if is_repeated is not None:
        return bool(is_repeated)
    return field.label == field.LABEL_REPEATED


def _proto_texts(msg: Any) -> list[str]:
    out: list[str] = []
    for field, value in msg.ListFields():
        name = field.name
        if name == "spec" and isinstance(value, str):  # a plotly figure's JSON
            with contextlib.suppress(ValueError):
                out += _figure_texts(json.loads(value))
            continue
        if name in SKIP_FIELDS:
            continue
        if field.type == field.TYPE_MESSAGE:
            items = value if _repeated(field) else [value]
            for item in items:
                out += _proto_texts(item)
        elif field.type == field.TYPE_STRING and name in TEXT_FIELDS:
            out += list(value) if _repeated(field) else [value]
    return out


def page_texts(at: AppTest) -> list[str]:
    """All the text of the page AppTest rendered last."""
    out: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            out.extend(_proto_texts(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return [t for t in out if isinstance(t, str) and t.strip()]


def english_in(at: AppTest) -> list[str]:
    return [s for t in page_texts(at) for s in english_sentences(t)]


def _punct(ch: str) -> bool:
    import unicodedata

    return unicodedata.category(ch)[0] in "PS"


def unpaired_bold(text: str) -> bool:
    """Whether a `**` of `text` would show as two stars: CommonMark's flanking rules (which
    Streamlit's markdown follows) decide whether a run of stars can open or close emphasis,
    and Chinese punctuation beside a star ("**提示：**在") often makes it do neither."""
    text = re.sub(r"`[^`]*`|\{[a-z_][a-z0-9_]*(?:[:!][^{}]*)?\}", "x", text)  # code, placeholders
    opened = 0
    for m in re.finditer(r"\*\*+", text):
        if len(m.group()) != 2:
            continue
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        left = not after.isspace() and (not _punct(after) or before.isspace() or _punct(before))
        right = not before.isspace() and (not _punct(before) or after.isspace() or _punct(after))
        if opened and right:
            opened -= 1
        elif left:
            opened += 1
        else:
            return True
    return opened != 0
