"""Layers and heads are counted from 1 wherever a person reads them; indices stay 0-based.

One convention across the app: the panel of att[0, 0] says "layer 1 · head 1", the Forward
pass page's first block is "Block 1", and nothing anywhere says "layer 0" or "head 0".
"""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from gptviz.config import GPTConfig
from gptviz.model import GPT
from gptviz.tasks import AdditionTask
from gptviz.tokenizers import CharTokenizer
from gptviz.trace import logit_lens, trace_forward
from gptviz.train import build_model
from gptviz.viz.attention import attention_figure, panel_title
from gptviz.viz.forward import logit_lens_figure, stage_figure
from gptviz.viz.tasks import answer_attention_figure

ZERO_BASED = re.compile(r"\b(layer|head|block)s? 0\b", re.IGNORECASE)


def shown_text(fig: go.Figure) -> str:
    """Every string a person can read in a figure: titles, annotations, labels, hover text."""
    return fig.to_json()


def annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_attention_panels_count_layers_and_heads_from_1_and_hold_that_heads_weights():
    att = np.random.default_rng(0).random((2, 3, 4, 4))  # [layer, head, query, key]
    fig = attention_figure(att, list("abcd"))
    titles = annotation_texts(fig)
    assert titles == [f"layer {li} · head {h}" for li in (1, 2) for h in (1, 2, 3)]
    assert panel_title(0, 0) == "layer 1 · head 1"
    assert not ZERO_BASED.search(shown_text(fig))
    # the panel titled "layer 2 · head 3" draws att[1, 2] (make_subplots titles go row by row)
    z = np.asarray(fig.data[titles.index("layer 2 · head 3")].z, dtype=float)
    assert np.allclose(z[3], att[1, 2, 3]) and np.isnan(z[0, 1])


@pytest.mark.parametrize("head, which", [(0, "head 1"), (1, "head 2"),
                                         (None, "mean of the heads")])
def test_answer_attention_panels_count_from_1(head, which):
    task = AdditionTask(ndigit=2)
    cfg = GPTConfig(vocab_size=task.vocab_size, block_size=task.block_size, n_layer=2,
                    n_head=2, n_embd=16)
    ex = task.attention(build_model(cfg, 0), "37+85")
    fig = answer_attention_figure(ex, head=head)
    texts = annotation_texts(fig)
    assert f"layer 1 · {which}" in texts and f"layer 2 · {which}" in texts
    assert not ZERO_BASED.search(shown_text(fig))
    if head is not None:  # the panel of layer 1 is head index `head` of layer index 0
        z = np.asarray(fig.data[0].z, dtype=float)
        want = ex.attention[0, head, ex.answer_rows].numpy()
        assert np.allclose(z[~np.isnan(z)], want[~np.isnan(z)], atol=1e-6)


def test_forward_pass_blocks_heads_and_logit_lens_count_from_1():
    tok = CharTokenizer("abcdefgh ")
    torch.manual_seed(3)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=2, n_head=2,
                          n_embd=16)).eval()
    ids = tok.encode("bad cafe")
    trace = trace_forward(model, ids, tok)
    att = trace.get("attn_weights", 0)
    assert att.title == "Block 1 · Attention weights (softmax)"
    fig = stage_figure(att, trace.tokens, tok.token_str)
    assert annotation_texts(fig) == ["head 1", "head 2"]
    assert fig.data[0].hovertemplate.startswith("head 1<br>")
    for s in trace.stages:
        assert not ZERO_BASED.search(s.title + " " + s.explanation), s.title
        f = stage_figure(s, trace.tokens, tok.token_str)
        if f is not None:
            assert not ZERO_BASED.search(shown_text(f)), s.title
    lens = logit_lens_figure(logit_lens(model, ids), trace.tokens, tok.token_str)
    assert list(lens.data[0].y) == ["embeddings", "after block 1", "after block 2"]
