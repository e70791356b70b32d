"""Attention: masks, scaled dot-product attention that returns its weights, and GPT-2's
multi-head self-attention.

Read top to bottom: masks -> `self_attention` (the three steps) -> `MultiHeadSelfAttention`
(GPT-2's fused `c_attn`, split heads, attend, merge, `c_proj`). The key/value cache it can
use at inference is in `helpers.kv_cache`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from helpers.kv_cache import KVCache

# ---------------------------------------------------------------------------------------
# Masks. Convention: a bool tensor, True where a query position (row) may attend to a key
# position (column). Rows are queries, columns are keys.
# ---------------------------------------------------------------------------------------


def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) bool, True on and below the diagonal: token i sees tokens 0..i (GPT)."""
    _check_length(T)
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def full_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) bool, all True: every token sees every token (BERT's bidirectional encoder)."""
    _check_length(T)
    return torch.ones(T, T, dtype=torch.bool, device=device)


def padding_mask(lengths: list[int] | torch.Tensor, T: int) -> torch.Tensor:
    """(B, T, T) bool for right-padded sequences: keys at or beyond each length are hidden.

    Padded query rows keep a view of the real tokens so softmax never sees an all -inf row.
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or (lengths < 1).any() or (lengths > T).any():
        raise ValueError(f"lengths must be a 1-D list of values in 1..{T}, got {lengths.tolist()}")
    key_is_real = torch.arange(T)[None, :] < lengths[:, None]  # (B, T)
    return key_is_real[:, None, :].expand(-1, T, -1).clone()  # (B, T, T)


def prefix_lm_mask(T: int, prefix_len: int) -> torch.Tensor:
    """(T, T) bool: the first `prefix_len` tokens see each other fully, the rest causally.

    This is the prefix-LM of T5/UniLM: a bidirectional prompt, an autoregressive answer.
    """
    _check_length(T)
    if not 0 <= prefix_len <= T:
        raise ValueError(f"prefix_len must be in 0..{T}, got {prefix_len}")
    mask = causal_mask(T)
    mask[:prefix_len, :prefix_len] = True
    return mask


def sliding_window_mask(T: int, window: int) -> torch.Tensor:
    """(T, T) bool: causal, and each token sees at most the `window` latest tokens (itself included)."""
    _check_length(T)
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    return (j <= i) & (j > i - window)


def _check_length(T: int) -> None:
    if T < 1:
        raise ValueError(f"sequence length must be >= 1, got {T}")


# ---------------------------------------------------------------------------------------
# Scaled dot-product attention, the three steps written out.
# ---------------------------------------------------------------------------------------


def self_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attend queries to keys and sum values; returns (output, weights).

    q: (..., T_q, d), k: (..., T_k, d), v: (..., T_k, d_v), mask: broadcastable to
    (..., T_q, T_k), True where attending is allowed. Masked scores become -inf, not 0,
    so they get exactly zero weight after the softmax.
    """
    d = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # 1. score query vs every key (..., T_q, T_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # 2. scores -> weights that sum to 1 per query
    return weights @ v, weights  # 3. weighted sum of values (..., T_q, d_v)


# ---------------------------------------------------------------------------------------
# GPT-2's multi-head self-attention.
# ---------------------------------------------------------------------------------------


class MultiHeadSelfAttention(nn.Module):
    """GPT-2 attention: one fused `c_attn` makes q, k, v; heads attend; `c_proj` mixes them.

    causal=True (GPT) lets each token see itself and earlier tokens; causal=False gives the
    bidirectional encoder of BERT: that flag is the only difference. `layer_idx` says which
    slot of a KV cache this layer owns (set by `Block`).
    """

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        dropout: float = 0.0,
        causal: bool = True,
        layer_idx: int | None = None,
    ) -> None:
        super().__init__()
        if n_embd % n_head != 0:
            raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_head = n_head
        self.head_dim = n_embd // n_head
        self.causal = causal
        self.layer_idx = layer_idx
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)  # x -> [q | k | v]
        self.c_proj = nn.Linear(n_embd, n_embd)  # merged heads -> residual stream
        self.dropout = dropout  # on the attention weights (in training), and on the output
        self.resid_dropout = nn.Dropout(dropout)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, n_head, T, head_dim)."""
        B, T, C = x.shape
        return x.view(B, T, self.n_head, self.head_dim).transpose(1, 2)

    @staticmethod
    def merge_heads(x: torch.Tensor) -> torch.Tensor:
        """(B, n_head, T, head_dim) -> (B, T, C)."""
        B, H, T, hd = x.shape
        return x.transpose(1, 2).reshape(B, T, H * hd)

    def _mask(self, T: int, T_k: int, device: torch.device) -> torch.Tensor | None:
        """(T, T_k) bool, or None for a bidirectional layer: query i, at absolute position
        T_k - T + i, may see keys 0 .. T_k - T + i."""
        if not self.causal:
            return None
        return torch.ones(T, T_k, dtype=torch.bool, device=device).tril(diagonal=T_k - T)

    def forward(
        self,
        x: torch.Tensor,
        kv_cache: KVCache | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, C) -> y (B, T, C); with return_attention, (y, weights (B, n_head, T, T_k)).

        With a `kv_cache`, x holds only the new tokens; the cache supplies the keys and values
        of earlier ones and stores this step's.
        """
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)  # (B, H, T, hd)
        if kv_cache is not None:
            if self.layer_idx is None:
                raise ValueError("this attention layer has no layer_idx, so it does not know "
                                 "its slot in the KV cache; build it with layer_idx=i (Block does)")
            k, v = kv_cache.update(self.layer_idx, k, v)  # (B, H, past + T, hd)
        T_k = k.size(2)

        weights = None
        if return_attention:
            if self.training and self.dropout > 0:
                raise ValueError("return_attention=True in training with dropout: the weights "
                                 "returned would not be the ones dropout thinned; look at "
                                 "attention in eval mode (model.eval() or helpers.eval_mode)")
            # the three steps written out, so the weights can be returned (B, H, T, T_k)
            y, weights = self_attention(q, k, v, self._mask(T, T_k, x.device))  # (B, H, T, hd)
        else:
            # the same computation fused by PyTorch (faster, keeps no weights). One new token
            # after cached ones may see every key, so it needs no mask; several new tokens
            # with no cache use is_causal, which applies the causal mask without building it
            p = self.dropout if self.training else 0.0  # dropout on the weights, in training
            if self.causal and T_k == T and T > 1:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            else:
                mask = self._mask(T, T_k, x.device) if T > 1 else None
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = self.resid_dropout(self.c_proj(self.merge_heads(y)))  # (B, T, C)
        return (y, weights) if return_attention else y
