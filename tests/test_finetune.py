"""GPT-1's fine-tuning: input transformations, the head, the combined loss, and learning."""

from __future__ import annotations

import time

import pytest
import torch
from torch.nn import functional as F

from gptviz.config import ConfigError, GPTConfig
from gptviz.gpt1.comparison import ComparisonJob, accuracy_table, run_comparison
from gptviz.gpt1.finetune import (
    ClassifierGPT,
    EncodedExamples,
    FineTuneConfig,
    FineTuner,
    accuracy,
    combined_loss,
    encode_examples,
    finetune_tokenizer,
    new_classifier,
    predict,
    special_ids,
    transform,
)
from gptviz.gpt1.labelled import LabelledExample, LabelledTask
from gptviz.live import FairSlots
from gptviz.model import GPT
from gptviz.tokenizers import CharTokenizer


@pytest.fixture
def tok() -> CharTokenizer:
    return finetune_tokenizer("abc ")


def tiny_gpt(vocab: int, block: int = 16, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=vocab, block_size=block, n_layer=1, n_head=2, n_embd=16))


def test_tokenizer_puts_special_tokens_last(tok: CharTokenizer) -> None:
    # sorted characters " abc", then the three special tokens
    assert tok.chars == [" ", "a", "b", "c", "<start>", "<delim>", "<extract>"]
    assert special_ids(tok) == (4, 5, 6)
    with pytest.raises(ValueError):
        tok.encode("<start>")  # text never produces a special token: '<' is not a character
    with pytest.raises(ConfigError, match="no <start>"):
        special_ids(CharTokenizer("ab"))


def test_transform_by_hand(tok: CharTokenizer) -> None:
    # <start>=4 <delim>=5 <extract>=6; ' '=0 a=1 b=2 c=3
    assert transform(tok, "ab c") == [4, 1, 2, 0, 3, 6]
    assert transform(tok, "ab", "ca") == [4, 1, 2, 5, 3, 1, 6]
    assert [tok.token_str(i) for i in transform(tok, "a", "b")] == [
        "<start>", "a", "<delim>", "b", "<extract>"]


def test_encode_examples_pads_and_shifts(tok: CharTokenizer) -> None:
    data = encode_examples(tok, [LabelledExample("ab", None, 1),
                                 LabelledExample("a", "bc", 0)], block_size=8)
    assert data.idx.tolist() == [[4, 1, 2, 6, 0, 0], [4, 1, 5, 2, 3, 6]]
    # L1's targets: the next token at each position, none after <extract> or in the padding
    assert data.lm_targets.tolist() == [[1, 2, 6, -1, -1, -1], [1, 5, 2, 3, 6, -1]]
    assert data.labels.tolist() == [1, 0]
    with pytest.raises(ConfigError, match="context is 5"):
        encode_examples(tok, [LabelledExample("abcabc", None, 0)], block_size=5)


def test_head_shapes_and_reads_the_extract_state(tok: CharTokenizer) -> None:
    gpt = tiny_gpt(tok.vocab_size)
    model = ClassifierGPT(gpt, n_classes=3, extract_id=special_ids(tok)[2], dropout=0.0).eval()
    data = encode_examples(tok, [LabelledExample("ab", None, 1),
                                 LabelledExample("a", "bc", 0)], block_size=16)
    out = model(data.idx, data.lm_targets)
    assert out.class_logits.shape == (2, 3)
    assert out.lm_logits.shape == (2, 6, tok.vocab_size)
    # the LM side is exactly the GPT's own forward (oracle: GPT.forward)
    ref = gpt(data.idx, data.lm_targets)
    torch.testing.assert_close(out.lm_logits, ref.logits)
    torch.testing.assert_close(out.lm_loss, ref.loss)
    # the class logits are W_y applied to the final state at <extract> (positions 3 and 5)
    h = model.hidden_states(data.idx)
    W, b = model.head.W_y.weight, model.head.W_y.bias
    expected = torch.stack([h[0, 3] @ W.T + b, h[1, 5] @ W.T + b])
    torch.testing.assert_close(out.class_logits, expected)
    # padding after <extract> cannot change the class (attention is causal)
    other = data.idx.clone()
    other[0, 4:] = 3
    torch.testing.assert_close(model(other).class_logits, out.class_logits)
    with pytest.raises(ValueError, match="<extract>"):
        model(torch.tensor([[4, 1, 2]]))


def test_combined_loss_is_l2_plus_lambda_l1() -> None:
    torch.manual_seed(0)
    logits = torch.randn(5, 3, requires_grad=True)
    labels = torch.tensor([0, 2, 1, 1, 0])
    lm_loss = torch.tensor(2.5, requires_grad=True)
    # L2 by hand: mean of -log softmax at the label
    l2 = -(logits.log_softmax(-1)[torch.arange(5), labels]).mean()
    for lam in (0.0, 0.5, 2.0):
        loss = combined_loss(logits, labels, lm_loss, lam)
        torch.testing.assert_close(loss.clf, l2)
        torch.testing.assert_close(loss.total, l2 + lam * 2.5)
    # lambda = 0: pure classification, no gradient reaches the LM loss
    loss = combined_loss(logits, labels, lm_loss, 0.0)
    loss.total.backward()
    assert lm_loss.grad is not None and lm_loss.grad.item() == 0.0
    torch.testing.assert_close(loss.total, F.cross_entropy(logits, labels))


def test_lambda_zero_gives_the_same_update_as_classification_alone(tok: CharTokenizer) -> None:
    data = encode_examples(tok, [LabelledExample("ab", None, 1), LabelledExample("ba", None, 0)],
                           block_size=16)
    cfg = FineTuneConfig(lam=0.0, n_labelled=2, steps=1, head_dropout=0.0, n_val=10)
    m1 = ClassifierGPT(tiny_gpt(tok.vocab_size), 2, 6, dropout=0.0)
    m2 = ClassifierGPT(tiny_gpt(tok.vocab_size), 2, 6, dropout=0.0)
    FineTuner(m1, data, data, cfg).step()
    # the same step by hand, on L2 only
    opt = torch.optim.AdamW(m2.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    F.cross_entropy(m2(data.idx).class_logits, data.labels).backward()
    opt.step()
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        torch.testing.assert_close(p1, p2)


class FirstLetterTask(LabelledTask):
    """Trivially separable: class = does the text start with 'a' (1) or 'b' (0)."""

    name = "first"
    title = "first letter"
    description = "test"
    class_names = ("b", "a")
    two_inputs = False
    min_line_chars = 1
    max_chars = 6

    def __init__(self) -> None:
        self.regions = {"train": ["x"], "val": ["x"]}

    def make_example(self, lines, label, rng) -> LabelledExample:  # type: ignore[override]
        rest = "".join(rng.choice("abc ") for _ in range(5))
        return LabelledExample(("a" if label else "b") + rest, None, label)


def test_tiny_finetune_learns_a_separable_task(tok: CharTokenizer) -> None:
    task = FirstLetterTask()
    # (a 1-layer, 16-wide model learns it with lambda = 0 but stalls with lambda = 0.5)
    gpt_config = GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=2, n_head=2,
                           n_embd=32)
    cfg = FineTuneConfig(n_labelled=64, steps=60, learning_rate=3e-3, eval_interval=20,
                         n_val=64, batch_size=32, lam=0.5)
    runs = run_comparison(task, tok, gpt_config, cfg, inits=("scratch",))
    (run,) = runs
    assert run.steps == [0, 20, 40, 60] and run.finished
    assert run.val_accuracy[-1] >= 0.95  # chance is 0.5
    assert accuracy_table(runs) == {"scratch": {64: run.val_accuracy[-1]}}


def test_comparison_fair_and_pretrained_model_untouched(tok: CharTokenizer) -> None:
    task = FirstLetterTask()
    pre = tiny_gpt(tok.vocab_size)
    before = {k: v.clone() for k, v in pre.state_dict().items()}
    cfg = FineTuneConfig(n_labelled=8, steps=4, eval_interval=2, n_val=16, batch_size=4)
    events = []
    runs = run_comparison(task, tok, pre.config, cfg, pre, label_counts=[16, 8],
                          on_event=events.append)
    assert [(r.n_labelled, r.init) for r in runs] == [
        (8, "pretrained"), (8, "scratch"), (16, "pretrained"), (16, "scratch")]
    assert all(r.steps == [0, 2, 4] and r.finished for r in runs)
    assert events[-1].run_index == 3 and events[-1].runs_total == 4
    for k, v in pre.state_dict().items():
        torch.testing.assert_close(v, before[k])  # fine-tuning worked on a copy
    # both starting points get the same head
    a = new_classifier("pretrained", pre.config, 2, 6, pre, seed=3)
    b = new_classifier("scratch", pre.config, 2, 6, pre, seed=3)
    torch.testing.assert_close(a.head.W_y.weight, b.head.W_y.weight)
    assert not torch.equal(a.gpt.transformer.wpe.weight, b.gpt.transformer.wpe.weight)


def test_comparison_stops_when_asked(tok: CharTokenizer) -> None:
    task = FirstLetterTask()
    cfg = FineTuneConfig(n_labelled=8, steps=50, eval_interval=5, n_val=16, batch_size=4)
    gpt_config = tiny_gpt(tok.vocab_size).config
    seen = []
    runs = run_comparison(task, tok, gpt_config, cfg, inits=("scratch",), label_counts=[8, 16],
                          on_event=seen.append, should_stop=lambda: len(seen) >= 3)
    assert len(runs) == 1 and not runs[0].finished and runs[0].final_accuracy is None
    assert accuracy_table(runs) == {}


def test_missing_pretrained_model_is_a_clear_error(tok: CharTokenizer) -> None:
    cfg = FineTuneConfig(n_labelled=8, steps=2, n_val=16)
    with pytest.raises(ConfigError, match="pre-trained"):
        run_comparison(FirstLetterTask(), tok, tiny_gpt(tok.vocab_size).config, cfg)
    with pytest.raises(ConfigError, match="lambda"):
        FineTuneConfig(lam=-1).validate()


def test_job_runs_in_the_background_and_reports(tok: CharTokenizer) -> None:
    job = ComparisonJob(slots=FairSlots(1))
    gpt_config = tiny_gpt(tok.vocab_size).config
    cfg = FineTuneConfig(n_labelled=8, steps=4, eval_interval=2, n_val=16, batch_size=4)
    job.start(task=FirstLetterTask(), tokenizer=tok, model_config=gpt_config, config=cfg,
              inits=("scratch",))
    deadline = time.time() + 20
    while job.running and time.time() < deadline:
        time.sleep(0.05)
    status, runs, total, message = job.snapshot()
    assert (status, total, message) == ("done", 1, None)
    assert runs[0].finished and runs[0].steps == [0, 2, 4]
    # an error is a message, not an exception in the page's thread
    job.start(task=FirstLetterTask(), tokenizer=tok, model_config=gpt_config, config=cfg)
    deadline = time.time() + 20
    while job.running and time.time() < deadline:
        time.sleep(0.05)
    status, _, _, message = job.snapshot()
    assert status == "error" and "pre-trained" in message


def test_predict_and_accuracy_agree(tok: CharTokenizer) -> None:
    model = ClassifierGPT(tiny_gpt(tok.vocab_size), 2, 6)
    data = encode_examples(tok, [LabelledExample("ab", None, 1), LabelledExample("ba", None, 0)],
                           block_size=16)
    probs = [predict(model, tok, "ab"), predict(model, tok, "ba")]
    assert all(abs(float(p.sum()) - 1) < 1e-6 for p in probs)
    expected = sum(int(p.argmax()) == y for p, y in zip(probs, [1, 0], strict=True)) / 2
    assert accuracy(model, data) == expected
    assert isinstance(data, EncodedExamples)
