"""Checks for notebook 05, GPT-2's self-attention. Each check builds its own random layers and
inputs (several shapes), so only a function that computes the right thing passes."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from exercises import Wrong, as_int, call, exercise, require
from helpers import MultiHeadSelfAttention, causal_mask


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
        with torch.no_grad():
            linear = call(conv1d_to_linear, conv)
        require(isinstance(linear, nn.Linear), f"return an nn.Linear, not a {type(linear).__name__}")
        require(tuple(linear.weight.shape) == (nf, nx),
                f"for Conv1D(nf={nf}, nx={nx}) the Linear's weight should be (out, in) = "
                f"{(nf, nx)}, got {tuple(linear.weight.shape)}")
        x = torch.randn(2, 5, nx, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            ours, theirs = linear(x), conv(x)
        require(linear.bias is not None and torch.allclose(linear.bias, conv.bias),
                "the Linear's bias should be the Conv1D's bias")
        require(torch.allclose(ours, theirs, atol=1e-5),
                f"for Conv1D(nf={nf}, nx={nx}) the Linear computes different numbers: the "
                "weight has the right shape but not the right layout (a reshape is not a transpose)")


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
                try:
                    picked = qkv[..., cols]
                except (IndexError, TypeError) as e:
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


def _leaks_future(fn: Callable, x: torch.Tensor, c_attn: nn.Linear, c_proj: nn.Linear,
                  n_head: int) -> bool:
    """True when changing the last token changes an earlier output (a missing causal mask)."""
    x2 = x.clone()
    x2[:, -1] = x2[:, -1] + 1.0
    a, b = call(fn, x, c_attn, c_proj, n_head), call(fn, x2, c_attn, c_proj, n_head)
    return not torch.allclose(a[:, :-1], b[:, :-1], atol=1e-5)


def _zero_filled(x: torch.Tensor, ref: MultiHeadSelfAttention, n_head: int) -> torch.Tensor:
    """GPT-2's attention with the hidden scores set to 0 instead of -inf (a classic slip)."""
    B, T, C = x.shape
    q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2)
               for t in ref.c_attn(x).split(C, dim=2))  # (B, H, T, hd) each
    scores = (q @ k.transpose(-2, -1) / (C // n_head) ** 0.5).masked_fill(~causal_mask(T), 0.0)
    return ref.c_proj((torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, C))


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
        with torch.no_grad():
            expected = ref(x)
            y = call(multi_head_attention, x, ref.c_attn, ref.c_proj, H)
            require(isinstance(y, torch.Tensor), f"return a tensor, got {type(y).__name__}")
            require(tuple(y.shape) == (B, T, C),
                    f"for x of shape {(B, T, C)} the output should be (B, T, C) = {(B, T, C)}, "
                    f"got {tuple(y.shape)}")
            if torch.allclose(y, expected, atol=1e-4):
                continue
            require(q_scale == 1.0 or not y.isnan().any(), "the output holds nan: some scores "
                    "are in the hundreds here, exp of a score above about 88.7 is inf in "
                    "float32, and inf / inf is nan. Subtract each row's largest score before "
                    "exp, as torch.softmax does")
            if _leaks_future(multi_head_attention, x, ref.c_attn, ref.c_proj, H):
                unmasked = MultiHeadSelfAttention(C, H, causal=False).eval()
                unmasked.load_state_dict(ref.state_dict())
                require(not torch.allclose(y, unmasked(x), atol=1e-4), "a token's output "
                        "changes when a LATER token changes: the causal mask is missing")
                require(not torch.allclose(y, _zero_filled(x, ref, H), atol=1e-4), "the mask "
                        "fills the hidden scores with 0, and a score of 0 still gets weight: "
                        "fill them with -inf (notebook 04)")
                raise Wrong("a token's output changes when a LATER token changes, though the "
                            "mask is not simply missing: the heads mix positions. Split with "
                            "view(B, T, n_head, head_dim), then transpose(1, 2); a reshape "
                            "straight to (B, n_head, T, head_dim) cuts across tokens")
            raise Wrong(f"right shape, wrong numbers (B={B}, T={T}, C={C}, n_head={H}). Check "
                        "the order view(B, T, n_head, head_dim) then transpose(1, 2), the scale "
                        "1/sqrt(head_dim) (not 1/sqrt(C)), the merge, and c_proj at the end")


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
