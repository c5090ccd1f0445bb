"""The GPT, in nanoGPT's layout.

Modules are created, and weights initialised, in exactly nanoGPT's order, so that
`torch.manual_seed(1337); GPT(config)` gives nanoGPT's weights and document 000's numbers.
The one addition: `forward(..., return_attention=True)` computes attention by hand and returns
every layer's weights; otherwise the fused `F.scaled_dot_product_attention` path runs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn as nn
from torch.nn import functional as F

from gptviz.config import GPTConfig


def _dropout(module: nn.Dropout, x: torch.Tensor) -> torch.Tensor:
    # With p = 0 dropout is the identity, but the module call still costs ~9 us on a CPU: nine
    # of them were ~5% of document 000's forward pass.
    return module(x) if module.p > 0 else x


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch's has no bias=False before 2.1)."""

    def __init__(self, ndim: int, bias: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, in one matrix
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        mask = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer("mask", mask.view(1, 1, config.block_size, config.block_size),
                             persistent=False)

    def qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Split the input into per-head queries, keys and values, each (B, nh, T, hs)."""
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        hs = C // self.n_head
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        return q, k, v

    def forward(
        self, x: torch.Tensor, return_attention: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        B, T, C = x.size()
        q, k, v = self.qkv(x)
        att = None
        if return_attention:
            # by hand, to expose the weights: softmax(q k^T / sqrt(hs)) with future keys masked
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
            scores = scores.masked_fill(~self.mask[:, :, :T, :T], float("-inf"))
            att = F.softmax(scores, dim=-1)
            y = self.attn_dropout(att) @ v  # (B, nh, T, hs)
        else:
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=None, dropout_p=self.dropout if self.training else 0.0,
                is_causal=True,
            )
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs
        return _dropout(self.resid_dropout, self.c_proj(y)), att


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _dropout(self.dropout, self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, return_attention: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        a, att = self.attn(self.ln_1(x), return_attention)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, att


class GPTOutput(NamedTuple):
    logits: torch.Tensor  # (B, T, vocab_size)
    loss: torch.Tensor | None  # mean cross-entropy over targets != -1, when targets are given
    attention: list[torch.Tensor] | None  # per layer, (B, n_head, T, T), when asked for


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # weight tying: the output head reads tokens with the same vectors that embed them
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections by 1/sqrt(2 * n_layer)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())  # tied weights count once

    @property
    def device(self) -> torch.device:
        return self.lm_head.weight.device

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        """Token plus position embeddings, (B, T, C)."""
        T = idx.size(1)
        if T > self.config.block_size:
            raise ValueError(f"Sequence of length {T} is longer than the context "
                             f"length {self.config.block_size}.")
        pos = torch.arange(0, T, dtype=torch.long, device=idx.device)  # (T,)
        return _dropout(self.transformer.drop,
                        self.transformer.wte(idx) + self.transformer.wpe(pos))

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        return_attention: bool = False,
    ) -> GPTOutput:
        """idx (B, T) token ids; targets (B, T) next-token ids with -1 where no loss is taken."""
        x = self.embed(idx)
        attention: list[torch.Tensor] | None = [] if return_attention else None
        for block in self.transformer.h:
            x, att = block(x, return_attention)
            if attention is not None:
                attention.append(att)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)  # (B, T, vocab_size)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1),
                                   ignore_index=-1)
        return GPTOutput(logits, loss, attention)

    @torch.no_grad()
    def next_token_probs(self, idx: torch.Tensor) -> torch.Tensor:
        """P(next token | each sequence in idx), (B, vocab_size), from the last position."""
        logits = self(idx[:, -self.config.block_size:]).logits[:, -1, :]
        return F.softmax(logits.float(), dim=-1)
