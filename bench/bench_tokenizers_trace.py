"""Timings for the Tokenizers and Forward pass pages: BPE training, encoding, tracing.

    python -m bench.bench_tokenizers_trace      # from the repo root; one torch thread, as app.py
Prints the median of a few repeats for each measurement.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from gptviz.config import GPTConfig
from gptviz.corpus import builtin_corpus
from gptviz.model import GPT
from gptviz.tokenizers import BPETokenizer, CharTokenizer
from gptviz.trace import logit_lens, trace_forward


def median_seconds(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(1)
    corpus = builtin_corpus()
    text = corpus[:100_000]
    for merges in (256, 1000):
        s = median_seconds(lambda m=merges: BPETokenizer.train(text, m), repeats=3)
        print(f"BPE train, {merges} merges on {len(text.encode()):,} bytes: {s:.3f} s")
    tok = BPETokenizer.train(text, 256)
    s = median_seconds(lambda: BPETokenizer(tok.merges).encode(text), repeats=3)
    print(f"BPE encode (cold cache), 100 KB with 256 merges: {s:.3f} s")
    s = median_seconds(lambda: BPETokenizer.train(corpus, 256), repeats=1)
    print(f"BPE train, 256 merges on the whole built-in corpus ({len(corpus):,} chars): {s:.3f} s")

    chars = CharTokenizer.from_text(corpus)
    for vocab, name in ((chars.vocab_size, "characters"), (50257, "GPT-2 vocabulary")):
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=vocab, block_size=64, n_layer=2, n_head=2,
                              n_embd=32)).eval()
        for T in (11, 64):
            ids = [i % vocab for i in range(T)]
            s = median_seconds(lambda ids=ids, model=model: trace_forward(model, ids))
            s2 = median_seconds(lambda ids=ids, model=model: logit_lens(model, ids))
            print(f"trace_forward, 2 layers, 2 heads, 32 dims, {name}, T={T}: {s * 1e3:.1f} ms;"
                  f" logit_lens {s2 * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
