"""Masks and scaled dot-product attention, checked against plain loops and PyTorch."""

import math

import pytest
import torch
import torch.nn.functional as F

from helpers import (
    causal_mask,
    full_mask,
    padding_mask,
    prefix_lm_mask,
    self_attention,
    sliding_window_mask,
)


def test_causal_mask_is_lower_triangular():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    assert m.tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    assert full_mask(3).all()


def test_self_attention_equals_loops_and_pytorch():
    q, k, v = torch.randn(5, 8), torch.randn(5, 8), torch.randn(5, 6)
    out, w = self_attention(q, k, v, causal_mask(5))
    for i in range(5):  # query i against keys 0..i, then a weighted sum of values
        scores = torch.tensor([q[i] @ k[j] / math.sqrt(8) for j in range(i + 1)])
        weights = scores.softmax(0)
        torch.testing.assert_close(w[i, : i + 1], weights)
        torch.testing.assert_close(out[i], sum(weights[j] * v[j] for j in range(i + 1)))
    ref = F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0]
    torch.testing.assert_close(out, ref)


def test_masked_positions_get_exactly_zero_weight():
    _, w = self_attention(torch.randn(6, 4), torch.randn(6, 4), torch.randn(6, 4), causal_mask(6))
    assert (w[~causal_mask(6)] == 0).all()


def test_padding_prefix_and_sliding_window_masks():
    p = padding_mask([2, 4], 4)
    assert p.shape == (2, 4, 4)
    assert p[0, :, :2].all() and not p[0, :, 2:].any() and p[1].all()
    combined = p & causal_mask(4)
    assert combined[0, 3].tolist() == [True, True, False, False]
    pre = prefix_lm_mask(5, 2)
    assert pre[0, 1] and not pre[0, 2] and pre[4].all() and not pre[2, 3]
    sw = sliding_window_mask(5, 2)
    assert sw[4].tolist() == [False, False, False, True, True]
    assert (sw <= causal_mask(5)).all()
    with pytest.raises(ValueError):
        sliding_window_mask(4, 0)
    with pytest.raises(ValueError):
        prefix_lm_mask(4, 5)
    with pytest.raises(ValueError):
        padding_mask([0, 3], 3)


def test_training_with_dropout_thins_the_weights_and_keeps_their_expectation():
    """In training, dropout on the attention weights goes through SDPA's dropout_p: one draw
    differs from eval mode, the same seed gives the same draw, the average of many draws is
    the eval output (dropout divides what it keeps by 1 - p), and gradients flow."""
    from helpers import MultiHeadSelfAttention

    torch.manual_seed(0)
    attn = MultiHeadSelfAttention(16, 2, dropout=0.5)
    x = torch.randn(1, 5, 16, requires_grad=True)
    with torch.no_grad():
        want = attn.eval()(x)
        attn.train()
        attn.resid_dropout.p = 0.0  # only the weights' dropout, so its expectation is exact
        torch.manual_seed(1)
        one = attn(x)
        torch.manual_seed(1)
        assert torch.equal(attn(x), one)  # seeded: reproducible
        assert not torch.allclose(one, want, atol=1e-3)  # thinned
        mean = torch.stack([attn(x) for _ in range(3000)]).mean(0)
    torch.testing.assert_close(mean, want, atol=0.02, rtol=0)
    attn(x).sum().backward()
    assert x.grad is not None and attn.c_attn.weight.grad is not None
    with pytest.raises(ValueError, match="eval mode"):
        attn(x, return_attention=True)  # the weights shown would not be the ones used
