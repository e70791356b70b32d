"""Notebook 05's exercise checks: the worked solution passes, the placeholder is "not answered
yet", and plausible wrong answers (some passed the old checks) are rejected."""

import math

import pytest
import torch
from torch import nn

from exercises import nb05 as check
from helpers import causal_mask

# ---- worked solutions (the same as notebooks/solutions/05_solutions.ipynb) ------------------


def conv1d_to_linear(conv):
    linear = nn.Linear(conv.nx, conv.nf)
    linear.weight.copy_(conv.weight.T)
    linear.bias.copy_(conv.bias)
    return linear


def head_columns(h, part, n_embd=768, n_head=12):
    head_dim = n_embd // n_head
    start = "qkv".index(part) * n_embd + h * head_dim
    return slice(start, start + head_dim)


def attention_parameters(n_embd, n_head):
    return (n_embd * 3 * n_embd + 3 * n_embd) + (n_embd * n_embd + n_embd)


def multi_head_attention(x, c_attn, c_proj, n_head, *, transpose=True, scale_by_c=False,
                         mask=True):
    B, T, C = x.shape
    hd = C // n_head
    q, k, v = c_attn(x).split(C, dim=2)
    if transpose:
        q, k, v = (t.view(B, T, n_head, hd).transpose(1, 2) for t in (q, k, v))
    else:  # the classic slip: a view straight to (B, H, T, hd) mixes tokens and heads
        q, k, v = (t.view(B, n_head, T, hd) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / math.sqrt(C if scale_by_c else hd)
    if mask:
        scores = scores.masked_fill(~causal_mask(T), float("-inf"))
    y = torch.softmax(scores, dim=-1) @ v
    return c_proj(y.transpose(1, 2).reshape(B, T, C))


def previous_token_weight(weights):
    return weights.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(0, 2))


# ---- the tests -------------------------------------------------------------------------------


def stub(*args, **kwargs):
    """A learner's function whose body is still `...`."""


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_placeholder_is_not_answered(n, capsys):
    exercise = getattr(check, f"exercise_{n}")
    assert exercise(...) is None
    assert exercise(stub) is None
    assert "not answered yet" in capsys.readouterr().out


def test_exercise_1():
    assert check.exercise_1(conv1d_to_linear) is True

    def no_bias(conv):
        linear = nn.Linear(conv.nx, conv.nf)
        linear.weight.copy_(conv.weight.T)
        return linear

    def reshaped(conv):  # right shape, wrong layout
        linear = nn.Linear(conv.nx, conv.nf)
        linear.weight.copy_(conv.weight.reshape(conv.nf, conv.nx))
        linear.bias.copy_(conv.bias)
        return linear

    def sizes_swapped(conv):
        linear = nn.Linear(conv.nf, conv.nx)
        linear.weight.copy_(conv.weight)
        return linear

    for wrong in (no_bias, reshaped, sizes_swapped):
        assert check.exercise_1(wrong) is False, wrong.__name__


def test_exercise_2():
    assert check.exercise_2(head_columns) is True

    def interleaved(h, part, n_embd=768, n_head=12):  # [q k v] per head: another model's layout
        hd = n_embd // n_head
        start = h * 3 * hd + "qkv".index(part) * hd
        return slice(start, start + hd)

    def forgot_part(h, part, n_embd=768, n_head=12):
        hd = n_embd // n_head
        return slice(h * hd, (h + 1) * hd)

    def hard_coded(h, part, n_embd=768, n_head=12):  # GPT-2 small's sizes only
        start = "qkv".index(part) * 768 + h * 64
        return slice(start, start + 64)

    for wrong in (interleaved, forgot_part, hard_coded):
        assert check.exercise_2(wrong) is False, wrong.__name__


def test_exercise_3(capsys):
    assert check.exercise_3(attention_parameters) is True
    assert check.exercise_3(lambda e, h: 4 * e * e) is False
    assert "bias" in capsys.readouterr().out
    assert check.exercise_3(lambda e, h: 2_362_368) is False  # GPT-2 small's count hard-coded
    assert check.exercise_3(lambda e, h: 4 * e * e + 4 * e * h) is False  # depends on n_head
    assert check.exercise_3(lambda e, h: float(4 * e * e + 4 * e)) is False  # not an int


def test_exercise_4(capsys):
    with torch.no_grad():
        assert check.exercise_4(multi_head_attention) is True
        assert check.exercise_4(lambda *a: multi_head_attention(*a, transpose=False)) is False
        assert check.exercise_4(lambda *a: multi_head_attention(*a, scale_by_c=True)) is False
        assert check.exercise_4(lambda *a: multi_head_attention(*a, mask=False)) is False
        assert "causal mask" in capsys.readouterr().out
        assert check.exercise_4(lambda x, c_attn, c_proj, n_head: x) is False
    assert check.exercise_4(multi_head_attention) is True  # also with autograd on


def test_exercise_5(capsys):
    assert check.exercise_5(previous_token_weight) is True
    own = lambda w: w.diagonal(dim1=-2, dim2=-1).mean(dim=(0, 2))  # noqa: E731
    assert check.exercise_5(own) is False
    assert "own position" in capsys.readouterr().out
    future = lambda w: w.diagonal(offset=1, dim1=-2, dim2=-1).mean(dim=(0, 2))  # noqa: E731
    assert check.exercise_5(future) is False
    with_row_0 = lambda w: w.diagonal(offset=-1, dim1=-2, dim2=-1).sum(-1).mean(0) / w.size(-1)  # noqa: E731
    assert check.exercise_5(with_row_0) is False
    assert check.exercise_5(lambda w: w.diagonal(offset=-1, dim1=-2, dim2=-1).mean(-1)[0]) is False
