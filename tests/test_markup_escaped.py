"""Names and keys from uploads are shown as typed, never as Markdown (issue 15: an uploaded
`[x](…)**b**.txt` became a link and bold text on Train on text)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from gptviz.markup import escape_markdown, unescape_markdown

ROOT = Path(__file__).resolve().parents[1]
NAME = "[x](https://evil.example)**b**.txt"
TEXT = "the cat sat on the mat. the dog sat on the log. " * 20


@pytest.fixture(autouse=True)
def _release_session_resources():
    yield
    st.cache_resource.clear()


def _bodies(at: AppTest) -> list[str]:
    return [e.value for e in (*at.caption, *at.markdown, *at.error, *at.info, *at.warning,
                              *at.success)]


def _upload(name: str, data: bytes) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/text_model.py"), default_timeout=90)
    at.session_state["text_source"] = "Upload a .txt file"
    at.run()
    uploader = next(u for u in at.get("file_uploader") if u.label.startswith("Plain text"))
    uploader.set_value((name, data, "text/plain")).run()
    assert not at.exception
    return at


def test_an_uploaded_file_name_is_shown_as_text_not_a_link():
    at = _upload(NAME, TEXT.encode())
    shown = [b for b in _bodies(at) if "evil" in b]
    assert shown, "the file name is not shown"
    for body in shown:
        assert "](https://evil" not in body and "**b**" not in body, body  # no link, no bold
        assert NAME in unescape_markdown(body)  # a reader sees the name as typed


def test_a_refused_file_names_itself_as_text():
    at = _upload(NAME, b"")
    (error,) = [e.value for e in at.error]
    assert "](https://evil" not in error and NAME in unescape_markdown(error)


def test_escaping_round_trips_and_flattens_lines():
    for text in (NAME, "a\nb # c", ":red[x] `y` $z$ <i>w</i>", "plain text 2"):
        out = escape_markdown(text)
        assert unescape_markdown(out) == " ".join(text.splitlines())
        assert "\n" not in out
