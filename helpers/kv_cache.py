"""The KV cache: at inference only the keys and values of earlier tokens are kept.

A query is used once, by the token that makes it, and never again; keys and values are read by
every later token. So generation keeps K and V per layer (not Q): the prompt fills the cache in
one pass (prefill), then each new token adds one position (decode).
"""

from __future__ import annotations

import torch


class KVCache:
    """Preallocated keys and values for every layer: (B, n_head, n_positions, head_dim) each.

    Each layer writes its own slot (`update(layer_idx, ...)`) and the cache counts what each
    layer has stored, so no caller has to advance it; `length` is what every layer holds.
    """

    def __init__(
        self,
        n_layer: int,
        batch_size: int,
        n_head: int,
        n_positions: int,
        head_dim: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        sizes = dict(n_layer=n_layer, batch_size=batch_size, n_head=n_head,
                     n_positions=n_positions, head_dim=head_dim)
        for name, value in sizes.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"KVCache: {name} must be an integer >= 1, got {value!r}")
        shape = (batch_size, n_head, n_positions, head_dim)
        # uninitialised: only the filled part, [:, :, :length], is ever read, and not zeroing
        # GPT-2 small's 75 MB saves the 20 ms a generate call would spend writing them
        self.keys = [torch.empty(shape, dtype=dtype, device=device) for _ in range(n_layer)]
        self.values = [torch.empty(shape, dtype=dtype, device=device) for _ in range(n_layer)]
        self.n_positions = n_positions
        self.lengths = [0] * n_layer  # positions stored so far, per layer

    @property
    def length(self) -> int:
        """Positions stored by every layer (between two forward passes all layers agree)."""
        return min(self.lengths)

    def update(
        self, layer_idx: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's k, v (B, H, T_new, hd) to layer `layer_idx`; return that layer's
        keys and values so far, (B, H, past + T_new, hd) each."""
        if not 0 <= layer_idx < len(self.lengths):
            raise ValueError(f"layer_idx must be in 0..{len(self.lengths) - 1}, got {layer_idx}")
        start = self.lengths[layer_idx]
        end = start + k.size(2)
        if end > self.n_positions:
            raise ValueError(f"KV cache holds {self.n_positions} positions; cannot store {end}")
        self.keys[layer_idx][:, :, start:end] = k
        self.values[layer_idx][:, :, start:end] = v
        self.lengths[layer_idx] = end
        return self.keys[layer_idx][:, :, :end], self.values[layer_idx][:, :, :end]

    def reorder(self, index: torch.Tensor) -> None:
        """Keep the batch rows in `index` (beam search picks which beams survive)."""
        self.keys = [k.index_select(0, index) for k in self.keys]
        self.values = [v.index_select(0, index) for v in self.values]

    def memory_bytes(self) -> int:
        """Bytes the cache occupies (keys and values, all layers, full capacity)."""
        return sum(t.numel() * t.element_size() for t in self.keys + self.values)
