"""Figure builders for tokens and the forward pass: the data they draw is the data given."""

from __future__ import annotations

import html

import numpy as np
import pytest
import torch

from gptviz.config import GPTConfig
from gptviz.model import GPT
from gptviz.tokenizers import BPETokenizer, ByteTokenizer, CharTokenizer
from gptviz.trace import logit_lens, trace_forward
from gptviz.viz.forward import (
    heads_heatmap,
    logit_lens_figure,
    matrix_heatmap,
    position_labels,
    stage_figure,
    top_k_bar,
    vocab_heatmap,
)
from gptviz.viz.tokens import PALETTE, merges_table, spans_html, token_spans, visible

XSS = "<img src=x onerror=alert(1)>"


def test_user_text_comes_out_escaped():
    tok = ByteTokenizer()
    out = spans_html(token_spans(tok, tok.encode(XSS + ' "quoted" & \'single\'')))
    assert "<img" not in out and "onerror=alert(1)>" not in out
    assert "&lt;" in out and "&gt;" in out and "&amp;" in out
    # every byte of the text is inside the boxes, escaped, in order
    boxes = [html.unescape(b.split(">", 1)[1].split("<span", 1)[0])
             for b in out.split('<span title="')[1:]]
    assert "".join(boxes) == XSS + ' "quoted" & \'single\''
    # the tooltip attribute is escaped too (quotes would end it)
    assert 'title="token 60: &#x27;&lt;&#x27;"' in out


def test_spans_keep_ids_order_and_alternate_colours():
    tok = CharTokenizer("ab\n")
    ids = tok.encode("ab\nba")
    spans = token_spans(tok, ids)
    assert [s.id for s in spans] == ids and [s.text for s in spans] == list("ab\nba")
    assert all(spans[i].colour != spans[i + 1].colour for i in range(len(spans) - 1))
    assert spans[0].colour == PALETTE[0]
    out = spans_html(spans)
    assert "↵<br>" in out  # a new line shows, then breaks the line
    assert all(f">{i}</span>" in out for i in set(ids))


def test_merges_table_lists_merges_in_learned_order():
    tok = BPETokenizer.train("the cat the hat the end", 3)
    rows = merges_table(tok)
    assert [r["order"] for r in rows] == [1, 2, 3]
    assert [r["id"] for r in rows] == [256, 257, 258]
    for r, m in zip(rows, tok.merges, strict=True):
        assert r["new token"] == visible(tok.token_str(m.left) + tok.token_str(m.right))
        assert r["pairs in corpus"] == m.count
    assert rows[0]["pairs in corpus"] >= rows[-1]["pairs in corpus"]
    assert visible(" a\n") == "␣a↵"


def test_position_labels_are_unique_even_for_repeated_tokens():
    labels = position_labels(["a", " ", "a"])
    assert labels == ["0 a", "1 ␣", "2 a"] and len(set(labels)) == 3


def test_matrix_heatmap_draws_the_values_and_cuts_wide_matrices():
    m = torch.arange(12.0).view(2, 6) - 5
    fig = matrix_heatmap(m, ["0 a", "1 b"], "x")
    np.testing.assert_allclose(np.array(fig.data[0].z), m.numpy())
    assert fig.data[0].zmid == 0 and fig.data[0].zmax == 6  # symmetric around zero
    wide = matrix_heatmap(torch.zeros(2, 200), ["0 a", "1 b"], "wide", max_cols=50)
    assert np.array(wide.data[0].z).shape == (2, 50)
    assert "first 50 of 200" in wide.layout.title.text
    with pytest.raises(ValueError):
        matrix_heatmap(m, ["only one label"], "x")


def test_attention_heatmap_leaves_masked_cells_empty():
    T = 3
    scores = torch.randn(2, T, T).masked_fill(
        torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    fig = heads_heatmap(scores, position_labels("abc"), "s", col_labels=position_labels("abc"))
    assert len(fig.data) == 2
    z = np.array(fig.data[1].z, dtype=float)
    assert np.isnan(z[0, 1]) and np.isnan(z[0, 2]) and not np.isnan(z[2, 0])
    assert fig.data[0].zmax == fig.data[1].zmax  # heads share one scale


@pytest.fixture(scope="module")
def traced():
    tok = CharTokenizer("abcdefgh ")
    torch.manual_seed(3)
    m = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=2, n_head=2,
                      n_embd=16)).eval()
    ids = tok.encode("bad cafe")
    return tok, m, ids, trace_forward(m, ids, tok)


def test_top_k_bar_shows_the_most_probable_tokens_in_order(traced):
    tok, _, _, tr = traced
    p = tr.probs[-1]
    fig = top_k_bar(p, tok.token_str, k=4)
    bars = fig.data[0]
    expected = torch.topk(p, 4)
    np.testing.assert_allclose(bars.x, expected.values.numpy(), rtol=1e-6)
    assert list(bars.customdata) == expected.indices.tolist()
    assert list(bars.y) == [visible(tok.token_str(i)) for i in expected.indices.tolist()]


def test_vocab_heatmap_columns_are_the_top_tokens_at_the_last_position(traced):
    tok, _, _, tr = traced
    fig = vocab_heatmap(tr.logits, position_labels(tr.tokens), tok.token_str, "logits", k=3)
    top = torch.topk(tr.logits[-1], 3).indices
    np.testing.assert_allclose(np.array(fig.data[0].z), tr.logits[:, top].numpy(), rtol=1e-6)


def test_logit_lens_figure_shows_top_token_and_probability(traced):
    tok, m, ids, tr = traced
    lens = logit_lens(m, ids)
    fig = logit_lens_figure(lens, tr.tokens, tok.token_str)
    hm = fig.data[0]
    assert list(hm.y) == ["embeddings", "after block 1", "after block 2"]
    p, ix = lens.max(-1)
    np.testing.assert_allclose(np.array(hm.z), p.numpy(), rtol=1e-6)
    assert hm.text[2][-1] == visible(tok.token_str(tr.next_id))  # last row = the prediction


def test_every_stage_gets_a_figure_of_its_own_shape(traced):
    tok, _, _, tr = traced
    for s in tr.stages:
        fig = stage_figure(s, tr.tokens, tok.token_str)
        if s.key in ("ids", "next_token"):
            assert fig is None
            continue
        z = np.array(fig.data[0].z, dtype=float)
        assert z.shape[0] == len(tr.tokens)
        if s.tensor.dim() == 3:
            assert len(fig.data) == s.shape[0]  # one panel per head
