"""The linear layer, x @ W.T + b, and which library multiplies the matrices.

Every linear layer of the model (`c_attn`, `c_proj`, `c_fc` and the tied output layer) calls
`linear`. It computes what `F.linear` computes, from the same (out, in) weight; only the library
differs. With autograd off, on an x86 CPU, a product with a large weight goes to oneDNN (the CPU
kernel library bundled with PyTorch) instead of the BLAS that `F.linear` calls. For one new
token each layer is a matrix-vector product that reads its whole weight, so generation is
limited by how fast the weights stream from memory. On the AMD machine the project is measured
on, MKL computes that product on one core (about 13 GB/s, however many threads it may use);
oneDNN reads faster on one core and splits the rows over every core, about twice as fast in all
(notebook 10 shows it).
Training, and any call that autograd records, keeps `F.linear`, whose backward PyTorch provides.

The kernel is `torch.ops.mkldnn._linear_pointwise`, an internal operator of PyTorch (its
`torch.compile` CPU backend uses it for some linear layers): the first call checks that it exists
and agrees with `F.linear`, and `linear` falls back to `F.linear` where it does not.
`HELPERS_ONEDNN=0` in the environment before `helpers` is imported, or `with onednn(False):`,
turns it off. Only x86 CPUs use it: that is where it was measured.
"""

from __future__ import annotations

import contextvars
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch import nn

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
# on unless HELPERS_ONEDNN=0 was set before `helpers` was imported; `onednn(...)` switches it
# for the current thread (or asyncio task) only
_enabled = contextvars.ContextVar("helpers_onednn",
                                  default=os.environ.get("HELPERS_ONEDNN", "1") != "0")
_works: bool | None = None  # None until the first call has checked that the kernel runs
# oneDNN costs a fixed 20-40 us more per call than F.linear here; it pays from weights of about
# 768 x 768 (2.4 MB) up, where streaming the weight from memory is most of the time
MIN_ONEDNN_WEIGHTS = 1 << 19


def _onednn_works() -> bool:
    """Whether this PyTorch build has oneDNN's linear kernel and it agrees with F.linear."""
    global _works
    if _works is None:
        try:
            g = torch.Generator().manual_seed(0)
            x, w, b = (torch.randn(s, generator=g) for s in ((3, 8), (5, 8), (5,)))
            y = _onednn_linear(x, w, b)
            _works = bool(torch.allclose(y, F.linear(x, w, b), atol=1e-5))
        except (AttributeError, RuntimeError, NotImplementedError):
            _works = False
    return _works


def _onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """oneDNN's x @ weight.T + bias, from the dense (out, in) weight as it is (no copy)."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


def onednn_active() -> bool:
    """True when `linear` sends products without autograd to oneDNN on this machine."""
    return (_enabled.get() and _X86 and torch.backends.mkldnn.is_available()
            and torch.backends.mkldnn.enabled and _onednn_works())


@contextmanager
def onednn(enabled: bool) -> Iterator[None]:
    """Turn the oneDNN path on or off inside the block (to compare the two libraries), for the
    current thread only."""
    token = _enabled.set(bool(enabled))
    try:
        yield
    finally:
        _enabled.reset(token)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x (..., in) @ weight (out, in).T + bias (out,) -> (..., out), as `F.linear`.

    oneDNN computes it (same numbers up to float rounding, faster for large weights) when no
    gradient is recorded, all is float32 on an x86 CPU, and the weight has at least
    MIN_ONEDNN_WEIGHTS numbers; otherwise `F.linear`.
    """
    if _onednn_suits(x, weight, bias):
        return _onednn_linear(x, weight, bias)
    return F.linear(x, weight, bias)


def _onednn_suits(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    """Whether oneDNN may compute this product: the cheap tests first, as most calls fail them."""
    tensors = (x, weight) if bias is None else (x, weight, bias)
    if (weight.numel() < MIN_ONEDNN_WEIGHTS or x.dim() < 2
            or any(t.dtype != torch.float32 or t.device.type != "cpu" for t in tensors)
            or (bias is not None and not bias.is_contiguous())):  # it misreads a strided bias
        return False
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return False  # autograd records this call: only F.linear has a backward
    if any(fwAD.unpack_dual(t).tangent is not None for t in tensors):
        return False  # forward-mode autograd (a dual tensor): likewise
    wrapped = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)
    if wrapped is not None and any(wrapped(t) for t in tensors):
        return False  # inside torch.func's vmap or grad
    return onednn_active()


class Linear(nn.Linear):
    """`nn.Linear` (same weight, bias, state-dict names and initialisation) computed by
    `linear`, so inference uses the faster library where there is one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)
