"""Checks for notebook 09 (training a tiny GPT): `from exercises import nb09 as check`.

Every check builds its own inputs (random token ids and start positions, random logits of
several shapes and scales, random schedules, random gradients) and recomputes the expected
result, so a hard-coded answer cannot pass.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from exercises import Wrong, call, call_refusing, exercise, reference, require
from helpers.data import get_batch
from helpers.train import TrainConfig


def _tensor(value, name: str) -> torch.Tensor:
    require(isinstance(value, torch.Tensor), f"{name} should be a torch tensor, got "
            f"{type(value).__name__}")
    return value


@exercise("09", 1)
def exercise_1(make_xy) -> None:
    """make_xy(data, starts, seq_len) -> (x, y): windows and the same windows shifted by one."""
    g = torch.Generator().manual_seed(9)
    for length, batch, T in [(50, 3, 4), (200, 5, 9), (30, 1, 1), (80, 4, 16)]:
        data = torch.randint(0, 40, (length,), generator=g)
        starts = torch.randint(0, length - T, (batch,), generator=g)
        result = call(make_xy, data, starts, T)
        require(isinstance(result, tuple) and len(result) == 2,
                "return a pair (x, y): the inputs and the targets")
        x, y = _tensor(result[0], "x"), _tensor(result[1], "y")
        require(tuple(x.shape) == (batch, T) and tuple(y.shape) == (batch, T),
                f"for {batch} starts and seq_len = {T}, x and y should both be "
                f"(B, T) = {(batch, T)}; got {tuple(x.shape)} and {tuple(y.shape)}")
        want_x = torch.stack([data[s : s + T] for s in starts.tolist()])
        want_y = torch.stack([data[s + 1 : s + 1 + T] for s in starts.tolist()])
        require(torch.equal(x, want_x), "x should hold the windows data[s : s + seq_len], "
                "one row per start s")
        if torch.equal(y, want_y):
            continue
        require(not torch.equal(y, x), "y equals x: the model would learn to copy its input. "
                "Each target is the token AFTER the input at the same position")
        back = torch.stack([data[max(s - 1, 0) : max(s - 1, 0) + T] for s in starts.tolist()])
        require(not torch.equal(y, back), "y is shifted the wrong way: the target of "
                "position t is the token after it, not before")
        raise Wrong("y[b, t] should be the token that follows x[b, t] in data")
    # the same windows as helpers.data.get_batch, given the same start positions
    data = torch.randint(0, 40, (120,), generator=g)
    x_ref, y_ref = get_batch(data, 8, 4, torch.Generator().manual_seed(3))
    starts = torch.randint(120 - 8, (4,), generator=torch.Generator().manual_seed(3))
    x, y = call(make_xy, data, starts, 8)
    require(torch.equal(x, x_ref) and torch.equal(y, y_ref),
            "the result differs from helpers.data.get_batch given the same start positions")


@exercise("09", 2)
def exercise_2(cross_entropy) -> None:
    """cross_entropy(logits (B, T, V), targets (B, T)) -> the mean of -log p(target)."""
    g = torch.Generator().manual_seed(90)
    cases = [((2, 3, 5), 1.0), ((1, 7, 11), 3.0), ((4, 2, 65), 0.5), ((3, 4, 6), 1000.0)]
    for (B, T, V), scale in cases:
        logits = scale * torch.randn(B, T, V, generator=g, dtype=torch.float64)
        targets = torch.randint(0, V, (B, T), generator=g)
        got = call_refusing(cross_entropy, logits.clone(), targets.clone(),
                            refuse=("cross_entropy", "log_softmax", "logsumexp"),
                            hint="write the log-softmax yourself, with exp, sum and log")
        require(isinstance(got, torch.Tensor) and got.numel() == 1,
                f"return one number (a 0-d tensor), the mean over all B x T positions; got "
                f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
        want = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        got = got.reshape(()).double()
        if torch.isclose(got, want, rtol=1e-6, atol=1e-8):
            continue
        require(bool(torch.isfinite(got)), f"with logits as large as ±{scale:g} your loss is "
                f"{got.item()}: exp overflows (or a probability rounds to 0 before its log). "
                "Subtract each row's largest logit before exp (it does not change the softmax) "
                "and stay in logs")
        require(not torch.isclose(got, -want, rtol=1e-6), "the sign is flipped: the loss is "
                "MINUS the log-probability of the target (it is >= 0)")
        require(not torch.isclose(got, want * B * T, rtol=1e-6), "that is the sum over "
                "positions; take the mean over all B x T positions")
        raise Wrong(f"for logits of shape {(B, T, V)} the loss should be the mean over positions "
                    "of -log softmax(logits)[target]")


@reference
def _linear_lr(it: int, c: TrainConfig) -> float:
    if it < c.warmup_iters:
        return c.learning_rate * (it + 1) / c.warmup_iters
    progress = min(1.0, (it - c.warmup_iters) / max(1, c.max_iters - c.warmup_iters))
    return c.learning_rate + progress * (c.min_lr - c.learning_rate)


@exercise("09", 3)
def exercise_3(linear_schedule) -> None:
    """linear_schedule(it, config): linear warm-up, then a straight line down to min_lr."""
    configs = [
        TrainConfig(max_iters=100, warmup_iters=10, learning_rate=1e-3, min_lr=1e-4),
        TrainConfig(max_iters=37, warmup_iters=5, learning_rate=3e-3, min_lr=0.0),
        TrainConfig(max_iters=2000, warmup_iters=100, learning_rate=1.5e-3, min_lr=1e-4),
        TrainConfig(max_iters=20, warmup_iters=0, learning_rate=0.5, min_lr=0.25),
    ]
    for c in configs:
        for it in sorted({0, 1, c.warmup_iters, c.max_iters // 2, c.max_iters - 1, c.max_iters,
                          c.max_iters + 7, *range(0, c.max_iters, max(1, c.max_iters // 13))}):
            want = _linear_lr(it, c)
            got = call(linear_schedule, it, c)
            require(isinstance(got, numbers.Real) or (isinstance(got, torch.Tensor)
                                                       and got.numel() == 1),
                    f"return a number, got {type(got).__name__}")
            got = float(got)
            if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):  # float32 answers too
                continue
            where = (f"(max_iters={c.max_iters}, warmup_iters={c.warmup_iters}, "
                     f"learning_rate={c.learning_rate:g}, min_lr={c.min_lr:g})")
            require(not math.isclose(got, c.lr_at(it), rel_tol=1e-9),
                    "that is the cosine schedule of TrainConfig.lr_at; this one decays along "
                    "a straight line")
            if it < c.warmup_iters:
                raise Wrong(f"during the warm-up, step {it} of {c.warmup_iters} {where}: step 0 "
                            "already gets learning_rate / warmup_iters, as in TrainConfig.lr_at")
            if it >= c.max_iters:
                raise Wrong(f"after the last step (it = {it} {where}) the rate should stay at "
                            "min_lr")
            raise Wrong(f"at step {it} {where}: after the warm-up the rate goes in a straight "
                        "line from learning_rate (at step warmup_iters) to min_lr (at step "
                        "max_iters)")


@reference
def _reference_adamw(p0, grads, lr, beta1, beta2, eps, weight_decay) -> list[torch.Tensor]:
    """torch.optim.AdamW's weights after each of the given gradients."""
    p = torch.nn.Parameter(p0.clone())
    opt = torch.optim.AdamW([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    out = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        out.append(p.detach().clone())
    return out


def _adamw_variant(p0, grads, lr, beta1, beta2, eps, weight_decay, kind: str):
    """Common mistakes, step by step: the weights after each gradient."""
    p, m, v, out = p0.clone(), torch.zeros_like(p0), torch.zeros_like(p0), []
    for t, g in enumerate(grads, start=1):
        if kind == "coupled":
            g = g + weight_decay * p  # L2 regularisation: Adam with weight_decay, not AdamW
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        if kind == "no_correction":
            m_hat, v_hat = m, v
        denominator = (v_hat + eps).sqrt() if kind == "eps_inside" else v_hat.sqrt() + eps
        update = lr * m_hat / denominator
        if kind == "efficient":  # the Adam paper's reordering: eps meets the uncorrected sqrt(v)
            update = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (v.sqrt() + eps)
        if kind == "decay_after":
            p = (p - update) * (1 - lr * weight_decay)
        elif kind == "coupled":
            p = p - update
        else:
            p = p * (1 - lr * weight_decay) - update
        out.append(p)
    return out


MISTAKES = {
    "no_correction": "the first steps come out too small: the running means start at 0, so "
                     "they must be divided by (1 - beta ** t), the bias correction",
    "coupled": "that is Adam with L2 regularisation: the decay was added to the gradient, so "
               "the division by sqrt(v_hat) rescales it. AdamW decays the weights directly",
    "decay_after": "the decay was applied after the update; torch.optim.AdamW decays the "
                   "weights as they were before this step",
    "eps_inside": "eps belongs outside the square root: sqrt(v_hat) + eps",
    "efficient": "that is the Adam paper's faster order (a step of lr * sqrt(1 - beta2 ** t) / "
                 "(1 - beta1 ** t), then m / (sqrt(v) + eps)). It adds eps to the uncorrected "
                 "sqrt(v), so its eps acts larger; torch.optim.AdamW divides m_hat by "
                 "sqrt(v_hat) + eps",
}


@exercise("09", 4)
def exercise_4(adamw_step) -> None:
    """adamw_step(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay) -> (p, m, v)."""
    gen = torch.Generator().manual_seed(99)
    settings = [dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1),  # torch's betas
                dict(lr=3e-2, beta1=0.8, beta2=0.95, eps=1e-3, weight_decay=0.5)]
    for hp in settings:
        p0 = torch.randn(6, generator=gen, dtype=torch.float64)
        sizes = torch.tensor([1e-6, 1e-3, 1.0, 1.0, 10.0, 100.0], dtype=torch.float64)
        grads = [sizes * torch.randn(6, generator=gen, dtype=torch.float64) for _ in range(6)]
        want = _reference_adamw(p0, grads, **hp)
        mistakes = {kind: _adamw_variant(p0, grads, **hp, kind=kind) for kind in MISTAKES}
        p, m, v = p0.clone(), torch.zeros_like(p0), torch.zeros_like(p0)
        for t, g in enumerate(grads, start=1):
            result = call(adamw_step, p.clone(), g.clone(), m.clone(), v.clone(), t,
                          hp["lr"], hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"])
            require(isinstance(result, tuple) and len(result) == 3,
                    "return the three new tensors (p, m, v)")
            p, m, v = (_tensor(r, n).double() for r, n in zip(result, "pmv", strict=True))
            if torch.allclose(p, want[t - 1], rtol=1e-9, atol=1e-12):
                continue
            require(bool(torch.isfinite(p).all()), f"step {t} gives non-finite weights")
            for kind, hint in MISTAKES.items():
                require(not torch.allclose(p, mistakes[kind][t - 1], rtol=1e-9, atol=1e-12), hint)
            if t == 1:
                require(not torch.allclose(p, p0 - hp["lr"] * g, rtol=1e-6),
                        "that is plain gradient descent: AdamW divides the running mean of "
                        "the gradients by the root of the running mean of their squares")
            raise Wrong(f"after step {t} (lr={hp['lr']}, betas=({hp['beta1']}, {hp['beta2']}), "
                        f"eps={hp['eps']}, weight_decay={hp['weight_decay']}) the weights "
                        "differ from torch.optim.AdamW's; compare your update with the "
                        "formulas in the notebook, one line at a time")
