"""Fetch GPT-2's official vocabulary for the tests, without tiktoken's own download site.

tiktoken downloads its encoding files on first use, which fails offline. The source archive of
`openai-whisper` on PyPI carries GPT-2's vocabulary as `whisper/assets/gpt2.tiktoken`: the very
file tiktoken knows as `r50k_base.tiktoken` (same SHA-256). This script

1. downloads that archive with `pip download` (the only network access: PyPI),
2. takes the file out and checks its SHA-256 against the one tiktoken lists,
3. rebuilds from it the two files of tiktoken's "gpt2" encoding (`vocab.bpe`, `encoder.json`),
   byte for byte (their SHA-256 are checked against tiktoken's too),
4. stores all three in `.cache/tiktoken/` under the names tiktoken's cache uses: the SHA-1 hex
   digest of each file's URL (tiktoken/load.py, read_file_cached).

Then `TIKTOKEN_CACHE_DIR=.cache/tiktoken` makes `tiktoken.get_encoding("gpt2")` and
`tiktoken.get_encoding("r50k_base")` work offline. Running it again does nothing when the files
are there. Usage: `python scripts/fetch_test_data.py [--cache-dir DIR]`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_DIR = ROOT / ".cache" / "tiktoken"

WHISPER_SDIST = "openai-whisper==20250625"
WHISPER_MEMBER = "whisper/assets/gpt2.tiktoken"

# URLs and SHA-256 from tiktoken_ext/openai_public.py (tests check they still agree)
R50K_URL = "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken"
R50K_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
VOCAB_BPE_URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe"
VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
ENCODER_JSON_URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json"
ENCODER_JSON_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"


def cache_name(url: str) -> str:
    """tiktoken's cache key for a URL: hashlib.sha1(blobpath.encode()).hexdigest()."""
    return hashlib.sha1(url.encode()).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _has(cache_dir: Path, url: str, expected: str) -> bool:
    path = cache_dir / cache_name(url)
    return path.is_file() and sha256(path.read_bytes()) == expected


def _write(cache_dir: Path, url: str, data: bytes, expected: str) -> None:
    if sha256(data) != expected:
        raise RuntimeError(f"SHA-256 mismatch for the file of {url}: got {sha256(data)}, "
                           f"expected {expected}.")
    path = cache_dir / cache_name(url)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic: a concurrent reader never sees half a file


def download_gpt2_tiktoken() -> bytes:
    """gpt2.tiktoken out of openai-whisper's source archive from PyPI."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--no-binary", ":all:", "--no-build-isolation", WHISPER_SDIST, "-d", tmp]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"pip download {WHISPER_SDIST} failed:\n{result.stderr[-2000:]}")
        archives = list(Path(tmp).glob("openai_whisper-*.tar.gz")) + list(
            Path(tmp).glob("openai-whisper-*.tar.gz"))
        if not archives:
            raise RuntimeError(f"pip download left no source archive in {tmp}.")
        with tarfile.open(archives[0]) as tar:
            for member in tar.getmembers():
                if member.name.endswith(WHISPER_MEMBER) and member.isfile():
                    f = tar.extractfile(member)
                    assert f is not None
                    return f.read()
    raise RuntimeError(f"{WHISPER_MEMBER} is not in {archives[0].name}.")


def gpt2_data_gym_files(tiktoken_bpe: bytes) -> tuple[bytes, bytes]:
    """GPT-2's original vocab.bpe and encoder.json, rebuilt from the ranks in gpt2.tiktoken.

    vocab.bpe lists the merges in rank order; each token's merge is found by running BPE on its
    bytes with the merges of lower rank, which must end in exactly two parts. Tokens are written
    in GPT-2's byte-to-unicode alphabet (the "data gym" encoding tiktoken/load.py decodes).
    """
    ranks: dict[bytes, int] = {}
    for line in tiktoken_bpe.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)

    printable = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    to_unicode = {b: chr(b) for b in printable}
    n = 0
    for b in range(256):
        if b not in to_unicode:
            to_unicode[b] = chr(256 + n)
            n += 1

    def data_gym(token: bytes) -> str:
        return "".join(to_unicode[b] for b in token)

    def split_in_two(token: bytes, max_rank: int) -> tuple[bytes, bytes]:
        parts = [bytes([b]) for b in token]
        while True:
            best = None
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < max_rank and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        if len(parts) != 2:
            raise RuntimeError(f"Token {token!r} (rank {max_rank}) is not one merge of two.")
        return parts[0], parts[1]

    ordered = sorted(ranks.items(), key=lambda kv: kv[1])
    lines = ["#version: 0.2"]
    for token, rank in ordered[256:]:
        left, right = split_in_two(token, rank)
        lines.append(f"{data_gym(left)} {data_gym(right)}")
    vocab_bpe = ("\n".join(lines) + "\n").encode()
    encoder = {data_gym(token): rank for token, rank in ordered}
    encoder["<|endoftext|>"] = 50256
    return vocab_bpe, json.dumps(encoder).encode()


def ensure_gpt2_files(cache_dir: Path = DEFAULT_CACHE_DIR) -> Path:
    """Make sure cache_dir holds tiktoken's files for "gpt2" and "r50k_base"; return it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    wanted = [(R50K_URL, R50K_SHA256), (VOCAB_BPE_URL, VOCAB_BPE_SHA256),
              (ENCODER_JSON_URL, ENCODER_JSON_SHA256)]
    if all(_has(cache_dir, url, h) for url, h in wanted):
        return cache_dir
    r50k_path = cache_dir / cache_name(R50K_URL)
    if _has(cache_dir, R50K_URL, R50K_SHA256):
        r50k = r50k_path.read_bytes()
    else:
        r50k = download_gpt2_tiktoken()
        _write(cache_dir, R50K_URL, r50k, R50K_SHA256)
    vocab_bpe, encoder_json = gpt2_data_gym_files(r50k)
    _write(cache_dir, VOCAB_BPE_URL, vocab_bpe, VOCAB_BPE_SHA256)
    _write(cache_dir, ENCODER_JSON_URL, encoder_json, ENCODER_JSON_SHA256)
    return cache_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    args = parser.parse_args()
    cache_dir = ensure_gpt2_files(args.cache_dir.resolve())
    print(f"GPT-2's tiktoken files are in {cache_dir}")
    print(f"Use them with: export TIKTOKEN_CACHE_DIR={cache_dir}")


if __name__ == "__main__":
    main()
