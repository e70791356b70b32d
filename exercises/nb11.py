"""Checks for notebook 11 (looking at attention): `from exercises import nb11 as check`.

Every check builds its own attention weights, token ids and models (other shapes, other seeds,
heads with a pattern planted in them) and recomputes the expected result, so a hard-coded answer
cannot pass.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from exercises import Wrong, call, exercise, reference, require
from helpers import GPT, GPTConfig, causal_mask


def random_attention(B: int, H: int, T: int, seed: int, sharpness: float = 2.0) -> torch.Tensor:
    """Causal attention weights (B, H, T, T) from random scores: rows sum to 1, future = 0."""
    g = torch.Generator().manual_seed(seed)
    scores = sharpness * torch.randn(B, H, T, T, generator=g, dtype=torch.float64)
    return scores.masked_fill(~causal_mask(T), -math.inf).softmax(-1)


def _per_head(result, H: int, name: str) -> torch.Tensor:
    require(isinstance(result, torch.Tensor), f"{name} should return a tensor, got "
            f"{type(result).__name__}")
    require(tuple(result.shape) == (H,), f"{name} should return one number per head, shape "
            f"({H},), got {tuple(result.shape)}: average over the batch and the queries")
    return result.detach().double()


@reference
def _entropy(attention: torch.Tensor) -> torch.Tensor:
    """The expected answer: -sum a ln a over keys (0 ln 0 = 0), mean over batch and queries."""
    return torch.special.entr(attention).sum(-1).mean(dim=(0, 2))


@exercise("11", 1)
def exercise_1(attention_entropy) -> None:
    """attention_entropy(attention (B, H, T, T)) -> (H,): mean entropy of each query's row."""
    cases = [random_attention(2, 3, 6, seed=1), random_attention(1, 5, 9, seed=2, sharpness=6.0)]
    one_hot = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
    one_hot[0, 0, torch.arange(4), 0] = 1.0  # head 0 looks only at the first token: entropy 0
    one_hot[0, 1] = causal_mask(4) / causal_mask(4).sum(-1, keepdim=True)  # head 1: even spread
    cases.append(one_hot)
    for attention in cases:
        B, H, T, _ = attention.shape
        got = _per_head(call(attention_entropy, attention.clone()), H, "attention_entropy")
        want = _entropy(attention)
        if torch.allclose(got, want, atol=1e-6):
            continue
        require(not got.isnan().any(), "some entropies are nan: masked keys have weight exactly "
                "0, and 0 · ln 0 must count as 0 (torch.special.entr does that, or mask them)")
        require(not torch.allclose(got, -want, atol=1e-6), "entropy is -Σ a ln a: a sum of "
                "weights times logarithms of numbers <= 1 is negative, so flip its sign")
        require(not torch.allclose(got, want / math.log(2), atol=1e-6),
                "that is in bits (log2): use the natural logarithm, so the answer is in nats")
        require(not torch.allclose(got, want / T, atol=1e-6), "sum over the keys of each row, "
                "then average over the batch and the queries (not a mean over the keys)")
        raise Wrong(f"for weights of shape {tuple(attention.shape)} the entropies are not right; "
                    "a head that always looks at one key should give 0, an even spread ln(i+1) "
                    "for query i")


@reference
def _induction_share(attention: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """The expected answer: the weight on keys whose previous token is the query's token."""
    B, T = idx.shape
    before = torch.cat([torch.full((B, 1), -1), idx[:, :-1]], dim=1)  # the token before each key
    match = (before[:, None, :] == idx[:, :, None]) & causal_mask(T)  # (B, T_q, T_k)
    has = match.any(-1)  # (B, T): queries whose token occurred before (with a successor)
    share = (attention * match[:, None]).sum(-1)  # (B, H, T)
    return (share * has[:, None]).sum(dim=(0, 2)) / has.sum()


@exercise("11", 2)
def exercise_2(induction_share) -> None:
    """induction_share(attention, idx) -> (H,): weight on keys that follow an earlier copy of
    the query's token, averaged over the queries that have such a key."""
    g = torch.Generator().manual_seed(11)
    for B, H, T, V in [(2, 3, 12, 4), (3, 4, 16, 6), (1, 2, 9, 3)]:
        idx = torch.randint(0, V, (B, T), generator=g)
        attention = random_attention(B, H, T, seed=T)
        # plant an induction head in head 0: all weight on the key after the latest earlier copy
        before = torch.cat([torch.full((B, 1), -1), idx[:, :-1]], dim=1)
        match = (before[:, None, :] == idx[:, :, None]) & causal_mask(T)
        for b in range(B):
            for i in range(T):
                keys = match[b, i].nonzero().flatten()
                if len(keys):
                    attention[b, 0, i] = 0.0
                    attention[b, 0, i, keys[-1]] = 1.0
        got = _per_head(call(induction_share, attention.clone(), idx.clone()), H, "induction_share")
        want = _induction_share(attention, idx)
        if torch.allclose(got, want, atol=1e-6):
            continue
        same = (idx[:, None, :] == idx[:, :, None]) & causal_mask(T).tril(-1)
        has = same.any(-1)
        duplicate = ((attention * same[:, None]).sum(-1) * has[:, None]).sum(dim=(0, 2)) / has.sum()
        require(not torch.allclose(got, duplicate, atol=1e-6), "that is the weight on earlier "
                "copies of the query's token itself (a duplicate-token head); an induction head "
                "looks one step later, at the token that followed the copy")
        all_queries = (attention * match[:, None]).sum(-1).mean(dim=(0, 2))
        require(not torch.allclose(got, all_queries, atol=1e-6), "average only over the queries "
                "that have such a key: a query whose token never occurred before has nothing to "
                "find, and counting it as 0 lowers every head's score")
        raise Wrong(f"for idx of shape {(B, T)} over {V} token values the shares are not right; "
                    "a head that always looks at the key after the latest earlier copy of its "
                    "token should give 1.0 (head 0 of the check's weights does)")


@reference
def _loss_without_head(model: GPT, idx: torch.Tensor, layer: int, head: int) -> float:
    """The expected answer: zero head `head`'s slice of c_proj's input in block `layer`."""
    hd = model.config.head_dim

    def drop_head(_module, args):
        (x,) = args
        x = x.clone()
        x[..., head * hd:(head + 1) * hd] = 0.0
        return (x,)

    hook = model.h[layer].attn.c_proj.register_forward_pre_hook(drop_head)
    try:
        with torch.no_grad():
            logits = model(idx)
    finally:
        hook.remove()
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), idx[:, 1:].flatten()).item()


def _loss(logits: torch.Tensor, idx: torch.Tensor) -> float:
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), idx[:, 1:].flatten()).item()


@exercise("11", 3)
def exercise_3(loss_without_head) -> None:
    """loss_without_head(model, idx, layer, head) -> float: the next-token loss on idx with one
    head's output removed; the model computes as before afterwards."""
    torch.manual_seed(311)  # a model the learner's code has never seen
    cfg = GPTConfig(vocab_size=13, n_positions=16, n_embd=24, n_layer=3, n_head=4)
    model = GPT(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)  # large weights, so that every head matters to the loss
    idx = torch.randint(0, cfg.vocab_size, (2, 12), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        clean_logits = model(idx)
    clean = _loss(clean_logits, idx)
    for layer, head in [(0, 1), (2, 3), (1, 0), (2, 0)]:
        got = call(loss_without_head, model, idx.clone(), layer, head)
        require(isinstance(got, float | torch.Tensor) and torch.as_tensor(got).numel() == 1,
                f"return the loss as one number (a float), got {type(got).__name__}")
        got = float(got)
        with torch.no_grad():
            after = model(idx)
        require(torch.allclose(after, clean_logits), "after your function the model computes "
                "something else: remove the hook (hook.remove(), in a finally:) or undo your change")
        want = _loss_without_head(model, idx, layer, head)
        if abs(got - want) < 1e-4:
            continue
        require(abs(got - clean) > 1e-6, "that is the loss with every head at work: the head "
                f"({layer}, {head}) must contribute nothing to c_proj's input")
        require(not any(abs(got - _loss_without_head(model, idx, lay, h)) < 1e-4
                        for lay in range(cfg.n_layer) for h in range(cfg.n_head)),
                f"that is the loss without another head than layer {layer}, head {head}: head h "
                "owns features h*head_dim ... (h+1)*head_dim - 1 of c_proj's input")
        raise Wrong(f"without layer {layer}, head {head} the loss should be a different number: "
                    "zero that head's output (its head_dim columns of the merged heads, before "
                    "c_proj), leave its attention weights and the other heads alone")
