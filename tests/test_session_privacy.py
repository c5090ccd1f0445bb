"""Each user's model stays in that user's session: nothing per-user is shared by the process."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import button

ROOT = Path(__file__).resolve().parents[1]


def _one_step(at: AppTest) -> None:
    button(at, "One step").click().run()


def test_two_sessions_train_separate_models():
    a = AppTest.from_file(str(ROOT / "pages" / "baby_gpt.py"), default_timeout=60).run()
    b = AppTest.from_file(str(ROOT / "pages" / "baby_gpt.py"), default_timeout=60).run()
    try:
        _one_step(a)
        _one_step(a)
        ra, rb = a.session_state["baby_run"], b.session_state["baby_run"]
        assert ra is not rb and ra.trainer.model is not rb.trainer.model
        assert (ra.trainer.step_count, rb.trainer.step_count) == (2, 0)
    finally:
        st.cache_resource.clear()


# Process-wide caches that are allowed: read-only objects, the same for everyone who asks for
# the same arguments (a tokenizer never changes after it is built; nothing of a session is kept).
SHARED_READ_ONLY = {
    "_tiktoken": "a tiktoken vocabulary (read-only)",
    "builtin_char_tokenizer": "the built-in corpus's characters (read-only)",
    "_trained_bpe": "a BPE tokenizer for (text, merges); at most 16 kept, never changed",
    "corpus": "GPT-1 page: the built-in corpus and its tokenizer (read-only)",
    "labelled_task": "GPT-1 page: line lists cut from the corpus; examples drawn per call from a "
                     "seed, nothing stored after __init__",
    "text_task": "GPT-1 page: the corpus as token ids; each trainer draws batches with its own "
                 "generator",
    "room_store": "Class room: the database's connection pool; a session's room membership "
                  "and tokens live in its own session_state",
}


def test_no_page_keeps_per_user_objects_in_process_wide_caches():
    """A global st.cache_resource or a module-level model would be shared by every student."""
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        src = path.read_text()
        for m in re.finditer(r"@st\.cache_resource(\([^)]*\))?\s*\ndef (\w+)", src):
            args, name = m.group(1) or "", m.group(2)
            assert 'scope="session"' in args or name in SHARED_READ_ONLY, (path, name)
