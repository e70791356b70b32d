"""Checks for notebook 03 (self-attention in three steps): `from exercises import nb03 as check`.

Every check draws its own inputs (other lengths and sizes, C != d, scores that overflow) and
recomputes the expected result, so a hard-coded answer cannot pass. No check touches the
notebook's random state.
"""

from __future__ import annotations

import math

import torch

from exercises import LearnersCodeRaised, Wrong, call, call_refusing, exercise, require
from helpers import causal_mask, self_attention

DTYPE = torch.float64  # the notebook computes in float64
# exercise 2 writes the softmax: these would do it (or its max-subtraction) for the learner
READY_MADE_SOFTMAX = ("softmax", "log_softmax", "logsumexp", "cross_entropy", "nll_loss",
                      "scaled_dot_product_attention")


def _tensor(got, name: str) -> torch.Tensor:
    require(isinstance(got, torch.Tensor), f"{name} should be a torch tensor, got "
            f"{type(got).__name__}")
    return got.detach().to(DTYPE)


def _shape(t: torch.Tensor, want: tuple, name: str, hint: str = "") -> None:
    if hint:
        require(tuple(t.shape) == want, f"{name} should have shape {want}, got {tuple(t.shape)} ({hint})")
    require(tuple(t.shape) == want, f"{name} should have shape {want}, got {tuple(t.shape)}")


@exercise("03", 1)
def exercise_1(predict_zero_queries) -> None:
    """predict_zero_queries(V) -> (weights (T, T), outputs (T, d_v)) for all-zero queries."""
    g = torch.Generator().manual_seed(31)
    for T, d_k, d_v in [(8, 8, 8), (5, 4, 3), (1, 2, 4), (12, 6, 7), (3, 5, 2)]:
        K = torch.randn(T, d_k, generator=g, dtype=DTYPE)
        V = torch.randn(T, d_v, generator=g, dtype=DTYPE)
        want_out, want_w = self_attention(torch.zeros(T, d_k, dtype=DTYPE), K, V)
        got = call_refusing(predict_zero_queries, V.clone(), refuse=READY_MADE_SOFTMAX + ("exp",),
                            hint="predict the weights instead: what does a softmax make of a "
                            "row of T equal numbers?")
        require(isinstance(got, tuple | list) and len(got) == 2,
                "predict_zero_queries should return a pair (weights, outputs)")
        w, out = _tensor(got[0], "weights"), _tensor(got[1], "outputs")
        if w.shape == want_out.shape and out.shape == want_w.shape and \
                torch.allclose(w, want_out) and torch.allclose(out, want_w):
            raise Wrong("those are (outputs, weights), the order self_attention returns; this "
                        "exercise asks for (weights, outputs)")
        _shape(w, (T, T), "weights", f"{T} tokens: one row per query, one column per key")
        require(torch.allclose(w.sum(dim=-1), torch.ones(T, dtype=DTYPE)),
                "every row of weights comes out of a softmax, so it sums to 1")
        require(torch.allclose(w, want_w), "all scores are equal (q = 0 gives q·k = 0), so what "
                "does the softmax make of a row of equal numbers?")
        _shape(out, (T, d_v), "outputs", "one output per query, the size of a value")
        if not torch.allclose(out, want_out):
            require(not torch.allclose(out, V), "each output is a weighted sum of all the "
                    "values, not the query's own value")
            raise Wrong("with those weights, what is the weighted sum of the values, for every "
                        "query?")


@exercise("03", 2)
def exercise_2(softmax_stable) -> None:
    """softmax_stable(s): softmax of a 1-D tensor, with the largest score subtracted first."""
    g = torch.Generator().manual_seed(32)
    base = torch.randn(9, generator=g, dtype=DTYPE)
    cases = {
        "ordinary scores": base,
        "scores times 1000": base * 1000,
        "very negative scores": base - 2000,
        "scores with a masked one (-inf)": torch.cat([base[:4], torch.tensor([-math.inf]),
                                                     base[5:]]),
        "a single score": torch.tensor([3.5], dtype=DTYPE),
        "float32 scores times 100": (base * 100).float(),
        # scores far apart: subtracting any score but the largest leaves an exponent above 709
        "scores far apart": torch.tensor([0.0, 1000.0, 2000.0], dtype=DTYPE),
        "the largest score first, far apart": torch.tensor([2000.0, 0.0, 1000.0], dtype=DTYPE),
        "a masked first score (-inf)": torch.tensor([-math.inf, 3.0, 1.0], dtype=DTYPE),
    }
    for name, s in cases.items():
        got = call_refusing(softmax_stable, s.clone(), refuse=READY_MADE_SOFTMAX,
                            hint="write the softmax yourself, with torch.exp and a sum")
        want = torch.softmax(s, dim=0)  # made after the learner's call
        got = _tensor(got, "softmax_stable(s)")
        _shape(got, tuple(s.shape), f"softmax_stable of {len(s)} scores")
        require(not torch.isnan(got).any(), f"{name}: the result holds nan. exp of a huge "
                "number is inf (and of a hugely negative one 0), and inf/inf or 0/0 is nan; "
                "which number, subtracted from every score, makes the largest exponent 0?")
        require(bool((got[torch.isneginf(s)] == 0).all()), f"{name}: a masked score (−∞) "
                "must get weight exactly 0 (exp(−∞) = 0); replacing it by a number lets the "
                "token take weight")
        require(torch.allclose(got.sum(), torch.ones((), dtype=DTYPE)),
                f"{name}: the weights should sum to 1; did you divide by the sum?")
        require(torch.allclose(got, want.to(DTYPE), atol=1e-6),
                f"{name}: the weights are not the softmax of the scores")


@exercise("03", 3)
def exercise_3(fold_sqrt_d) -> None:
    """fold_sqrt_d(W_q): a query matrix that makes the division by sqrt(d) unnecessary."""
    g = torch.Generator().manual_seed(33)
    for T, C, d in [(8, 8, 8), (6, 8, 2), (5, 6, 9), (7, 16, 4)]:
        X = torch.randn(T, C, generator=g, dtype=DTYPE)
        W_q, W_k, W_v = (torch.randn(C, d, generator=g, dtype=DTYPE) for _ in range(3))
        want, _ = self_attention(X @ W_q, X @ W_k, X @ W_v)
        folded = _tensor(call(fold_sqrt_d, W_q.clone()), "fold_sqrt_d(W_q)")
        _shape(folded, (C, d), "W_q_folded", "the shape of W_q")
        got = torch.softmax((X @ folded) @ (X @ W_k).T, dim=-1) @ (X @ W_v)  # no division
        if torch.allclose(got, want):
            continue
        require(not torch.allclose(folded, W_q / math.sqrt(C)), "that divides by √C, the "
                "width of x; the scores are divided by √d, the size of a query (W_q.shape[1])")
        require(not torch.allclose(folded, W_q * math.sqrt(d)), "multiplying makes the scores "
                "bigger; they should come out smaller by the same factor as the division")
        raise Wrong(f"with W_q of shape {(C, d)} the folded matrix does not give the same "
                    "output; (x W) · k / √d = (x (W / ?)) · k")


def _random_weights(g: torch.Generator, H: int, T_q: int, T_k: int) -> torch.Tensor:
    """Attention weights (H, T_q, T_k) that look like a causal model's last T_q queries."""
    scores = 3 * torch.randn(H, T_q, T_k, generator=g, dtype=DTYPE)
    mask = causal_mask(T_k)[-T_q:]  # the queries are the last T_q positions
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def _run_4(weight_on, weights: torch.Tensor, targets: torch.Tensor):
    """The learner's weight_on; an index out of range gets the hint on which index is which."""
    try:
        return call(weight_on, weights.clone(), targets.clone())
    except LearnersCodeRaised as e:
        if str(e).startswith("IndexError"):
            raise Wrong(f"your code raised {str(e)!r}. Probably a key position used as a query "
                        "position: in weights[h, t, k] the second index is the query t, counted "
                        "from 0 to T_q - 1, and the third is the key k. targets holds keys, so it "
                        "goes third; the second index is torch.arange(T_q), every query in "
                        "turn") from None
        raise


@exercise("03", 4)
def exercise_4(weight_on) -> None:
    """weight_on(weights (H, T_q, T_k), targets (T_q,)) -> (H,) average weight on the targets."""
    g = torch.Generator().manual_seed(34)
    for H, T_q, T_k in [(6, 21, 27), (3, 5, 7), (4, 1, 3), (2, 9, 9)]:
        weights = _random_weights(g, H, T_q, T_k)
        queries = torch.arange(T_k - T_q, T_k)  # the absolute position of each query
        targets = (torch.rand(T_q, generator=g) * (queries + 1)).long()  # a key at or before it
        targets[-1] = queries[-1]  # the last query's target is itself, as a newline's is
        got = _tensor(_run_4(weight_on, weights, targets), "weight_on(...)")
        want = weights[:, torch.arange(T_q), targets].mean(dim=-1)  # (H,), made after the call
        if tuple(got.shape) == (T_q,) and H != T_q:
            raise Wrong("that is one number per query; average over the queries, so that "
                        "each head gets one number")
        _shape(got, (H,), "the result", f"{H} heads: one number per head")
        if torch.allclose(got, want):
            continue
        require(not torch.allclose(got, want * T_q), "that is the sum over the queries; take "
                "the average")
        hits = (weights.argmax(dim=-1) == targets).to(DTYPE).mean(dim=-1)
        require(not torch.allclose(got, hits), "that counts how often the target gets the "
                "largest weight; the question is how much weight it gets, on average")
        raise Wrong("row t of weights[h] holds query t's weights over the keys: from each row "
                    "take the weight on that query's own target, then average over the rows")
