"""Notebook 09's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers are rejected with a hint."""

import math

import torch
import torch.nn.functional as F

from exercises import nb09 as check

# --- the worked solutions (as in notebooks/solutions/09_solutions.ipynb) ------------------


def make_xy(data, starts, n_positions):
    x = torch.stack([data[s : s + n_positions] for s in starts.tolist()])  # (B, T)
    y = torch.stack([data[s + 1 : s + 1 + n_positions] for s in starts.tolist()])  # (B, T)
    return x, y


def log_softmax(logits, dim=-1):
    shifted = logits - logits.max(dim=dim, keepdim=True).values  # max 0 along dim
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def cross_entropy(logits, targets):
    return -log_softmax(logits).gather(-1, targets[..., None]).mean()


def linear_schedule(it, config):
    if it < config.warmup_iters:
        return config.learning_rate * (it + 1) / config.warmup_iters
    span = max(1, config.max_iters - config.warmup_iters)
    progress = min(1.0, (it - config.warmup_iters) / span)
    return config.learning_rate + progress * (config.min_lr - config.learning_rate)


def adamw_step(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    p = p * (1 - lr * weight_decay)  # decoupled weight decay
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return p - lr * m_hat / (v_hat.sqrt() + eps), m, v


def unanswered(*args, **kwargs):
    ...


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(make_xy) is True
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    no_shift = lambda data, starts, T: (make_xy(data, starts, T)[0],) * 2
    assert check.exercise_1(no_shift) is False
    assert "copy" in capsys.readouterr().out
    backwards = lambda data, starts, T: (
        make_xy(data, starts, T)[0],
        torch.stack([data[max(s - 1, 0) : max(s - 1, 0) + T] for s in starts.tolist()]))
    assert check.exercise_1(backwards) is False
    assert "wrong way" in capsys.readouterr().out
    one_too_long = lambda data, starts, T: make_xy(data, starts, T + 1)
    assert check.exercise_1(one_too_long) is False
    assert "(B, T)" in capsys.readouterr().out
    shifted_by_two = lambda data, starts, T: (
        make_xy(data, starts, T)[0], torch.stack([data[s + 2 : s + 2 + T] for s in starts.tolist()]))
    assert check.exercise_1(shifted_by_two) is False
    stored = make_xy(torch.arange(50), torch.tensor([0, 3, 7]), 4)
    assert check.exercise_1(lambda data, starts, T: stored) is False


# --- exercise 2 -----------------------------------------------------------------------------


def test_exercise_2_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_2(cross_entropy) is True
    assert check.exercise_2(unanswered) is None
    capsys.readouterr()
    # torch's own functions are refused while the check runs, and restored after it
    assert check.exercise_2(lambda lg, t: F.cross_entropy(lg.flatten(0, 1), t.flatten())) is False
    assert "does the work for you" in capsys.readouterr().out
    ready_made = lambda lg, t: -lg.log_softmax(-1).gather(-1, t[..., None]).mean()
    assert check.exercise_2(ready_made) is False
    assert "does the work for you" in capsys.readouterr().out
    lse = lambda lg, t: (torch.logsumexp(lg, -1) - lg.gather(-1, t[..., None])[..., 0]).mean()
    assert check.exercise_2(lse) is False
    assert math.isclose(F.cross_entropy(torch.zeros(1, 2), torch.tensor([0])).item(), math.log(2),
                        rel_tol=1e-6)  # restored
    assert torch.zeros(2).log_softmax(0).shape == (2,)
    softmax_then_log = lambda lg, t: -torch.softmax(lg, -1).log().gather(-1, t[..., None]).mean()
    assert check.exercise_2(softmax_then_log) is False  # -log(0) = inf for large logits
    assert "stay in logs" in capsys.readouterr().out
    naive = lambda lg, t: -(lg.exp() / lg.exp().sum(-1, keepdim=True)).log().gather(
        -1, t[..., None]).mean()
    assert check.exercise_2(naive) is False  # overflows on large logits
    assert "overflow" in capsys.readouterr().out
    assert check.exercise_2(lambda lg, t: -cross_entropy(lg, t)) is False
    assert "sign" in capsys.readouterr().out
    assert check.exercise_2(lambda lg, t: cross_entropy(lg, t) * t.numel()) is False
    assert "sum" in capsys.readouterr().out
    per_position = lambda lg, t: -log_softmax(lg).gather(-1, t[..., None])[..., 0]
    assert check.exercise_2(per_position) is False
    assert "one number" in capsys.readouterr().out
    wrong_dim = lambda lg, t: -log_softmax(lg, 1).gather(-1, t[..., None]).mean()
    assert check.exercise_2(wrong_dim) is False
    assert check.exercise_2(lambda lg, t: torch.tensor(math.log(lg.size(-1)))) is False


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_3(linear_schedule) is True
    assert check.exercise_3(unanswered) is None
    capsys.readouterr()
    assert check.exercise_3(lambda it, c: c.lr_at(it)) is False  # the cosine schedule
    assert "cosine" in capsys.readouterr().out

    def warmup_from_zero(it, c):
        return c.learning_rate * it / c.warmup_iters if it < c.warmup_iters else linear_schedule(it, c)

    assert check.exercise_3(warmup_from_zero) is False
    assert "warm-up" in capsys.readouterr().out

    def to_zero(it, c):
        if it < c.warmup_iters:
            return linear_schedule(it, c)
        return c.learning_rate * max(0.0, 1 - (it - c.warmup_iters) / (c.max_iters - c.warmup_iters))

    assert check.exercise_3(to_zero) is False

    def unclamped(it, c):
        if it < c.warmup_iters:
            return linear_schedule(it, c)
        progress = (it - c.warmup_iters) / max(1, c.max_iters - c.warmup_iters)
        return c.learning_rate + progress * (c.min_lr - c.learning_rate)

    assert check.exercise_3(unclamped) is False
    assert "after the last step" in capsys.readouterr().out
    assert check.exercise_3(lambda it, c: 1e-3) is False


# --- exercise 4 -----------------------------------------------------------------------------


def test_exercise_4_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_4(adamw_step) is True
    assert check.exercise_4(unanswered) is None
    capsys.readouterr()

    def no_correction(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
        p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        return p - lr * m / (v.sqrt() + eps), m, v

    assert check.exercise_4(no_correction) is False
    assert "bias correction" in capsys.readouterr().out

    def adam_l2(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
        return adamw_step(p, grad + weight_decay * p, m, v, t, lr, beta1, beta2, eps, 0.0)

    assert check.exercise_4(adam_l2) is False
    assert "L2" in capsys.readouterr().out

    def decay_after(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
        p, m, v = adamw_step(p, grad, m, v, t, lr, beta1, beta2, eps, 0.0)
        return p * (1 - lr * weight_decay), m, v

    assert check.exercise_4(decay_after) is False
    assert "after the update" in capsys.readouterr().out

    def eps_inside(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
        p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        return p - lr * m_hat / (v_hat + eps).sqrt(), m, v

    assert check.exercise_4(eps_inside) is False
    assert "outside the square root" in capsys.readouterr().out
    sgd = lambda p, grad, m, v, t, lr, *rest: (p - lr * grad, m, v)
    assert check.exercise_4(sgd) is False
    assert check.exercise_4(lambda p, grad, m, v, t, *rest: (p, m)) is False  # two values
    assert "three" in capsys.readouterr().out
