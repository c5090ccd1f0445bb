"""GPT-1's fine-tuning: input transformations, the head, the combined loss, and learning."""

from __future__ import annotations

import time

import pytest
import torch
from torch.nn import functional as F

from gptviz.config import ConfigError, GPTConfig
from gptviz.gpt1.comparison import ComparisonJob, accuracy_table, run_comparison
from gptviz.gpt1.finetune import (
    MULTIPLE_CHOICE,
    SIMILARITY,
    ClassifierGPT,
    EncodedExamples,
    FineTuneConfig,
    FineTuner,
    accuracy,
    combined_loss,
    encode_examples,
    example_sequences,
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
    # (N, S, T): one sequence per example here
    assert data.idx.tolist() == [[[4, 1, 2, 6, 0, 0]], [[4, 1, 5, 2, 3, 6]]]
    # L1's targets: the next token at each position, none after <extract> or in the padding
    assert data.lm_targets.tolist() == [[[1, 2, 6, -1, -1, -1]], [[1, 5, 2, 3, 6, -1]]]
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
    assert out.lm_logits.shape == (2, 1, 6, tok.vocab_size)  # (B, S, T, vocab), S = 1
    # the LM side is exactly the GPT's own forward (oracle: GPT.forward)
    ref = gpt(data.idx[:, 0], data.lm_targets[:, 0])
    torch.testing.assert_close(out.lm_logits[:, 0], ref.logits)
    # (B, T) in, as GPT reads it: the same numbers, without the S axis
    flat = model(data.idx[:, 0], data.lm_targets[:, 0])
    torch.testing.assert_close(flat.lm_logits, ref.logits)
    torch.testing.assert_close(flat.class_logits, out.class_logits)
    torch.testing.assert_close(out.lm_loss, ref.loss)
    # the class logits are W_y applied to the final state at <extract> (positions 3 and 5)
    h = model.hidden_states(data.idx[:, 0])
    W, b = model.head.W_y.weight, model.head.W_y.bias
    expected = torch.stack([h[0, 3] @ W.T + b, h[1, 5] @ W.T + b])
    torch.testing.assert_close(out.class_logits, expected)
    # padding after <extract> cannot change the class (attention is causal)
    other = data.idx.clone()
    other[0, 0, 4:] = 3
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


# --- similarity and multiple choice (the paper's figure 1) ----------------------------------

def final_states(gpt: GPT, seq: list[int]) -> torch.Tensor:
    """Oracle: GPT.forward on one sequence alone, its ln_f output caught by a hook, (T, C)."""
    seen = []
    hook = gpt.transformer.ln_f.register_forward_hook(lambda m, i, out: seen.append(out))
    gpt(torch.tensor([seq]))
    hook.remove()
    return seen[0][0]


def test_example_sequences_by_hand(tok: CharTokenizer) -> None:
    # <start>=4 <delim>=5 <extract>=6; ' '=0 a=1 b=2 c=3
    pair = LabelledExample("ab", "c", 1)
    assert example_sequences(tok, pair) == [[4, 1, 2, 5, 3, 6]]  # entailment, as written
    assert example_sequences(tok, pair, SIMILARITY) == [[4, 1, 2, 5, 3, 6], [4, 3, 5, 1, 2, 6]]
    mc = LabelledExample("a", None, 1, ("b", "cc", " "))
    assert example_sequences(tok, mc, MULTIPLE_CHOICE) == [
        [4, 1, 5, 2, 6], [4, 1, 5, 3, 3, 6], [4, 1, 5, 0, 6]]
    with pytest.raises(ValueError, match="two or more choices"):
        example_sequences(tok, LabelledExample("a", None, 0, ("b",)), MULTIPLE_CHOICE)
    with pytest.raises(ValueError, match="two inputs"):
        example_sequences(tok, LabelledExample("a", None, 0), SIMILARITY)


def test_similarity_adds_both_orders_and_ignores_the_order(tok: CharTokenizer) -> None:
    gpt = tiny_gpt(tok.vocab_size, seed=1)
    model = ClassifierGPT(gpt, 2, 6, dropout=0.0, transformation=SIMILARITY).eval()
    ab = encode_examples(tok, [LabelledExample("abc", "b a", 0),
                               LabelledExample("c", "aab", 1)], 16, SIMILARITY)
    ba = encode_examples(tok, [LabelledExample("b a", "abc", 0),
                               LabelledExample("aab", "c", 1)], 16, SIMILARITY)
    assert ab.idx.shape == (2, 2, 9)  # both orders of each pair, <start> 6 chars <delim> <extract>
    assert ab.idx[:, 0].tolist() == ba.idx[:, 1].tolist()  # swapping A, B swaps the orders
    logits = model(ab.idx).class_logits
    assert logits.shape == (2, 2)
    # invariant by construction: A and B swapped gives the same logits
    torch.testing.assert_close(model(ba.idx).class_logits, logits, rtol=0, atol=1e-6)
    # oracle: W_y (h_AB + h_BA), each state at <extract> from GPT.forward on that order alone
    W, b = model.head.W_y.weight, model.head.W_y.bias
    for row, (a, b_text) in enumerate([("abc", "b a"), ("c", "aab")]):
        s1, s2 = transform(tok, a, b_text), transform(tok, b_text, a)
        h = final_states(gpt, s1)[len(s1) - 1] + final_states(gpt, s2)[len(s2) - 1]
        torch.testing.assert_close(logits[row], h @ W.T + b)
    probs = predict(model, tok, "abc", "b a")
    torch.testing.assert_close(probs, predict(model, tok, "b a", "abc"), rtol=0, atol=1e-6)
    torch.testing.assert_close(probs, logits[0].softmax(-1))


def test_multiple_choice_scores_each_choice_and_softmaxes_across(tok: CharTokenizer) -> None:
    gpt = tiny_gpt(tok.vocab_size, seed=2)
    model = ClassifierGPT(gpt, 3, 6, dropout=0.0, transformation=MULTIPLE_CHOICE).eval()
    assert model.head.W_y.out_features == 1  # one score per choice, whatever their number
    context, choices = "ab c", ("a", "bcb", "c a")
    data = encode_examples(tok, [LabelledExample(context, None, 2, choices)], 16,
                           MULTIPLE_CHOICE)
    scores = model(data.idx).class_logits  # (1, 3)
    assert scores.shape == (1, 3)
    # oracle: w . h_k + b, with h_k the state at <extract> of choice k read alone (no padding)
    w, b = model.head.W_y.weight[0], model.head.W_y.bias[0]
    for k, c in enumerate(choices):
        seq = transform(tok, context, c)
        torch.testing.assert_close(scores[0, k], final_states(gpt, seq)[len(seq) - 1] @ w + b)
    probs = predict(model, tok, context, choices=choices)
    assert probs.shape == (3,) and abs(float(probs.sum()) - 1) < 1e-6
    torch.testing.assert_close(probs, scores[0].softmax(-1))
    # a permutation of the choices permutes the scores
    order = [2, 0, 1]
    permuted = predict(model, tok, context, choices=[choices[i] for i in order])
    torch.testing.assert_close(permuted, probs[order])
    # four choices: the same head, one more score
    assert predict(model, tok, context, choices=[*choices, "b"]).shape == (4,)
    # the combined loss: L2 is cross-entropy over the choices at the right one's index
    out = model(data.idx, data.lm_targets)
    loss = combined_loss(out.class_logits, data.labels, out.lm_loss, 0.5)
    torch.testing.assert_close(loss.clf, -scores[0].log_softmax(-1)[2])


def test_l1_is_the_language_model_loss_over_every_sequence(tok: CharTokenizer) -> None:
    gpt = tiny_gpt(tok.vocab_size, seed=3)
    model = ClassifierGPT(gpt, 2, 6, transformation=SIMILARITY)
    data = encode_examples(tok, [LabelledExample("ab", "c", 0), LabelledExample("b", "a", 1)],
                           16, SIMILARITY)
    # oracle: GPT.forward's own loss on the four sequences as one batch of rows
    ref = gpt(data.idx.view(4, -1), data.lm_targets.view(4, -1)).loss
    torch.testing.assert_close(model(data.idx, data.lm_targets).lm_loss, ref)


@pytest.mark.parametrize("transformation, example, words", [
    (SIMILARITY, LabelledExample("abc" * 3, "c" * 5, 0), "The pair is 17 tokens"),
    (MULTIPLE_CHOICE, LabelledExample("a" * 8, None, 0, ("b", "c" * 6)),
     "The context with its longest choice is 17 tokens"),
])
def test_too_long_for_the_context_is_a_sentence(tok, transformation, example, words) -> None:
    model = ClassifierGPT(tiny_gpt(tok.vocab_size, block=16), 2, 6,
                          transformation=transformation)
    with pytest.raises(ValueError, match=f"{words} with its special tokens; the model reads at "
                                         f"most 16. Shorten it."):
        predict(model, tok, example.a, example.b, example.choices)
    with pytest.raises(ConfigError, match="context is 16"):
        encode_examples(tok, [example], 16, transformation)


class FirstChoiceTask(LabelledTask):
    """Trivially learnable: the right choice is the one that starts with 'a'."""

    name = "firstchoice"
    title = "first letter of the choice"
    description = "test"
    class_names = ("1", "2", "3")
    two_inputs = False
    transformation = MULTIPLE_CHOICE
    min_line_chars = 1
    max_chars = 12

    def __init__(self) -> None:
        self.regions = {"train": ["x"], "val": ["x"]}

    def make_example(self, lines, label, rng) -> LabelledExample:  # type: ignore[override]
        def rest() -> str:
            return "".join(rng.choice("abc ") for _ in range(3))
        wrong = [rng.choice("bc") + rest() for _ in range(2)]
        choices = (*wrong[:label], "a" + rest(), *wrong[label:])
        return LabelledExample(rest(), None, label, choices)


def test_tiny_finetune_learns_a_multiple_choice_task(tok: CharTokenizer) -> None:
    task = FirstChoiceTask()
    examples = task.examples("train", 30)
    assert [ex.label for ex in examples] == [i % 3 for i in range(30)]  # balanced over places
    assert all(ex.choices[ex.label].startswith("a") for ex in examples)
    gpt_config = GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=2, n_head=2,
                           n_embd=32)
    cfg = FineTuneConfig(n_labelled=64, steps=60, learning_rate=3e-3, eval_interval=20,
                         n_val=60, batch_size=32, lam=0.5)
    (run,) = run_comparison(task, tok, gpt_config, cfg, inits=("scratch",))
    assert run.val_accuracy[-1] >= 0.9 > run.val_accuracy[0]  # chance is 1/3
