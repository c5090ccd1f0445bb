"""Generation: one token at a time, each one fed back in, inside the context window.

Document 003: GPT-3 "generates one output token at a time"; the tokens it has produced join the
input for the next step, and the model only ever sees the last block_size tokens (its context
window). Document 001: minGPT's `sample(model, x, steps, temperature, sample, top_k)`.

`sample` is minGPT's function for scripts and notebooks. `generate_steps` does the same work but
yields a `GenerationStep` record per token (the window fed, the distribution drawn from, the top
candidates) so a page can show every step. Both share `next_token_distribution`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import torch
from torch.nn import functional as F

from gptviz.i18n import _
from gptviz.model import GPT
from gptviz.tokenizers import Tokenizer


class GenerationError(ValueError):
    """Settings or a prompt that generation refuses, with a message meant for the page."""


def check_sampling(temperature: float, top_k: int | None, top_p: float | None,
                   greedy: bool) -> None:
    """Raise GenerationError with a sentence a student can act on, before any work is done."""
    if not greedy and not (isinstance(temperature, (int, float)) and math.isfinite(temperature)
                           and temperature > 0):
        raise GenerationError(_(
            "Temperature must be a number above 0 (got {temperature}); logits are divided by "
            "it. For 'always the most likely token' choose greedy decoding instead."
        ).format(temperature=temperature))
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise GenerationError(_("top-k must be a whole number of at least 1 (got {top_k}): it "
                                "is how many of the most likely tokens are kept.").format(
                                    top_k=top_k))
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0.0 < top_p <= 1.0):
        raise GenerationError(_("top-p must be above 0 and at most 1 (got {top_p}): it is the "
                                "share of probability mass kept.").format(top_p=top_p))


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """The distribution sampled from: softmax(logits / temperature), cut by top-k then top-p.

    logits (..., V) -> probs (..., V), renormalised so each row sums to 1.
    top-k keeps exactly k tokens (ties at the k-th value go to the lowest token ids, unlike minGPT's
    `logits < v[-1]` which keeps every tied token). top-p (nucleus) keeps the smallest set of most
    likely tokens whose probability adds up to at least p.
    """
    check_sampling(temperature, top_k, top_p, greedy=False)
    probs = F.softmax(logits.float() / temperature, dim=-1)
    V = probs.size(-1)
    if top_k is not None and top_k < V:
        keep = torch.zeros_like(probs, dtype=torch.bool)
        # a stable sort, not torch.topk, whose order among equal values is unspecified: ties
        # at the k-th value go to the lowest token ids, the same tokens on every machine
        order = torch.sort(probs, dim=-1, descending=True, stable=True).indices
        keep.scatter_(-1, order[..., :top_k], True)
        probs = torch.where(keep, probs, torch.zeros_like(probs))
        probs = probs / probs.sum(-1, keepdim=True)
    if top_p is not None and top_p < 1.0:
        sorted_p, order = torch.sort(probs, dim=-1, descending=True, stable=True)
        mass_before = torch.cumsum(sorted_p, dim=-1) - sorted_p  # mass of the more likely tokens
        keep_sorted = mass_before < top_p  # the most likely token always stays (mass_before = 0)
        keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
        probs = torch.where(keep, probs, torch.zeros_like(probs))
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


def greedy_distribution(logits: torch.Tensor) -> torch.Tensor:
    """Greedy decoding as a distribution: all the mass on the argmax, (..., V)."""
    return F.one_hot(logits.argmax(-1), logits.size(-1)).float()


def next_token_distribution(logits: torch.Tensor, temperature: float = 1.0,
                            top_k: int | None = None, top_p: float | None = None,
                            greedy: bool = False) -> torch.Tensor:
    """What the next token is drawn from, given the last position's logits (..., V)."""
    check_sampling(temperature, top_k, top_p, greedy)
    if greedy:
        return greedy_distribution(logits)
    return filter_logits(logits, temperature, top_k, top_p)


def crop_context(idx: torch.Tensor, block_size: int) -> torch.Tensor:
    """The last block_size tokens of idx (B, T): all the model can see."""
    return idx if idx.size(1) <= block_size else idx[:, -block_size:]


@torch.no_grad()
def sample(model: GPT, x: torch.Tensor, steps: int, temperature: float = 1.0,
           sample: bool = False, top_k: int | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """minGPT's sample: extend each sequence of x (B, T) by `steps` tokens -> (B, T + steps).

    sample=False takes the most likely token each time (greedy, minGPT's default); sample=True
    draws from softmax(logits / temperature) restricted to the top_k tokens.
    """
    if steps < 0:
        raise GenerationError(f"steps must be 0 or more (got {steps}).")
    if x.ndim != 2 or x.size(1) == 0:
        raise GenerationError(f"x must be (B, T) with T >= 1, got shape {tuple(x.shape)}.")
    check_sampling(temperature, top_k, None, greedy=not sample)
    for _step in range(steps):
        logits = _last_logits(model, crop_context(x, model.config.block_size))  # (B, V)
        if sample:
            probs = next_token_distribution(logits, temperature, top_k)
            ix = torch.multinomial(probs.cpu(), 1, generator=generator).to(x.device)  # (B, 1)
        else:
            ix = logits.argmax(-1, keepdim=True)  # (B, 1)
        x = torch.cat((x, ix), dim=1)
    return x


@dataclass(frozen=True)
class Candidate:
    token: int
    prob: float  # probability in the distribution the token is drawn from
    model_prob: float  # the model's own probability, softmax(logits) at temperature 1


@dataclass(frozen=True)
class GenerationStep:
    position: int  # where the new token lands in the whole sequence (0-based)
    context: list[int]  # the ids actually fed to the model: the last block_size tokens
    context_start: int  # position of context[0] in the whole sequence
    slid: bool  # the sequence outgrew block_size, so the window dropped its earliest tokens
    model_probs: torch.Tensor | None  # (V,) softmax of the logits, before temperature and cuts
    probs: torch.Tensor | None  # (V,) the distribution the token was drawn from
    top: list[Candidate]  # the most likely candidates under probs (then model_probs), best first
    token: int  # the token drawn
    drawn: Candidate  # the drawn token with its two probabilities

    def slim(self) -> GenerationStep:
        """A copy without the two (V,) distributions, for keeping many steps of a big vocabulary
        (50,257 tokens x 2 x 4 bytes per step with GPT-2's); top and drawn are kept."""
        return replace(self, model_probs=None, probs=None)


def _step_generator(seed: int, position: int) -> torch.Generator:
    # One generator per (seed, position): stepping one token at a time draws exactly what a
    # single "generate all" run draws, and the draw for a position never depends on earlier clicks.
    return torch.Generator().manual_seed((seed * 1_000_003 + position) % (2**63))


def _last_logits(model: GPT, x: torch.Tensor) -> torch.Tensor:
    """Logits at the last position, (B, V), in eval mode (no dropout), restoring the mode after."""
    if model.config.dropout == 0.0:
        # Dropout is the model's only train/eval difference: with none, both modes compute the
        # same, and switching them walks every module twice a token (a third of the time of
        # a 200-character preview on a first visit to Train on text)
        return model(x).logits[:, -1, :]
    was_training = model.training
    model.eval()
    try:
        return model(x).logits[:, -1, :]
    finally:
        model.train(was_training)


def _as_ids(idx: Sequence[int] | torch.Tensor) -> list[int]:
    if isinstance(idx, torch.Tensor):
        if idx.ndim == 2:
            if idx.size(0) != 1:
                raise GenerationError(_("generate_steps follows one sequence; got a batch of "
                                        "{n}. Use sample() for batches.").format(n=idx.size(0)))
            idx = idx[0]
        return [int(i) for i in idx.tolist()]
    return [int(i) for i in idx]


def generate_steps(model: GPT, idx: Sequence[int] | torch.Tensor, steps: int,
                   temperature: float = 1.0, top_k: int | None = None,
                   top_p: float | None = None, greedy: bool = False, seed: int = 0,
                   n_top: int = 10) -> Iterator[GenerationStep]:
    """Generate `steps` tokens after idx ((T,) or (1, T)), yielding a record for each.

    Deterministic for a given seed. The model is read lazily, step by step: when it may be
    training in another thread, consume the iterator inside `LiveRun.read_model`.
    """
    ids = _as_ids(idx)
    if not ids:
        raise GenerationError(_("The prompt is empty: a GPT needs at least one token to "
                                "continue."))
    if not isinstance(steps, int) or steps < 0:
        raise GenerationError(_("The number of tokens to generate must be 0 or more (got "
                                "{steps}).").format(steps=steps))
    check_sampling(temperature, top_k, top_p, greedy)
    V = model.config.vocab_size
    bad = [i for i in ids if not 0 <= i < V]
    if bad:
        raise GenerationError(_("Token ids {ids} are outside the model's vocabulary (0 to "
                                "{last}).").format(ids=bad[:5], last=V - 1))
    # checked above, eagerly; the generator below runs only as the caller asks for steps
    return _generate(model, ids, steps, temperature, top_k, top_p, greedy, seed, n_top)


@torch.no_grad()
def _generate(model: GPT, ids: list[int], steps: int, temperature: float, top_k: int | None,
              top_p: float | None, greedy: bool, seed: int,
              n_top: int) -> Iterator[GenerationStep]:
    block_size = model.config.block_size
    for _step in range(steps):
        start = max(0, len(ids) - block_size)
        context = ids[start:]
        x = torch.tensor([context], dtype=torch.long, device=model.device)  # (1, T)
        logits = _last_logits(model, x)[0].float().cpu()  # (V,)
        model_probs = F.softmax(logits, dim=-1)
        probs = next_token_distribution(logits, temperature, top_k, top_p, greedy)
        if greedy:
            token = int(logits.argmax())
        else:
            token = int(torch.multinomial(probs, 1, generator=_step_generator(seed, len(ids))))
        # best first by the distribution drawn from, ties (greedy's zeros) by the model's own
        order = torch.argsort(model_probs, descending=True, stable=True)
        order = order[torch.argsort(probs[order], descending=True, stable=True)][:n_top]
        top = [Candidate(int(i), float(probs[i]), float(model_probs[i])) for i in order]
        drawn = Candidate(token, float(probs[token]), float(model_probs[token]))
        yield GenerationStep(len(ids), context, start, start > 0, model_probs, probs, top, token,
                             drawn)
        ids.append(token)


def encode_prompt(tokenizer: Tokenizer, prompt: str) -> list[int]:
    """Prompt text -> ids, with page-ready messages for an empty prompt or unknown characters."""
    if not prompt:
        raise GenerationError(_("Type a prompt first: generation continues a text, so it "
                                "needs at least one character."))
    return tokenizer.encode(prompt)  # TokenizerError (a ValueError) names unknown characters


def generate_text(model: GPT, tokenizer: Tokenizer, prompt: str, steps: int,
                  **kwargs: object) -> str:
    """Prompt + `steps` generated tokens, decoded (a convenience for scripts and previews)."""
    ids = encode_prompt(tokenizer, prompt)
    new = [s.token for s in generate_steps(model, ids, steps, **kwargs)]  # type: ignore[arg-type]
    return tokenizer.decode(ids + new)
