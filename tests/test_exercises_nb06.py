"""Notebook 06's exercise checks: the worked solution passes, the placeholder is "not answered
yet", and plausible wrong answers are rejected, among them the hard-coded causal answer
`torch.arange(T) >= t` that passed the old check."""

import pytest
import torch

from exercises import nb06 as check

# ---- worked solutions (the same as notebooks/solutions/06_solutions.ipynb) ------------------


def rms_norm(x, weight, eps=1e-5):
    return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


def block_parameters(n_embd):
    C = n_embd
    attn = (3 * C * C + 3 * C) + (C * C + C)
    mlp = (4 * C * C + 4 * C) + (4 * C * C + C)
    return attn + mlp + 2 * (2 * C)


def changed_outputs(blk, x, t):
    x2 = x.clone()
    x2[:, t] = torch.randn_like(x2[:, t])
    diff = (blk(x) - blk(x2)).abs().amax(dim=(0, 2))  # (T,)
    return diff > 1e-5


def dropout(x, p, training):
    if not training or p == 0:
        return x
    keep = torch.rand_like(x) >= p
    return x * keep / (1 - p)


# ---- the tests -------------------------------------------------------------------------------


def stub(*args, **kwargs):
    """A learner's function whose body is still `...`."""


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_placeholder_is_not_answered(n, capsys):
    exercise = getattr(check, f"exercise_{n}")
    assert exercise(...) is None
    assert exercise(stub) is None
    assert "not answered yet" in capsys.readouterr().out


def test_exercise_1(capsys):
    assert check.exercise_1(rms_norm) is True

    def layer_norm_like(x, weight, eps=1e-5):
        c = x - x.mean(-1, keepdim=True)
        return c / torch.sqrt(c.pow(2).mean(-1, keepdim=True) + eps) * weight

    def no_eps(x, weight, eps=1e-5):
        return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True)) * weight

    def eps_outside(x, weight, eps=1e-5):
        return x / (x.pow(2).mean(dim=-1, keepdim=True).sqrt() + eps) * weight

    def std_not_rms(x, weight, eps=1e-5):
        return x / torch.sqrt(x.var(dim=-1, keepdim=True) + eps) * weight

    assert check.exercise_1(layer_norm_like) is False
    assert "does not subtract the mean" in capsys.readouterr().out
    for wrong in (no_eps, eps_outside, std_not_rms):
        assert check.exercise_1(wrong) is False, wrong.__name__


def test_exercise_2(capsys):
    assert check.exercise_2(block_parameters) is True
    assert check.exercise_2(lambda C: 12 * C * C) is False
    assert "biases" in capsys.readouterr().out
    assert check.exercise_2(lambda C: 12 * C * C + 9 * C) is False  # LayerNorms forgotten
    assert check.exercise_2(lambda C: 7_087_872) is False  # GPT-2 small's count hard-coded
    assert check.exercise_2(lambda C: 12 * C * C + 13 * C + 0.0) is False  # a float


def test_exercise_3():
    with torch.no_grad():
        assert check.exercise_3(changed_outputs) is True

        def hard_coded(blk, x, t):  # passed the old check, which used one causal block
            return torch.arange(x.size(1)) >= t

        def only_later(blk, x, t):  # forgets that token t reaches its own output
            return torch.arange(x.size(1)) > t

        def wrong_axis(blk, x, t):
            x2 = x.clone()
            x2[:, t] = torch.randn_like(x2[:, t])
            return (blk(x) - blk(x2)).abs().amax(dim=(0, 1)) > 1e-5  # (C,), not (T,)

        for wrong in (hard_coded, only_later, wrong_axis):
            assert check.exercise_3(wrong) is False, wrong.__name__


def test_exercise_4(capsys):
    assert check.exercise_4(dropout) is True

    def no_rescale(x, p, training):
        return x * (torch.rand_like(x) >= p) if training else x

    def keeps_with_p(x, p, training):  # zeroes 1 - p of the numbers
        return x * (torch.rand_like(x) < p) / (1 - p) if training else x

    def always_on(x, p, training):
        return x * (torch.rand_like(x) >= p) / (1 - p)

    def scaled_at_eval(x, p, training):  # the pre-2014 convention: scale at test time instead
        return x * (torch.rand_like(x) >= p) if training else x * (1 - p)

    assert check.exercise_4(no_rescale) is False
    assert "rescaling" in capsys.readouterr().out
    for wrong in (keeps_with_p, always_on, scaled_at_eval):
        assert check.exercise_4(wrong) is False, wrong.__name__
