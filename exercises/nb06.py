"""Checks for notebook 06, the decoder block. Each check recomputes what it compares against
on its own random inputs and blocks (other shapes, a causal=False block), so a hard-coded
answer fails."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from exercises import Wrong, as_int, call, exercise, reference, require
from helpers import Block, GPTConfig


@exercise("06", 1)
def exercise_1(rms_norm: Callable) -> None:
    """`rms_norm(x, weight, eps)` = x / sqrt(mean(x^2) + eps) * weight, like nn.RMSNorm."""
    for shape, eps, scale, shift, seed in (((2, 5, 16), 1e-5, 3.0, 1.0, 0),
                                           ((3, 64), 1e-2, 0.1, 0.05, 1),
                                           ((1, 4, 768), 1e-5, 1.0, -2.0, 2)):
        g = torch.Generator().manual_seed(seed)
        C = shape[-1]
        x = torch.randn(*shape, generator=g) * scale + shift
        ref = nn.RMSNorm(C, eps=eps)
        with torch.no_grad():
            ref.weight.copy_(1.0 + 0.1 * torch.randn(C, generator=g))
            expected = ref(x)
            got = call(rms_norm, x, ref.weight, eps)
        require(isinstance(got, torch.Tensor), f"return a tensor, got {type(got).__name__}")
        require(got.shape == x.shape, f"the output should have the input's shape {tuple(x.shape)}, "
                                      f"got {tuple(got.shape)}")
        if not torch.allclose(got, expected, atol=1e-4, rtol=1e-4):
            centred = x - x.mean(dim=-1, keepdim=True)
            as_layer_norm = centred / torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + eps)
            if torch.allclose(got, as_layer_norm * ref.weight, atol=1e-4):
                raise Wrong("that is LayerNorm without a bias: RMSNorm does not subtract the mean")
            raise Wrong(f"different numbers from nn.RMSNorm (shape {tuple(shape)}, eps={eps}): "
                        "the mean of x² is over the last dimension only, and eps goes inside "
                        "the square root")


@exercise("06", 2)
def exercise_2(block_parameters: Callable) -> None:
    """`block_parameters(n_embd, n_inner)` is the parameter count of one block whose MLP is
    n_inner wide (GPT-2: 4 x n_embd)."""
    sizes = [(768, 12, 3072), (1024, 16, 4096), (1280, 20, 5120), (1600, 25, 6400),
             (768, 12, 2048), (24, 3, 64), (100, 4, 100), (64, 4, 1)]
    for n_embd, n_head, n_inner in sizes:
        with torch.device("meta"):  # shapes only: no memory, no random numbers
            config = GPTConfig(n_embd=n_embd, n_head=n_head, n_inner=n_inner)
            expected = sum(p.numel() for p in Block(config).parameters())
        got = as_int(call(block_parameters, n_embd, n_inner), "block_parameters")
        C, inner = n_embd, n_inner
        if got == expected:
            continue
        require(got != 12 * C * C + 13 * C, f"block_parameters({C}, {inner}): that is GPT-2's "
                "4x block whatever n_inner is; the MLP's two matrices are C x n_inner")
        require(got != 4 * C * C + 2 * C * inner, "the weight matrices are right; now add the "
                "biases and the two LayerNorms (gain and bias each)")
        raise Wrong(f"block_parameters({C}, {inner}) = {got:,} is not the parameter count of "
                    f"that block (count every tensor of section 9: weights, biases, LayerNorm "
                    "gains and biases, with n_inner in place of 4 * n_embd)")


def _block(n_embd: int, n_head: int, causal: bool, seed: int) -> Block:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return Block(GPTConfig(n_embd=n_embd, n_head=n_head, causal=causal)).eval()


@reference
def _reference_changed(blk: Block, x: torch.Tensor, t: int) -> torch.Tensor:
    """Which outputs move when token t is replaced: (T,) bool, recomputed here."""
    x2 = x.clone()
    g = torch.Generator().manual_seed(1000 + t)
    x2[:, t] = torch.randn(x2[:, t].shape, generator=g)  # not x + constant: LayerNorm removes that
    return (blk(x) - blk(x2)).abs().amax(dim=(0, 2)) > 1e-5


@exercise("06", 3)
def exercise_3(changed_outputs: Callable) -> None:
    """`changed_outputs(blk, x, t)` is the (T,) bool of output positions that change when
    token t changes: t..T-1 in a causal block, every position in a causal=False block."""
    cases = ((True, 48, 4, 2, 8, 0), (True, 32, 2, 3, 5, 1), (False, 48, 4, 2, 8, 2),
             (False, 32, 2, 1, 6, 3))
    for causal, n_embd, n_head, B, T, seed in cases:
        blk = _block(n_embd, n_head, causal, seed)
        x = torch.randn(B, T, n_embd, generator=torch.Generator().manual_seed(seed))
        for t in range(T):
            with torch.no_grad():
                expected = _reference_changed(blk, x, t)
                got = call(changed_outputs, blk, x.clone(), t)
            try:
                got = torch.as_tensor(got)
            except (TypeError, ValueError, RuntimeError):
                raise Wrong(f"return a (T,) bool tensor, got {type(got).__name__}") from None
            require(tuple(got.shape) == (T,),
                    f"return one bool per position, shape ({T},); got {tuple(got.shape)}")
            if torch.equal(got.bool(), expected):
                continue
            kind = "a causal block" if causal else "a causal=False (bidirectional) block"
            raise Wrong(f"wrong for {kind}, T={T}, t={t}: measure which outputs change, do not "
                        "assume the answer (run the block on x and on x with token t replaced)")


@exercise("06", 4)
def exercise_4(dropout: Callable) -> None:
    """`dropout(x, p, training)`: in training, zero each number with probability p and divide
    the survivors by 1 - p; otherwise return x unchanged."""
    x = torch.randn(200_000, generator=torch.Generator().manual_seed(0)).abs() + 0.5  # no zeros
    for p in (0.1, 0.5):
        with torch.random.fork_rng():
            torch.manual_seed(1)
            first = call(dropout, x.clone(), p, True)
            second = call(dropout, x.clone(), p, True)
        require(isinstance(first, torch.Tensor) and first.shape == x.shape,
                f"return a tensor of the input's shape {tuple(x.shape)}")
        zeroed = first == 0
        share = zeroed.float().mean().item()
        require(abs(share - p) < 0.01,
                f"with p = {p} about {p:.0%} of the numbers should become 0; {share:.1%} did")
        kept = first[~zeroed]
        if torch.allclose(kept, x[~zeroed], atol=1e-6):
            raise Wrong("the zeros are right, but the survivors are unchanged: without "
                        "rescaling, the expected value of each number drops from x to (1 - p)·x")
        require(torch.allclose(kept, x[~zeroed] / (1 - p), atol=1e-5),
                f"the numbers that survive should be divided by 1 - p = {1 - p:g}")
        require(not torch.equal(first, second),
                "two calls in training made the same zeros: draw a new random mask each call")
        off = call(dropout, x.clone(), p, False)
        require(isinstance(off, torch.Tensor) and torch.equal(off, x),
                "with training=False dropout must return x unchanged")


def _pre_ln(blk: Block, x: torch.Tensor) -> torch.Tensor:  # section 6's arrangements
    x = x + blk.attn(blk.ln_1(x))
    return x + blk.mlp(blk.ln_2(x))


def _post_ln(blk: Block, x: torch.Tensor) -> torch.Tensor:
    x = blk.ln_1(x + blk.attn(x))
    return blk.ln_2(x + blk.mlp(x))


@reference
def _gradient_by_block(blocks: nn.ModuleList, arrange: Callable, x: torch.Tensor,
                       target: torch.Tensor) -> list[float]:
    with torch.enable_grad():
        blocks.zero_grad()
        h = x
        for blk in blocks:
            h = arrange(blk, h)
        (h * target).sum().backward()
        norms = [blk.mlp.c_fc.weight.grad.norm().item() for blk in blocks]
        blocks.zero_grad()
    return norms


def _as_floats(got, n: int) -> list[float]:
    if isinstance(got, torch.Tensor):
        got = got.detach().flatten().tolist()
    require(isinstance(got, list | tuple) and len(got) == n,
            f"return one number per block, a list of {n}, got {got!r:.80}")
    require(all(isinstance(v, int | float) or hasattr(v, "item") for v in got),
            "return plain numbers (use .item() on a one-element tensor)")
    return [float(v) for v in got]


@exercise("06", 5)
def exercise_5(gradient_by_block: Callable) -> None:
    """`gradient_by_block(blocks, arrange, x, target)`: the gradient norm of each block's
    mlp.c_fc.weight, first block first, for the loss (output * target).sum()."""
    for n_layer, C, arrange in ((3, 16, _pre_ln), (5, 32, _post_ln), (4, 16, _post_ln)):
        with torch.random.fork_rng():
            torch.manual_seed(n_layer * C)
            blocks = nn.ModuleList(Block(GPTConfig(n_embd=C, n_head=2)) for _ in range(n_layer))
            x, target = torch.randn(2, 6, C), torch.randn(2, 6, C)
        want = _gradient_by_block(blocks, arrange, x, target)
        first = _as_floats(call(gradient_by_block, blocks, arrange, x, target), n_layer)
        again = _as_floats(call(gradient_by_block, blocks, arrange, x, target), n_layer)
        if _close(first, want) and _close(again, want):
            continue
        if _close(first, want):
            raise Wrong("right the first time, wrong the second: gradients add up across "
                        "backward passes; call blocks.zero_grad() before each one")
        require(not _close(first, want[::-1]), "the right numbers in reverse order: the first "
                "block first")
        raise Wrong(f"for {n_layer} blocks of width {C} the norms differ: run x through every "
                    "block with arrange(blk, h), backpropagate (h * target).sum(), and take "
                    "blk.mlp.c_fc.weight.grad.norm() of each block")


def _close(got: list[float], want: list[float]) -> bool:
    return all(abs(a - b) <= 1e-4 * abs(b) for a, b in zip(got, want, strict=True))
