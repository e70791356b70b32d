"""Checks for notebook 05, GPT-2's self-attention. Each check builds its own random layers and
inputs (several shapes), so only a function that computes the right thing passes."""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
from torch import nn

from exercises import LearnersCodeRaised, Wrong, as_int, call, call_refusing, exercise, reference, require
from helpers import MultiHeadSelfAttention, causal_mask, self_attention


def _conv1d(nf: int, nx: int, seed: int):
    """A Hugging Face `Conv1D(nf, nx)` with random weight and bias (no global RNG touched)."""
    from transformers.pytorch_utils import Conv1D  # imported here: transformers is slow to load

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        conv = Conv1D(nf=nf, nx=nx)
        with torch.no_grad():
            conv.weight.normal_()
            conv.bias.normal_()  # a non-zero bias, so a forgotten bias is caught
    return conv


@exercise("05", 1)
def exercise_1(conv1d_to_linear: Callable) -> None:
    """`conv1d_to_linear(conv)` returns an nn.Linear computing what the Conv1D computes."""
    for nf, nx, seed in ((10, 6, 0), (7, 3, 1), (12, 12, 2)):
        conv = _conv1d(nf, nx, seed)
        x = torch.randn(2, 5, nx, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():  # the reference first: the learner's code cannot change it
            weight, bias, theirs = conv.weight.clone(), conv.bias.clone(), conv(x)  # (in, out)
            try:
                linear = call(conv1d_to_linear, conv)
            except LearnersCodeRaised as e:
                if "must match the size of tensor" not in str(e):  # PyTorch's error for copy_
                    raise
                raise Wrong(f"the Conv1D's weight does not fit the Linear's: it is (in, out) = "
                            f"{(nx, nf)}, the Linear's (out, in) = {(nf, nx)}, so it goes in "
                            "transposed") from None
        require(torch.equal(conv.weight, weight) and torch.equal(conv.bias, bias),
                "conv1d_to_linear changed the Conv1D's weight or bias in place: read them, "
                "leave the Conv1D as it was (.T makes a transposed view, not a change)")
        require(isinstance(linear, nn.Linear), f"return an nn.Linear, not a {type(linear).__name__}")
        require(tuple(linear.weight.shape) == (nf, nx),
                f"for Conv1D(nf={nf}, nx={nx}) the Linear's weight should be (out, in) = "
                f"{(nf, nx)}, got {tuple(linear.weight.shape)}")
        got = linear.weight.detach().to(weight.dtype)  # a float64 Linear gets its own hint below
        if not torch.allclose(got, weight.T, atol=1e-6):
            require(not torch.allclose(got, weight.reshape(nf, nx), atol=1e-6),
                    f"for Conv1D(nf={nf}, nx={nx}) the Linear computes different numbers: the "
                    "weight has the right shape but not the right layout (a reshape is not a "
                    "transpose)")
            raise Wrong(f"for Conv1D(nf={nf}, nx={nx}) the Linear's weight is not the Conv1D's "
                        "weight, transposed: nn.Linear keeps (out, in), Conv1D (in, out)")
        require(linear.bias is not None
                and torch.allclose(linear.bias.detach().to(bias.dtype), bias, atol=1e-6),
                "the Linear's bias should be the Conv1D's bias")
        require(linear.weight.dtype == weight.dtype and linear.bias.dtype == bias.dtype,
                f"the numbers are right, but the Linear is {linear.weight.dtype} and the Conv1D "
                f"{weight.dtype}, so the Conv1D's inputs would not go through it: make it "
                f"{weight.dtype} (nn.Linear's default)")
        with torch.no_grad():
            try:
                ours = linear(x)
            except Exception as e:  # a forward of the learner's own
                raise Wrong(f"calling the Linear raised {type(e).__name__}: {e}") from None
        require(torch.allclose(ours, theirs, atol=1e-5),
                "the Linear holds the right weight and bias but computes different numbers: "
                "keep nn.Linear's own forward")


@exercise("05", 2)
def exercise_2(head_columns: Callable) -> None:
    """`head_columns(h, part, n_embd, n_head)` is the slice of c_attn's outputs holding head
    h's `part` ("q", "k" or "v")."""
    for n_embd, n_head, seed in ((768, 12, 0), (24, 3, 1), (40, 5, 2)):
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            attn = MultiHeadSelfAttention(n_embd, n_head)
            x = torch.randn(2, 4, n_embd)
        with torch.no_grad():
            qkv = attn.c_attn(x)  # (B, T, 3C)
            heads = dict(zip("qkv", (attn.split_heads(t) for t in qkv.split(n_embd, dim=2)),
                             strict=True))  # each (B, H, T, hd)
        for h in range(n_head):
            for part in "qkv":
                cols = call(head_columns, h, part, n_embd=n_embd, n_head=n_head)
                require(not isinstance(cols, tuple), f"head_columns({h}, {part!r}) returned the "
                        f"tuple {cols!r}: return slice(start, stop), which indexes like "
                        "start:stop")
                require(not (isinstance(cols, slice) and isinstance(cols.step, int)
                             and cols.step < 0), f"head_columns({h}, {part!r}) returned {cols!r}, "
                        "which runs backwards: a tensor's slice steps forwards, "
                        "slice(start, stop)")
                try:
                    picked = qkv[..., cols]
                except (IndexError, TypeError, ValueError) as e:
                    raise Wrong(f"head_columns({h}, {part!r}) returned {cols!r}, which cannot "
                                f"index the last dimension ({e})") from None
                require(picked.shape == heads[part][:, h].shape,
                        f"head_columns({h}, {part!r}) with n_embd={n_embd}, n_head={n_head} picks "
                        f"{picked.shape[-1]} features; a head has n_embd // n_head = "
                        f"{n_embd // n_head}")
                require(torch.equal(picked, heads[part][:, h]),
                        f"head_columns({h}, {part!r}) with n_embd={n_embd}, n_head={n_head} picks "
                        "the wrong features: c_attn's output is [all q | all k | all v], and "
                        "each of the three is cut into n_head consecutive slices")


@exercise("05", 3)
def exercise_3(attention_parameters: Callable) -> None:
    """`attention_parameters(n_embd, n_head)` counts c_attn and c_proj, weights and biases."""
    for n_embd, n_head in ((768, 12), (768, 1), (768, 64), (1024, 16), (30, 5), (36, 4)):
        with torch.device("meta"):  # shapes only: no memory, no random numbers
            expected = sum(p.numel() for p in MultiHeadSelfAttention(n_embd, n_head).parameters())
        got = call(attention_parameters, n_embd, n_head)
        got = as_int(got, "attention_parameters")
        if got != expected and got == 4 * n_embd**2:
            raise Wrong("close: the weights are right, but nn.Linear has a bias too")
        require(got == expected,
                f"attention_parameters({n_embd}, {n_head}) = {got:,} is not the number of "
                "parameters of c_attn (C -> 3C) and c_proj (C -> C)")


# exercise 4 asks for the computation itself: a ready-made attention is refused however it is
# reached (PyTorch's fused function, helpers' self_attention or MultiHeadSelfAttention)
READY_MADE = dict(refuse=("scaled_dot_product_attention", "multi_head_attention_forward"),
                  callers=(self_attention, MultiHeadSelfAttention.forward),
                  hint="write the scores, the mask, the softmax and the weighted sum yourself "
                       "(sections 5-7); helpers' causal_mask is fine")


@reference
def _attention(x: torch.Tensor, ref: MultiHeadSelfAttention, n_head: int, *, split="view",
               scale="head_dim", hide="future", fill=float("-inf"), mask_after=False,
               softmax_dim=-1, merge="transpose", project=True) -> torch.Tensor:
    """GPT-2's attention with ref's two layers, right by default, or with one classic slip:
    split "reshape" (straight to (B, H, T, hd)); scale "C", "n_head", 64 or None; hide "past"
    (j < i, the mask the wrong way round) or None (no mask); a fill of 0; the mask after the
    softmax; the softmax over another dim; merge "reshape" (no transpose); no c_proj."""
    B, T, C = x.shape
    hd = C // n_head
    if split == "view":
        q, k, v = (t.view(B, T, n_head, hd).transpose(1, 2) for t in ref.c_attn(x).split(C, dim=2))
    else:
        q, k, v = (t.reshape(B, n_head, T, hd) for t in ref.c_attn(x).split(C, dim=2))
    divisor = {"head_dim": hd, "C": C, "n_head": n_head, 64: 64, None: 1}[scale]
    scores = q @ k.transpose(-2, -1) / divisor**0.5  # (B, H, T, T)
    ahead = ~causal_mask(T)  # key j after query i: the future
    hidden = {"future": ahead, "past": ~ahead & ~torch.eye(T, dtype=torch.bool), None: None}[hide]
    if mask_after:
        weights = torch.softmax(scores, dim=softmax_dim).masked_fill(hidden, 0.0)
    else:
        if hidden is not None:
            scores = scores.masked_fill(hidden, fill)
        weights = torch.softmax(scores, dim=softmax_dim)
    y = weights @ v  # (B, H, T, hd)
    y = y.transpose(1, 2).reshape(B, T, C) if merge == "transpose" else y.reshape(B, T, C)
    return ref.c_proj(y) if project else y


SPLIT_IN_THE_WRONG_ORDER = (
    "the heads were split with reshape (or view) straight to (B, n_head, T, head_dim), which "
    "puts numbers of different tokens into one head. Split the last dimension with view(B, T, "
    "n_head, head_dim), then transpose(1, 2)")  # whether the merge transposes back or not

# each slip with its hint, checked in this order
SLIPS = (
    (dict(hide=None), "a token's output changes when a LATER token changes: the causal mask is "
                      "missing"),
    (dict(fill=0.0), "the mask fills the hidden scores with 0, and a score of 0 still gets "
                     "weight: fill them with -inf (notebook 04)"),
    (dict(hide="past"), "the mask is the wrong way round: it hides the past and lets each token "
                        "see the keys after it. Hide the keys after the query (j > i): "
                        "causal_mask(T) is True where a query may attend, so fill where it is "
                        "False (~mask)"),
    (dict(mask_after=True), "the mask comes after the softmax: the hidden weights become 0, but "
                            "each row no longer sums to 1. Fill the hidden scores with -inf "
                            "first, then take the softmax"),
    (dict(softmax_dim=-2), "the softmax runs over dim -2, the queries: each query's weights over "
                           "the keys must sum to 1, so softmax(scores, dim=-1)"),
    (dict(softmax_dim=1), "the softmax runs over dim 1, the heads: each query's weights over "
                          "the keys must sum to 1, so softmax(scores, dim=-1)"),
    (dict(split="reshape"), SPLIT_IN_THE_WRONG_ORDER),
    (dict(split="reshape", merge="reshape"), SPLIT_IN_THE_WRONG_ORDER),
    (dict(merge="reshape"), "the heads are merged without transpose(1, 2): (B, n_head, T, "
                            "head_dim) reshaped straight to (B, T, C) puts numbers of different "
                            "tokens into one token. Transpose to (B, T, n_head, head_dim) first, "
                            "then reshape(B, T, C)"),
    (dict(scale="C"), "the scores are divided by sqrt(C): a score is a dot product of head_dim "
                      "numbers, so divide by sqrt(head_dim) = sqrt(C // n_head)"),
    (dict(scale=None), "the scores are not scaled: divide them by sqrt(head_dim) = "
                       "sqrt(C // n_head) before the mask and the softmax"),
    (dict(scale="n_head"), "the scores are divided by sqrt(n_head): divide by sqrt(head_dim) = "
                           "sqrt(C // n_head), the length of one head's vectors"),
    (dict(scale=64), "the scores are divided by sqrt(64), GPT-2 small's head_dim (the notebook's "
                     "head_dim?): inside the function take head_dim = C // n_head from x's "
                     "shape"),
    (dict(project=False), "c_proj is missing: after merging the heads, apply c_proj (C -> C)"),
)


def _run_4(fn: Callable, x: torch.Tensor, ref: MultiHeadSelfAttention, n_head: int):
    """The learner's multi_head_attention on x with ref's layers, ready-made attention refused;
    a failed view or a view with the notebook's sizes gets its hint."""
    try:
        return call_refusing(fn, x, ref.c_attn, ref.c_proj, n_head, **READY_MADE)
    except LearnersCodeRaised as e:
        if "view size is not compatible" in str(e):
            raise Wrong("a view(...) failed: view re-reads the same memory with new sizes, so "
                        "it can only split or merge dimensions whose numbers lie back to back. "
                        "q, k and v are slices of c_attn's output: the C numbers of a token lie "
                        "together, but tokens are 3C apart, so only the last dimension can be "
                        "split: view(B, T, n_head, head_dim), then transpose(1, 2). After a "
                        "transpose, merge with reshape (or .contiguous().view). PyTorch's advice "
                        "to use .reshape is right for the merge and wrong for the split: "
                        "reshape straight to (B, n_head, T, head_dim) runs, but mixes "
                        "tokens") from None
        shape = re.search(r"shape '(\[[\d, -]*\])' is invalid for input of size", str(e))
        if shape is not None:
            raise Wrong(f"a view asked for the shape {shape.group(1)}, which does not fit this "
                        "x. Take B, T, C from x.shape and head_dim = C // n_head inside the "
                        "function, not the notebook's B, T, n_head or head_dim") from None
        raise


def _leaks_future(fn: Callable, x: torch.Tensor, ref: MultiHeadSelfAttention,
                  n_head: int) -> bool:
    """True when changing the last token changes an earlier output."""
    x2 = x.clone()
    x2[:, -1] = x2[:, -1] + 1.0
    a, b = _run_4(fn, x, ref, n_head), _run_4(fn, x2, ref, n_head)
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        return False
    return not torch.allclose(a[:, :-1].double(), b[:, :-1].double(), atol=1e-5)


def _nan_hint(y: torch.Tensor, q_scale: float) -> str:
    """Why the output holds nan: exp overflowing (huge scores), or a row of scores that is -inf
    everywhere, told by which tokens' outputs are nan."""
    if q_scale != 1.0:  # the earlier cases passed: the mask is right, exp overflowed
        return ("the output holds nan: some scores are in the hundreds here, exp of a score "
                "above about 88.7 is inf in float32, and inf / inf is nan. Subtract each row's "
                "largest score before exp, as torch.softmax does")
    rows = sorted(set(y.isnan().any(dim=-1).nonzero()[:, 1].tolist()))  # tokens with nan
    T = y.size(1)
    if rows == [0]:
        return ("token 0's output is nan: every key of its row is hidden, and the softmax of a "
                "row of -inf is 0 / 0 = nan. Token 0 can only see itself, so the mask must "
                "keep the diagonal: hide only the keys after the query (j > i)")
    if rows == [T - 1]:
        return ("the last token's output is nan: the mask hides every key it may see, the "
                "past and itself. causal_mask(T) is True where a query may attend, so fill "
                "where it is False: scores.masked_fill(~mask, float('-inf'))")
    return (f"the output holds nan at positions {rows}: a row of scores that is -inf everywhere "
            "gives softmax 0 / 0 = nan. Token i must see keys 0..i, itself included: hide only "
            "the keys after it (j > i)")


@exercise("05", 4)
def exercise_4(multi_head_attention: Callable) -> None:
    """`multi_head_attention(x, c_attn, c_proj, n_head)` computes GPT-2's causal multi-head
    attention from the two layers, like helpers.MultiHeadSelfAttention."""
    # the last layer's queries are 30 times larger: scores in the hundreds, where exp overflows
    for B, T, C, H, seed, q_scale in ((2, 5, 12, 3, 0, 1.0), (1, 7, 32, 4, 1, 1.0),
                                      (3, 6, 24, 2, 2, 1.0), (2, 6, 16, 2, 3, 30.0)):
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            ref = MultiHeadSelfAttention(C, H).eval()
            with torch.no_grad():
                for p in ref.parameters():
                    p.normal_(0.0, 0.5)  # large weights: peaked, head-specific attention
                ref.c_attn.weight[:C].mul_(q_scale)  # c_attn's first C outputs are the queries
            x = torch.randn(B, T, C)
        with torch.no_grad():  # every reference before the learner's code runs
            expected = ref(x)
            slipped = [(_attention(x, ref, H, **slip), hint) for slip, hint in SLIPS]
            layers = {k: p.clone() for k, p in ref.state_dict().items()}
            y = _run_4(multi_head_attention, x, ref, H)
        require(all(torch.equal(p, layers[k]) for k, p in ref.state_dict().items()),
                "multi_head_attention changed the weights of c_attn or c_proj in place: the "
                "layers must come back as they went in")
        require(isinstance(y, torch.Tensor), f"return a tensor, got {type(y).__name__}")
        require(tuple(y.shape) == (B, T, C),
                f"for x of shape {(B, T, C)} the output should be (B, T, C) = {(B, T, C)}, "
                f"got {tuple(y.shape)}")
        require(y.is_floating_point(), f"return a tensor of floats, got {y.dtype}")
        y = y.detach().to(expected.dtype)  # float64 is right too
        if torch.allclose(y, expected, atol=1e-4):
            continue
        for wrong, hint in slipped:  # a slip that gives nan is told by where the nan are
            require(not torch.allclose(y, wrong, atol=1e-4, equal_nan=True), hint)
        if y.isnan().any():  # before the leak test: nan spreads to every later output
            raise Wrong(_nan_hint(y, q_scale))
        with torch.no_grad():
            leaks = _leaks_future(multi_head_attention, x, ref, H)
        require(not leaks, "a token's output changes when a LATER token changes. The possible "
                "causes: the mask (causal_mask is True where a query may attend; hide only the "
                "keys after the query, j > i, with -inf, before the softmax), the softmax's dim "
                "(-1, over the keys), the split (view(B, T, n_head, head_dim), then "
                "transpose(1, 2)) and the merge (transpose(1, 2), then reshape(B, T, C))")
        raise Wrong(f"right shape, wrong numbers (B={B}, T={T}, C={C}, n_head={H}). Check q, k "
                    "and v in c_attn's order [q | k | v], the split (view(B, T, n_head, "
                    "head_dim), then transpose(1, 2)), the scale 1/sqrt(head_dim) (not "
                    "1/sqrt(C)), the mask, the softmax over dim -1, the merge (transpose(1, 2), "
                    "then reshape) and c_proj at the end")


@exercise("05", 5)
def exercise_5(previous_token_weight: Callable) -> None:
    """`previous_token_weight(weights)`: (B, n_head, T, T) -> (n_head,), the weight each head
    puts on the previous position, averaged over queries 1..T-1 and the batch."""
    for B, H, T, seed in ((1, 6, 9, 0), (3, 4, 5, 1), (2, 12, 16, 2)):
        g = torch.Generator().manual_seed(seed)
        scores = torch.randn(B, H, T, T, generator=g) * 2
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        expected = weights.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(0, 2))  # (H,)
        got = call(previous_token_weight, weights)
        require(isinstance(got, torch.Tensor), f"return a tensor, got {type(got).__name__}")
        require(tuple(got.shape) == (H,),
                f"for weights of shape {(B, H, T, T)} return one number per head, shape {(H,)}; "
                f"got {tuple(got.shape)}")
        if not torch.allclose(got.float(), expected, atol=1e-5):
            self_weight = weights.diagonal(dim1=-2, dim2=-1).mean(dim=(0, 2))
            if torch.allclose(got.float(), self_weight, atol=1e-5):
                raise Wrong("that is the weight on the query's own position (the diagonal); "
                            "the previous position is one column to the left")
            if torch.allclose(got.float(), expected * (T - 1) / T, atol=1e-5):
                raise Wrong("query 0 has no previous position: average over queries 1..T-1 only")
            raise Wrong("the numbers differ: row i (query i) should contribute its weight in "
                        "column i - 1, averaged over i = 1..T-1 and over the batch")
