"""Text corpora that work offline, and checks on text a user uploads."""

from __future__ import annotations

from gptviz.config import MAX_VOCAB
from gptviz.i18n import _

MAX_UPLOAD_BYTES = 2_000_000  # 2 MB of text trains for hours on a CPU already
MIN_CORPUS_CHARS = 100


class CorpusError(ValueError):
    """An upload the app refuses, with a message meant for the page."""


def builtin_corpus() -> str:
    """CPython's documentation topics (about 465,000 characters, English prose and code).

    It ships with Python itself (`pydoc_data`), so it is there offline and on any host.
    """
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k].strip() for k in sorted(topics))


def decode_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """Bytes of an uploaded .txt -> text, or a CorpusError that says what is wrong."""
    if len(data) == 0:
        raise CorpusError(_("The file is empty."))
    if len(data) > max_bytes:
        raise CorpusError(_("The file is {size:.1f} MB; the limit is {limit:.1f} MB.").format(
            size=len(data) / 1e6, limit=max_bytes / 1e6))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CorpusError(_("The file is not UTF-8 text (byte {byte} cannot be read). Save it "
                            "as UTF-8 plain text and upload it again.").format(byte=e.start)) \
            from None
    if "\x00" in text:
        raise CorpusError(_("The file looks binary (it contains NUL bytes), not plain text."))
    if len(text.strip()) < MIN_CORPUS_CHARS:
        raise CorpusError(_("The text has fewer than {n} characters: too little to learn "
                            "from.").format(n=MIN_CORPUS_CHARS))
    # a character model has one token per distinct character: refuse before building anything
    distinct = len(set(text))
    if distinct > MAX_VOCAB:
        raise CorpusError(_("The text has {distinct:,} distinct characters; a character model "
                            "here takes at most {limit:,} (one token each). Use a smaller "
                            "file, or one written with fewer distinct symbols.").format(
            distinct=distinct, limit=MAX_VOCAB))
    return text
