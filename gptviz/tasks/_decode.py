"""Greedy decoding of a fixed number of answer tokens, for whole batches of prompts at once.

The tasks' accuracy only needs the most likely token at each step (minGPT's adder evaluates with
`sample(..., do_sample=False)`), so this is a tiny loop rather than the sampler with temperature
and top-k that gptviz.generate offers.
"""

from __future__ import annotations

import torch


def model_device(model: torch.nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def greedy_complete(model: torch.nn.Module, prompts: torch.Tensor, steps: int,
                    vocab_size: int | None = None) -> torch.Tensor:
    """Append `steps` argmax tokens to each prompt; returns only the new tokens, (N, steps).

    prompts (N, P) token ids. vocab_size limits the choice to the task's tokens when the model's
    vocabulary is larger. The model is put in eval mode (no dropout) and restored afterwards.
    """
    was_training = model.training
    model.eval()
    try:
        idx = prompts.to(model_device(model))
        for _ in range(steps):
            logits = model(idx).logits[:, -1, :]  # (N, V): only the last position predicts
            if vocab_size is not None:
                logits = logits[:, :vocab_size]
            nxt = logits.argmax(dim=-1, keepdim=True)  # (N, 1)
            idx = torch.cat([idx, nxt], dim=1)
        return idx[:, prompts.size(1):].cpu()
    finally:
        model.train(was_training)
