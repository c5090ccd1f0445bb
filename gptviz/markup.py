"""Text from users and files, shown as typed inside the app's Markdown messages.

Streamlit renders every st.markdown/st.error/st.info/st.caption body as Markdown (and its own
:colour[...] and :icon: syntax): an uploaded file named `[x](https://…)**b**.txt` became a link
followed by bold text. Every file name, key or value read from a file, typed text, and message
that may quote one goes through `escape_markdown` before it reaches such a body.
"""

from __future__ import annotations

MARKDOWN_SPECIALS = set("\\`*_{}[]()<>#+-.!|~:$^=&\"'")


def escape_markdown(text: str) -> str:
    """text to put inside a Markdown message and have shown as typed: every punctuation mark
    Markdown (or Streamlit's :colour[...] and :emoji: syntax) could read is backslash-escaped,
    and line breaks become spaces (a new line could start a heading or a list)."""
    text = " ".join(str(text).splitlines())
    return "".join("\\" + c if c in MARKDOWN_SPECIALS else c for c in text)


def unescape_markdown(text: str) -> str:
    """What a reader sees of an escape_markdown body (for tests and logs)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in MARKDOWN_SPECIALS:
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)
