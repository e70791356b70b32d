"""Masked-LM batches have BERT's statistics; causal-LM batches are shifted by one."""

import pytest
import torch

from helpers.objectives import (
    IGNORE_INDEX,
    causal_lm_batch,
    causal_lm_loss,
    mask_tokens,
    masked_lm_loss,
)


def test_masking_statistics():
    ids = torch.randint(5, 100, (200, 500))  # ids 0..4 unused, 4 is [MASK]
    inputs, labels = mask_tokens(ids, mask_token_id=4, vocab_size=100,
                                 generator=torch.Generator().manual_seed(0))
    chosen = labels != IGNORE_INDEX
    assert chosen.float().mean().item() == pytest.approx(0.15, abs=0.005)
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(inputs[~chosen], ids[~chosen])  # unchosen positions untouched
    n = chosen.sum().item()
    masked = (inputs[chosen] == 4).sum().item() / n
    kept = (inputs[chosen] == ids[chosen]).sum().item() / n
    changed = 1 - masked - kept
    assert masked == pytest.approx(0.8, abs=0.01)
    assert kept == pytest.approx(0.1 + 0.1 / 100, abs=0.01)  # random may pick the same token
    assert changed == pytest.approx(0.1 - 0.1 / 100 - 0.1 * 1 / 100, abs=0.01)


def test_masked_lm_loss_counts_only_chosen_positions():
    logits = torch.randn(2, 6, 10)
    labels = torch.full((2, 6), IGNORE_INDEX)
    labels[0, 2], labels[1, 5] = 3, 7
    expected = -(logits[0, 2].log_softmax(-1)[3] + logits[1, 5].log_softmax(-1)[7]) / 2
    torch.testing.assert_close(masked_lm_loss(logits, labels), expected)


def test_causal_lm_shift_and_loss():
    ids = torch.tensor([[10, 11, 12, 13]])
    x, y = causal_lm_batch(ids)
    assert x.tolist() == [[10, 11, 12]] and y.tolist() == [[11, 12, 13]]
    uniform = torch.zeros(1, 3, 20)
    assert causal_lm_loss(uniform, y).item() == pytest.approx(torch.log(torch.tensor(20.0)).item())
    with pytest.raises(ValueError, match="at least 2 tokens"):
        causal_lm_batch(torch.tensor([[1]]))
    with pytest.raises(ValueError, match="mask_prob"):
        mask_tokens(ids, 0, 20, mask_prob=1.5)


def test_losses_keep_float64_and_lift_half_precision():
    from helpers.objectives import causal_lm_loss, token_logprobs

    logits = torch.randn(2, 3, 5, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(5, (2, 3))
    assert causal_lm_loss(logits, targets).dtype == torch.float64
    assert token_logprobs(logits.half(), targets).dtype == torch.float32
