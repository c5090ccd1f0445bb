"""Tokenizers: bytes, BPE trained here (against a naive minbpe oracle), tiktoken for real."""

from __future__ import annotations

import hashlib
import importlib.util
from collections import Counter
from pathlib import Path

import pytest
import regex

from gptviz.corpus import builtin_corpus
from gptviz.tokenizers import (
    GPT2_SPLIT_PATTERN,
    BPETokenizer,
    ByteTokenizer,
    CharTokenizer,
    TiktokenTokenizer,
    Tokenizer,
    TokenizerError,
    TokenizerUnavailable,
    tiktoken_encoding_names,
    tiktoken_files,
    tiktoken_unavailable_message,
)

TRICKY = "Hello, I am\n\tnaïve café — 世界 😀 <|endoftext|> 12345  spaces   end"


def test_all_tokenizers_follow_the_protocol():
    for tok in (ByteTokenizer(), BPETokenizer.train("abc abc", 2), CharTokenizer("ab")):
        assert isinstance(tok, Tokenizer)


# --- bytes ---------------------------------------------------------------------------------------

def test_bytes_are_utf8_and_round_trip():
    tok = ByteTokenizer()
    assert tok.vocab_size == 256
    assert tok.encode("Hé") == [72, 0xC3, 0xA9]  # é is two bytes in UTF-8
    assert tok.decode(tok.encode(TRICKY)) == TRICKY
    assert tok.token_str(72) == "H"
    assert tok.token_str(0xC3) == "\\xc3"  # half a character, shown as its byte


# --- BPE -----------------------------------------------------------------------------------------

def naive_bpe_merges(text: str, num_merges: int) -> list[tuple[int, int, int]]:
    """minbpe's loop, written the slow obvious way: recount every pair before every merge."""
    chunks = [list(c.encode("utf-8")) for c in regex.findall(GPT2_SPLIT_PATTERN, text)]
    merges = []
    for rank in range(num_merges):
        counts: Counter[tuple[int, int]] = Counter()
        for ids in chunks:
            counts.update(zip(ids, ids[1:], strict=False))
        if not counts:
            break
        pair, n = max(counts.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))
        merges.append((pair[0], pair[1], n))
        new = 256 + rank
        for j, ids in enumerate(chunks):
            out, i = [], 0
            while i < len(ids):
                if i < len(ids) - 1 and (ids[i], ids[i + 1]) == pair:
                    out.append(new)
                    i += 2
                else:
                    out.append(ids[i])
                    i += 1
            chunks[j] = out
    return merges


@pytest.fixture(scope="module")
def corpus_5k() -> str:
    return builtin_corpus()[:5000]


def test_bpe_learns_the_same_merges_as_the_naive_algorithm(corpus_5k):
    tok = BPETokenizer.train(corpus_5k, 60)
    assert [(m.left, m.right, m.count) for m in tok.merges] == naive_bpe_merges(corpus_5k, 60)
    assert [m.new for m in tok.merges] == list(range(256, 316))
    assert tok.vocab_size == 316


def test_bpe_first_merge_is_the_most_frequent_pair():
    tok = BPETokenizer.train("aaab aab ab", 1)
    # pairs (overlapping, like minbpe): aa 3, ab 3, a␣ 0 (spaces start chunks): tie -> (97, 97)
    assert (tok.merges[0].left, tok.merges[0].right, tok.merges[0].count) == (97, 97, 3)
    assert tok.token_str(256) == "aa"


def test_bpe_round_trips_any_text_even_unseen_characters(corpus_5k):
    tok = BPETokenizer.train(corpus_5k, 100)
    assert tok.decode(tok.encode(corpus_5k)) == corpus_5k
    assert tok.decode(tok.encode(TRICKY)) == TRICKY  # byte-level: nothing is unknown


def test_bpe_merges_shorten_the_text_and_never_cross_words(corpus_5k):
    n_bytes = len(corpus_5k.encode())
    lengths = [len(BPETokenizer.train(corpus_5k, n).encode(corpus_5k)) for n in (0, 20, 100)]
    assert lengths[0] == n_bytes
    assert lengths[0] > lengths[1] > lengths[2]
    tok = BPETokenizer.train(corpus_5k, 100)
    for m in tok.merges:  # GPT-2's split: a space starts a word, or is part of a run of spaces
        text = tok.token_str(m.new)
        assert " " not in text[1:] or text.isspace()


def test_bpe_encode_reproduces_the_training_segmentation(corpus_5k):
    """Encoding the corpus replays the merges: the result is the naive algorithm's chunks."""
    tok = BPETokenizer.train(corpus_5k, 50)
    chunks = [list(c.encode()) for c in regex.findall(GPT2_SPLIT_PATTERN, corpus_5k)]
    for rank, m in enumerate(tok.merges):
        for j, ids in enumerate(chunks):
            out, i = [], 0
            while i < len(ids):
                if i < len(ids) - 1 and (ids[i], ids[i + 1]) == (m.left, m.right):
                    out.append(256 + rank)
                    i += 2
                else:
                    out.append(ids[i])
                    i += 1
            chunks[j] = out
    assert tok.encode(corpus_5k) == [i for c in chunks for i in c]


def test_bpe_stops_when_nothing_is_left_to_merge():
    tok = BPETokenizer.train("ab ab", 50)  # chunks "ab", " ab": a+b, then ␣+ab, then no pairs
    assert [(m.left, m.right) for m in tok.merges] == [(97, 98), (32, 256)]
    assert tok.encode("ab ab") == [256, 257]


def test_bpe_rejects_negative_merges():
    with pytest.raises(TokenizerError):
        BPETokenizer.train("abc", -1)


# --- tiktoken ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["gpt2", "r50k_base"])
def test_gpt2_tokenizer_gives_document_002s_numbers(gpt2_tiktoken_dir, name):
    tok = TiktokenTokenizer(name)
    assert tok.vocab_size == 50257
    assert tok.encode("Hello, I am") == [15496, 11, 314, 716]
    assert tok.decode([25777]) == "Republican"
    assert tok.decode(tok.encode(TRICKY)) == TRICKY
    assert tok.encode("<|endoftext|>") != [50256]  # typed text stays text
    assert tok.token_str(50256) == "<|endoftext|>"
    assert tok.token_str(11) == ","


def test_tiktoken_lists_its_encodings():
    names = tiktoken_encoding_names()
    assert {"gpt2", "r50k_base", "cl100k_base", "o200k_base"} <= set(names)


def _fetch_script():
    path = Path(__file__).resolve().parents[1] / "scripts" / "fetch_test_data.py"
    spec = importlib.util.spec_from_file_location("fetch_test_data", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cache_names_are_sha1_of_tiktokens_urls():
    fetch = _fetch_script()
    files = {f.url: f for f in tiktoken_files("gpt2") + tiktoken_files("r50k_base")}
    # the script's constants still match what tiktoken_ext/openai_public.py asks for
    assert files[fetch.R50K_URL].sha256 == fetch.R50K_SHA256
    assert files[fetch.VOCAB_BPE_URL].sha256 == fetch.VOCAB_BPE_SHA256
    assert files[fetch.ENCODER_JSON_URL].sha256 == fetch.ENCODER_JSON_SHA256
    for url, f in files.items():
        assert f.cache_name == hashlib.sha1(url.encode()).hexdigest() == fetch.cache_name(url)
    harmony = tiktoken_files("o200k_harmony")  # built on o200k_base: same file
    assert harmony == tiktoken_files("o200k_base") and len(harmony) == 1


def test_offline_failure_says_how_to_supply_the_files(tmp_path, monkeypatch):
    import requests
    import tiktoken.load
    import tiktoken.registry

    def no_network(blobpath: str) -> bytes:
        raise requests.exceptions.ConnectionError(f"Failed to resolve host for {blobpath}")

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # empty: nothing cached
    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # forget encodings loaded before
    with pytest.raises(TokenizerUnavailable) as err:
        TiktokenTokenizer("gpt2")
    msg = str(err.value)
    assert isinstance(err.value, TokenizerError)
    assert "could not" in msg or "failed" in msg
    assert "TIKTOKEN_CACHE_DIR" in msg and "SHA-1" in msg
    for url in ("https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
                "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json"):
        assert url in msg
        assert hashlib.sha1(url.encode()).hexdigest() in msg
    assert "ConnectionError" in msg
    # offline tokenizers keep working
    assert ByteTokenizer().decode(ByteTokenizer().encode("ok")) == "ok"


def test_hung_download_times_out(tmp_path, monkeypatch):
    import threading

    import tiktoken.load
    import tiktoken.registry

    release = threading.Event()

    def hang(blobpath: str) -> bytes:
        release.wait(5)
        raise OSError("gave up")

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.load, "read_file", hang)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    try:
        with pytest.raises(TokenizerUnavailable, match="no answer within"):
            TiktokenTokenizer("p50k_base", timeout=0.2)
    finally:
        release.set()


def test_unknown_encoding_is_a_plain_error():
    with pytest.raises(TokenizerError, match="no encoding called"):
        TiktokenTokenizer("gpt5_base")


def test_message_for_r50k_names_its_one_file():
    msg = tiktoken_unavailable_message("r50k_base")
    url = "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken"
    assert f"{hashlib.sha1(url.encode()).hexdigest()}  (the file at {url}" in msg
    assert "scripts/fetch_test_data.py" in msg
