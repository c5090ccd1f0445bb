"""AppTests for pages/tokenizers.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import fresh_caches, open_page


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    yield from fresh_caches(data=True)


def run(kind: str | None = None, text: str | None = None, **state) -> AppTest:
    """The Tokenizers page with tok_kind, tok_text and any other keys set before its first run."""
    given = {"tok_kind": kind, "tok_text": text}
    return open_page("tokenizers", session_state={
        **{k: v for k, v in given.items() if v is not None}, **state})


def spans(at: AppTest) -> str:
    return at.get("html")[0].proto.body


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_default_is_gpt2_with_document_002s_ids(gpt2_tiktoken_dir):
    at = run()
    assert not at.exception
    assert at.radio(key="tok_kind").value == "gpt2"
    ids = at.code[0].value
    assert ids.startswith("[15496, 11, 314, 716")  # "Hello, I am"
    assert metrics(at)["Vocabulary size"] == "50,257"
    assert ">15496</span>" in spans(at)
    assert at.success and "exactly your text" in at.success[0].value
    assert at.code[1].value == at.text_area(key="tok_text").value


def test_each_tokenizer_counts_its_own_tokens(gpt2_tiktoken_dir):
    text = "Hello, I am “quoted” — ok"  # “ ” — are 3 bytes each in UTF-8
    at = run("chars", text)
    assert not at.exception and metrics(at)["Tokens"] == str(len(text))
    at.radio(key="tok_kind").set_value("bytes").run(timeout=60)
    assert metrics(at)["Tokens"] == str(len(text.encode())) == str(len(text) + 6)
    assert metrics(at)["Vocabulary size"] == "256"
    at.radio(key="tok_kind").set_value("gpt2").run(timeout=60)
    assert int(metrics(at)["Tokens"]) < len(text)
    assert metrics(at)["Characters per token"] == f"{len(text) / int(metrics(at)['Tokens']):.2f}"


def test_user_text_is_escaped_not_rendered():
    at = run("bytes", "<img src=x onerror=alert(1)>")
    assert not at.exception
    body = spans(at)
    assert "<img" not in body and "&lt;" in body


def test_character_outside_the_alphabet_shows_a_message():
    at = run("chars", "Hello 你好")
    assert not at.exception
    assert at.error and "cannot encode" in at.error[0].value and "你" in at.error[0].value


def test_bpe_merges_slider_sets_the_table_and_vocabulary():
    at = run("bpe", "Hello, I am the theme of the thesis", tok_merges=32)
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 32 and list(table["order"]) == list(range(1, 33))
    assert metrics(at)["Vocabulary size"] == "288"
    few = int(metrics(at)["Tokens"])
    at.slider(key="tok_merges").set_value(512).run(timeout=60)
    assert len(at.dataframe[0].value) == 512
    assert int(metrics(at)["Tokens"]) <= few  # more merges, fewer (never more) tokens


def test_bpe_on_pasted_text():
    at = run("bpe", "low lower lowest", tok_bpe_source="paste", tok_merges=8)
    assert not at.exception
    assert at.warning and "at least" in at.warning[0].value  # nothing pasted yet
    at.text_area(key="tok_bpe_text").set_value("low lower lowest newer newest " * 20)
    at.run(timeout=60)
    assert not at.exception and not at.warning
    table = at.dataframe[0].value
    assert len(table) == 8
    assert int(metrics(at)["Tokens"]) < len("low lower lowest")  # words it learned are cheap


def test_tiktoken_offline_explains_and_other_tokenizers_still_work(tmp_path, monkeypatch):
    import requests
    import tiktoken.load
    import tiktoken.registry

    def no_network(blobpath: str) -> bytes:
        raise requests.exceptions.ConnectionError("Name or service not known")

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    at = run()
    assert not at.exception
    assert at.warning
    warning = at.warning[0].value
    assert "download" in warning and "'gpt2'" in warning
    details = " ".join(m.value for m in at.markdown)
    assert "TIKTOKEN_CACHE_DIR" in details and "6d1cbeee0f20b3d9449abfede4726ed8212e3aee" in details
    at.radio(key="tok_kind").set_value("bytes").run(timeout=60)
    assert not at.exception and not at.warning
    assert metrics(at)["Vocabulary size"] == "256"
