"""The two pre-training objectives, side by side, and the log-probabilities they are made of.

- Autoencoding (BERT's masked LM): hide some tokens, predict them from both sides.
- Autoregressive (GPT's causal LM): predict every next token from the tokens before it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from helpers.data import get_batch

IGNORE_INDEX = -100  # label value that cross-entropy skips (positions with nothing to predict)


def _full_precision(logits: torch.Tensor) -> torch.Tensor:
    """Half-precision logits are scored in float32; float32 and float64 stay as they are."""
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(target) at every position: logits (..., T, V), targets (..., T) -> (..., T)."""
    if logits.shape[:-1] != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} do not "
                         "line up: logits must be targets' shape plus a vocabulary axis; for "
                         "next-token scores pair logits[:, :-1] with idx[:, 1:]")
    logp = F.log_softmax(_full_precision(logits), dim=-1)
    return logp.gather(-1, targets[..., None])[..., 0]


def mask_tokens(
    idx: torch.Tensor,
    mask_token_id: int,
    vocab_size: int,
    mask_prob: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: choose mask_prob of the positions; of those, 80% become [MASK], 10% a
    random token, 10% stay as they are. Returns (inputs, labels); labels are IGNORE_INDEX
    everywhere except the chosen positions, where they hold the original token."""
    if not 0.0 < mask_prob < 1.0:
        raise ValueError(f"mask_prob must be in (0, 1), got {mask_prob}")
    if not 0 <= mask_token_id < vocab_size:
        raise ValueError(f"mask_token_id {mask_token_id} is outside the vocabulary 0..{vocab_size - 1}")
    shape, device = idx.shape, idx.device

    def rand() -> torch.Tensor:
        return torch.rand(shape, generator=generator, device=device)

    chosen = rand() < mask_prob  # (B, T) the positions the model must predict
    labels = torch.where(chosen, idx, torch.full_like(idx, IGNORE_INDEX))
    r = rand()
    to_mask = chosen & (r < 0.8)
    to_random = chosen & (r >= 0.8) & (r < 0.9)  # the remaining 10% are kept unchanged
    random_idx = torch.randint(vocab_size, shape, generator=generator, device=device)
    inputs = torch.where(to_mask, torch.full_like(idx, mask_token_id), idx)
    inputs = torch.where(to_random, random_idx, inputs)
    return inputs, labels


def masked_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the chosen positions only. logits (B, T, V), labels (B, T)."""
    return F.cross_entropy(_full_precision(logits).flatten(0, 1), labels.flatten(),
                           ignore_index=IGNORE_INDEX)


def masked_lm_batch(
    data: torch.Tensor,
    seq_len: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    *,
    mask_token_id: int,
    vocab_size: int,
    mask_prob: float = 0.15,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A masked-LM batch for `helpers.train.train`: random windows, masked -> (inputs, labels).

    Bind the mask token with functools.partial(masked_lm_batch, mask_token_id=..., vocab_size=...).
    """
    windows, _ = get_batch(data, seq_len, batch_size, generator)  # (B, T)
    return mask_tokens(windows, mask_token_id, vocab_size, mask_prob, generator)


def causal_lm_batch(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift by one: inputs are tokens 0..T-2, targets are tokens 1..T-1. idx (B, T)."""
    if idx.size(-1) < 2:
        raise ValueError("a causal-LM example needs at least 2 tokens (one input, one target)")
    return idx[..., :-1], idx[..., 1:]


def causal_lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of every next-token prediction. logits (B, T, V), targets (B, T)."""
    return F.cross_entropy(_full_precision(logits).flatten(0, 1), targets.flatten())
