"""SASRec: a self-attentive sequential recommender (Kang & McAuley, 2018), nanoGPT-style.

A small causal Transformer reads a user's recent items and, at every position, scores the
whole catalogue for the next item. Items are 1..n_items; 0 is padding (sequences are
left-padded). Output scores reuse the item embedding (tied weights), and training uses a
full softmax over all items at every position, which is what makes it beat the sampled
(one negative) loss of the original paper by a wide margin on MovieLens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class SASRecConfig:
    n_items: int  # catalogue size, without the padding index 0
    max_len: int = 200
    hidden: int = 64
    n_layers: int = 2
    n_heads: int = 1
    dropout: float = 0.3


class Dropout(nn.Module):
    """Inverted dropout from a uniform draw: the same as nn.Dropout, about 3x faster on CPU.

    Written by hand because `bernoulli_` (behind nn.Dropout and SDPA's dropout) was 22% of a
    SASRec training epoch on a 2-core CPU (torch profiler); `uniform_` fills much faster.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.empty_like(x).uniform_() >= self.p
        return x * keep / (1.0 - self.p)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: SASRecConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.qkv = nn.Linear(config.hidden, 3 * config.hidden)
        self.proj = nn.Linear(config.hidden, config.hidden)
        self.attn_dropout = Dropout(config.dropout)
        self.resid_dropout = Dropout(config.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape  # batch, time, hidden
        q, k, v = self.qkv(x).split(c, dim=2)
        q = q.view(b, t, self.n_heads, c // self.n_heads).transpose(1, 2)  # (b, heads, t, c/heads)
        k = k.view(b, t, self.n_heads, c // self.n_heads).transpose(1, 2)
        v = v.view(b, t, self.n_heads, c // self.n_heads).transpose(1, 2)
        if self.training and self.attn_dropout.p > 0:  # spelled out to use the faster dropout
            att = (q @ k.transpose(-2, -1)) * (1.0 / (c // self.n_heads) ** 0.5)  # (b, heads, t, t)
            att = self.attn_dropout(att.masked_fill(~mask, float("-inf")).softmax(dim=-1))
            y = att @ v  # (b, heads, t, c/heads)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (b, heads, t, c/heads)
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.resid_dropout(self.proj(y))


class Block(nn.Module):
    def __init__(self, config: SASRecConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.hidden)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.hidden)
        self.mlp = nn.Sequential(
            nn.Linear(config.hidden, 4 * config.hidden),
            nn.GELU(),
            nn.Linear(4 * config.hidden, config.hidden),
            Dropout(config.dropout),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class SASRec(nn.Module):
    def __init__(self, config: SASRecConfig) -> None:
        super().__init__()
        self.config = config
        self.item_emb = nn.Embedding(config.n_items + 1, config.hidden, padding_idx=0)
        self.pos_emb = nn.Embedding(config.max_len, config.hidden)
        self.drop = Dropout(config.dropout)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layers)])
        self.ln_f = nn.LayerNorm(config.hidden)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def hidden_states(self, seq: torch.Tensor) -> torch.Tensor:
        """(batch, time) left-padded item ids -> (batch, time, hidden) states."""
        b, t = seq.shape
        valid = seq > 0  # (b, t)
        # Positions count back from the newest item (always max_len - 1), so a history gets
        # the same position ids whatever length its batch was trimmed to.
        pos = torch.arange(self.config.max_len - t, self.config.max_len, device=seq.device)
        x = self.item_emb(seq) * self.config.hidden**0.5 + self.pos_emb(pos)  # (b, t, hidden)
        x = self.drop(x) * valid.unsqueeze(-1)
        causal = torch.ones(t, t, dtype=torch.bool, device=seq.device).tril()  # (t, t)
        # attend to earlier real items; padding rows see themselves only, so no row is empty
        mask = (causal & valid[:, None, :]) | torch.eye(t, dtype=torch.bool, device=seq.device)
        mask = mask.unsqueeze(1)  # (b, 1, t, t), broadcast over heads
        for block in self.blocks:
            x = block(x, mask) * valid.unsqueeze(-1)
        return self.ln_f(x)

    def logits(self, states: torch.Tensor) -> torch.Tensor:
        """(..., hidden) -> (..., n_items + 1) scores; index 0 (padding) is never a candidate."""
        out = states @ self.item_emb.weight.T
        out[..., 0] = float("-inf")
        return out

    def loss(self, seq: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Full-softmax cross-entropy of the next item at every real position (target 0 = skip)."""
        states = self.hidden_states(seq)  # (b, t, hidden)
        keep = target > 0
        logits = self.logits(states[keep])  # (n, n_items + 1)
        return F.cross_entropy(logits.float(), target[keep])

    @torch.no_grad()
    def score_next(self, seq: torch.Tensor) -> torch.Tensor:
        """(batch, time) histories -> (batch, n_items + 1) scores for the next item."""
        states = self.hidden_states(seq)[:, -1, :]  # last position; sequences are left-padded
        return self.logits(states)
