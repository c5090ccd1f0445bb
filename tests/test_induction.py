"""The induction task and its measurements, against hand counts and hand-built attention."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.nn import functional as F

from gptviz.analysis import conditional_entropy
from gptviz.config import ConfigError, GPTConfig, TrainConfig
from gptviz.induction import (
    Layout,
    best_head,
    floor_fixed,
    floor_varied,
    half_losses,
    induction_score,
    per_head,
    prev_token_score,
    uniform_induction_score,
)
from gptviz.tasks.induction import InductionTask
from gptviz.train import Trainer, build_model


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- the batches ----------------------------------------------------------------------------
def test_fixed_batches_repeat_the_first_half_and_targets_are_the_next_tokens():
    task = InductionTask(seq_len=32, vocab_size=64)
    x, y = task.get_batch("train", 50, gen())
    assert x.shape == y.shape == (50, 31) and task.block_size == 31
    seq = torch.cat([x, y[:, -1:]], dim=1)  # the whole sequence back: x then y's last
    assert torch.equal(seq[:, 16:], seq[:, :16])  # the second half is the first
    assert torch.equal(y[:, :-1], x[:, 1:])  # y[i] is the token after x[i]
    assert (y >= 0).all() and int(x.max()) < 64  # everything scored; 64 tokens, no separator
    assert task.vocab_size == 64
    assert len({tuple(r) for r in seq[:, :16].tolist()}) == 50  # fresh random halves


def test_varied_batches_mark_each_copy_and_score_only_the_tokens():
    task = InductionTask(seq_len=32, vocab_size=64, layout="varied")
    sep = task.separator
    assert sep == 64 and task.vocab_size == 65
    x, y = task.get_batch("train", 200, gen(1))
    lay = task.layout(x)
    for b in range(200):
        f, c, n = int(lay.first[b]), int(lay.copy[b]), int(lay.n[b])
        row = x[b].tolist() + [int(y[b, -1]) if y[b, -1] >= 0 else sep]
        assert 2 <= n <= 15 and f >= 1 and c == f + n + 1
        assert row[:f] == [sep] * f and row[c - 1] == sep  # a separator before each copy
        assert row[c:c + n] == row[f:f + n] and sep not in row[f:f + n]  # the repeat
        assert all(t == sep for t in row[c + n:])  # then only separators
        for i in range(31):  # y is the next token, with every separator unscored
            nxt = row[i + 1]
            assert int(y[b, i]) == (-1 if nxt == sep else nxt)
    assert len(set(lay.n.tolist())) > 10 and len(set(lay.first.tolist())) > 10  # they vary


def test_the_validation_set_is_fixed_and_evaluated_whole():
    task = InductionTask(seq_len=16, vocab_size=8)
    again = InductionTask(seq_len=16, vocab_size=8)
    assert torch.equal(task.val[0], again.val[0])
    (vx, vy), = task.eval_batches("val", 12, 4, gen())
    assert torch.equal(vx, task.val[0]) and len(vx) == 256
    x, _ = task.get_batch("train", 12, gen())
    assert not any(torch.equal(r, v) for r in x for v in vx)  # training draws fresh ones


# --- the floor ------------------------------------------------------------------------------
def test_the_fixed_floor_is_15_31_ln_64_for_the_demo():
    assert floor_fixed(32, 64) == pytest.approx(15 / 31 * math.log(64))
    assert floor_fixed(32, 64) == pytest.approx(2.012, abs=5e-4)
    assert InductionTask().entropy_floor() == floor_fixed(32, 64)


def test_the_fixed_floor_equals_the_exact_conditional_entropy_of_every_sequence():
    # every one of the 3**3 first halves once: the data's own H(next | everything before)
    V, T = 3, 6
    halves = torch.tensor(list(itertools.product(range(V), repeat=T // 2)))
    seq = torch.cat([halves, halves], dim=1)
    assert conditional_entropy(seq[:, :-1], seq[:, 1:]) == pytest.approx(floor_fixed(T, V))
    assert floor_fixed(T, V) == pytest.approx(2 / 5 * math.log(3))  # by hand: 2 of 5 targets


def test_the_varied_floor_equals_the_exact_conditional_entropy_of_every_sequence():
    # seq_len 8, V 2: n = 2 (starts 1, 2, 3) or n = 3 (start 1), each half equally likely,
    # then every start, then every token string: weights 1/2 * 1/3 * 1/4 and 1/2 * 1/1 * 1/8,
    # so n = 2 sequences twice and n = 3 sequences three times (48ths)
    V, T, sep = 2, 8, 2
    rows = []
    for n, starts, copies in ((2, (1, 2, 3), 2), (3, (1,), 3)):
        for start in starts:
            for toks in itertools.product(range(V), repeat=n):
                row = [sep] * start + list(toks) + [sep] + list(toks)
                rows += [row + [sep] * (T - len(row))] * copies
    seq = torch.tensor(rows)
    y = seq[:, 1:].clone()
    y[y == sep] = -1
    assert conditional_entropy(seq[:, :-1], y) == pytest.approx(floor_varied(V))
    assert floor_varied(64) == pytest.approx(math.log(64) / 2) == pytest.approx(2.079, abs=5e-4)
    task = InductionTask(seq_len=8, vocab_size=2, layout="varied")
    x, _ = task.get_batch("train", 4000, gen(2))
    lay = task.layout(x)
    assert set(zip(lay.n.tolist(), lay.first.tolist(), strict=True)) == {
        (2, 1), (2, 2), (2, 3), (3, 1)}  # the task draws exactly those layouts


# --- the scores, on hand-built attention ----------------------------------------------------
def stripe(layout: Layout, T: int) -> torch.Tensor:
    """(B, T, T): each induction query looks only at its key; every other query at itself."""
    B = len(layout.n)
    att = torch.eye(T).repeat(B, 1, 1)
    ok, key = layout.induction_queries(T)
    for b in range(B):
        for q in range(T):
            if ok[b, q]:
                att[b, q] = 0
                att[b, q, key[b, q]] = 1
    return att


def causal_uniform(B: int, T: int) -> torch.Tensor:
    att = torch.tril(torch.ones(T, T))
    return (att / att.sum(-1, keepdim=True)).repeat(B, 1, 1)


def test_a_perfect_stripe_scores_1_and_uniform_attention_its_chance_level():
    T = 7  # fixed layout of 8 tokens: n = 4, queries 4, 5, 6 look at 1, 2, 3
    lay = Layout.fixed(3, 4)
    ok, key = lay.induction_queries(T)
    assert ok[0].nonzero().view(-1).tolist() == [4, 5, 6]
    assert key[0, 4:7].tolist() == [1, 2, 3]
    att = stripe(lay, T)[:, None]  # (B, 1 head, T, T)
    assert induction_score(att, lay).tolist() == pytest.approx([1.0])
    uniform = causal_uniform(3, T)[:, None]
    by_hand = (1 / 5 + 1 / 6 + 1 / 7) / 3
    assert induction_score(uniform, lay).item() == pytest.approx(by_hand)
    assert uniform_induction_score(lay, T) == pytest.approx(by_hand)
    # the previous-token score of uniform attention: queries 1..6 give 1/(q+1) to q - 1
    assert prev_token_score(uniform, lay).item() == pytest.approx(
        sum(1 / (q + 1) for q in range(1, 7)) / 6)


def test_scores_count_every_query_of_varied_sequences_and_keep_heads_apart():
    # two sequences, halves 2 and 3: queries (5) -> 3 and (6, 7) -> (3, 4), 3 queries in all
    lay = Layout(first=torch.tensor([2, 1]), copy=torch.tensor([5, 5]), n=torch.tensor([2, 3]))
    T = 9
    ok, key = lay.induction_queries(T)
    assert [ok[b].nonzero().view(-1).tolist() for b in range(2)] == [[5], [5, 6]]
    assert key[0, 5] == 3 and key[1, 5:7].tolist() == [2, 3]
    good = stripe(lay, T)
    half = good.clone()
    half[1, 6] = 0
    half[1, 6, 0] = 0.5
    half[1, 6, 3] = 0.5  # one of the three queries gives only half its attention
    att = torch.stack([good, half, causal_uniform(2, T)], dim=1)  # (B, 3 heads, T, T)
    scores = induction_score(att, lay)
    assert scores[0] == pytest.approx(1.0) and scores[1] == pytest.approx((1 + 1 + 0.5) / 3)
    assert scores[2] == pytest.approx((1 / 6 + 1 / 6 + 1 / 7) / 3)
    # previous-token queries run from 1 to the last scored input: copy + n - 2 = 5 and 6
    prev = torch.zeros(2, 1, T, T)
    for q in range(1, T):
        prev[:, 0, q, q - 1] = 1
    assert prev_token_score(prev, lay).item() == pytest.approx(1.0)
    assert induction_score(prev, lay).item() == pytest.approx(0.0)


def test_best_head_and_per_head_read_back_the_metrics():
    assert best_head([[0.1, 0.7], [0.9, 0.2]]) == (1, 0)
    assert best_head([[0.5, 0.5]]) == (0, 0)  # the first of a tie
    m = {"induction_L1H1": 0.1, "induction_L1H2": 0.2, "prev_token_L1H1": 0.3,
         "prev_token_L1H2": 0.4}
    assert per_head(m, "induction", 1, 2) == [[0.1, 0.2]]
    assert per_head(m, "prev_token", 1, 2) == [[0.3, 0.4]]


# --- the losses and the metrics on a real model ---------------------------------------------
@pytest.mark.parametrize("layout", ["fixed", "varied"])
def test_metrics_equal_plain_pytorch_on_a_model(layout):
    task = InductionTask(seq_len=12, vocab_size=6, layout=layout)
    cfg = GPTConfig(vocab_size=task.vocab_size, block_size=task.block_size, n_layer=2,
                    n_head=2, n_embd=16)
    model = build_model(cfg, seed=0).eval()
    m = task.metrics(model)
    x, y = task.metric_batch()
    out = model(x, return_attention=True)
    logp = F.log_softmax(out.logits, dim=-1)
    lay = task.layout(x)
    first, rep, ind, prev = [], [], torch.zeros(2, 2), torch.zeros(2, 2)
    n_ind = n_prev = 0
    for b in range(len(x)):  # by hand, position by position
        f, c, n = int(lay.first[b]), int(lay.copy[b]), int(lay.n[b])
        for i in range(x.shape[1]):
            nll = -logp[b, i, y[b, i]].item() if y[b, i] >= 0 else None
            if f - 1 <= i <= f + n - 2:
                first.append(nll)
            if c - 1 <= i <= c + n - 2:
                rep.append(nll)
        for q in range(c, c + n - 1):  # t_{q-c} repeated: the token after its copy
            n_ind += 1
            for layer in range(2):
                ind[layer] += out.attention[layer][b, :, q, f + (q - c) + 1]
        for q in range(1, c + n - 1):
            n_prev += 1
            for layer in range(2):
                prev[layer] += out.attention[layer][b, :, q, q - 1]
    assert None not in first + rep  # every target of the two halves is scored
    assert m["first_half_loss"] == pytest.approx(sum(first) / len(first), rel=1e-5)
    assert m["repeat_loss"] == pytest.approx(sum(rep) / len(rep), rel=1e-5)
    assert len(first) + len(rep) == int((y >= 0).sum())  # the halves are every scored target
    torch.testing.assert_close(torch.tensor(per_head(m, "induction", 2, 2)), ind / n_ind)
    torch.testing.assert_close(torch.tensor(per_head(m, "prev_token", 2, 2)), prev / n_prev)
    assert m["induction_score"] == max(m[f"induction_L{a}H{b}"] for a in (1, 2) for b in (1, 2))
    whole, f_loss, r_loss = half_losses(out.logits, y, lay)
    assert whole == pytest.approx(model(x, y).loss.item(), rel=1e-5)


def test_the_trainer_records_the_metrics_at_each_evaluation():
    task = InductionTask(seq_len=8, vocab_size=4)
    cfg = GPTConfig(vocab_size=4, block_size=7, n_layer=1, n_head=2, n_embd=8)
    trainer = Trainer(build_model(cfg, 0), task, TrainConfig(max_steps=4, eval_interval=2))
    events = []
    trainer.add_callback(events.append)
    trainer.run(4)
    evals = [e for e in events if hasattr(e, "metrics")]
    assert [e.step for e in evals] == [2, 4]
    assert evals[-1].metrics == pytest.approx(task.metrics(trainer.model))
    assert evals[-1].val_loss == pytest.approx(
        trainer.model(*task.val).loss.item(), rel=1e-5)  # val: the whole fixed set


# --- bad settings ---------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "words"), [
    (dict(seq_len=31), "cannot be cut into two equal halves"),
    (dict(seq_len=3), "cannot be cut into two equal halves"),
    (dict(seq_len=2), "too short to repeat: it needs at least 4"),
    (dict(seq_len=5, layout="varied"), "at least 6"),
    (dict(vocab_size=1), "2 to 64 random tokens"),
    (dict(vocab_size=65), "2 to 64 random tokens"),
    (dict(layout="shuffled"), "must be one of fixed, varied"),
    (dict(layout="varied", min_half=16), "shortest half must be 2 to 15"),
    (dict(seq_len=1000), "up to 256"),
])
def test_bad_settings_get_a_sentence(kwargs, words):
    with pytest.raises(ValueError, match=words) as e:
        InductionTask(**kwargs)
    assert isinstance(e.value, ConfigError) and e.value.args[0].endswith(".")


# --- the crash, end to end ------------------------------------------------------------------
@pytest.mark.slow
def test_the_demo_crashes_and_switching_its_best_head_off_brings_the_loss_back():
    from gptviz.ablate import Ablation
    from gptviz.tasks.presets import PRESETS

    task, mcfg, tcfg = PRESETS["induction"]["demo"].build(train=dict(eval_interval=50))
    trainer = Trainer(build_model(mcfg, tcfg.seed), task, tcfg)
    before = task.scores(trainer.model)
    trainer.run(200)  # the preset's seed crashes at about step 100-125
    whole = task.scores(trainer.model)
    assert before.repeat_loss > 4.0 and whole.repeat_loss < 0.3  # the crash
    assert whole.first_half_loss == pytest.approx(math.log(64), abs=0.05)  # nothing to learn
    off = task.scores(trainer.model, Ablation(heads=frozenset({whole.best_head})))
    assert off.repeat_loss > whole.repeat_loss + 1.0  # it rises again without that head
    assert off.first_half_loss == pytest.approx(math.log(64), abs=0.1)
    again = task.scores(trainer.model)  # the hooks are gone: the model is whole
    assert again.repeat_loss == pytest.approx(whole.repeat_loss, rel=1e-6)
