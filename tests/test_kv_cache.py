"""The KV cache: prefill then decode equals recomputing, only what was stored is read, and
each layer owns its slot."""

import pytest
import torch

from helpers import GPT, Block, GPTConfig
from helpers.kv_cache import KVCache

from conftest import TINY_CONFIGS


def test_kv_cache_prefill_then_decode_equals_recomputing():
    model = GPT(GPTConfig(**TINY_CONFIGS[3])).eval()
    idx = torch.randint(128, (2, 12))
    cache = model.new_kv_cache(2)
    with torch.no_grad():
        full = model(idx)
        steps = [model(idx[:, :7], kv_cache=cache)]  # prefill
        assert cache.lengths == [7] * model.config.n_layer and cache.length == 7
        for t in range(7, 12):  # decode one token at a time
            steps.append(model(idx[:, t : t + 1], kv_cache=cache))
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=0)
    assert cache.length == 12  # the cache advanced itself: no caller had to
    n = model.config
    assert cache.memory_bytes() == 2 * n.n_layer * 2 * n.n_head * n.n_positions * n.head_dim * 4


def test_kv_cache_reads_only_what_it_stored():
    """The cache is allocated uninitialised: whatever its unfilled slots hold (NaN here) must
    never reach the logits, at the prefill, at each decode step, or after a beam reorder."""
    model = GPT(GPTConfig(**TINY_CONFIGS[3])).eval()
    idx = torch.randint(128, (2, 10))
    cache = model.new_kv_cache(2)
    for t in cache.keys + cache.values:
        t.fill_(float("nan"))
    with torch.no_grad():
        steps = [model(idx[:, :6], kv_cache=cache)]
        for t in range(6, 8):
            steps.append(model(idx[:, t : t + 1], kv_cache=cache))
        cache.reorder(torch.tensor([1, 0]))
        swapped = model(idx.flip(0)[:, 8:10], kv_cache=cache)
        full = model(idx)
    torch.testing.assert_close(torch.cat(steps, dim=1), full[:, :8], atol=1e-5, rtol=0)
    torch.testing.assert_close(swapped, full.flip(0)[:, 8:10], atol=1e-5, rtol=0)


def test_a_block_without_a_layer_index_refuses_a_cache():
    cfg = GPTConfig(**TINY_CONFIGS[0])
    model = GPT(cfg)
    with pytest.raises(ValueError, match=r"no layer_idx.*build it with layer_idx=i"):
        Block(cfg)(torch.randn(1, 3, cfg.n_embd), model.new_kv_cache(1))
    cache = model.new_kv_cache(1)
    x = torch.randn(1, 3, cfg.n_embd)
    model.h[1](x, cache)  # layer 1 writes its own slot only
    assert cache.lengths == [0, 3] and cache.length == 0


@pytest.mark.parametrize("name, index", [("n_layer", 0), ("batch_size", 1), ("n_head", 2),
                                         ("n_positions", 3), ("head_dim", 4)])
def test_kv_cache_refuses_sizes_below_one(name, index):
    sizes = [2, 1, 2, 8, 4]
    sizes[index] = 0
    with pytest.raises(ValueError, match=f"KVCache: {name} must be an integer >= 1, got 0"):
        KVCache(*sizes)


def test_a_full_cache_says_how_long_it_is_and_not_to_crop_one_token():
    """Past the context with a cache, idx may be a single token: the error names the cache's
    length and the fix (a new cache, or the window recomputed), not "crop idx"."""
    model = GPT(GPTConfig(vocab_size=10, n_positions=8, n_embd=8, n_layer=1, n_head=2)).eval()
    cache = model.new_kv_cache(1)
    with torch.no_grad():
        model(torch.zeros(1, 8, dtype=torch.long), kv_cache=cache)  # the cache is full
        with pytest.raises(ValueError, match=r"already holds 8 tokens and idx brings 1 more: "
                           r"8 \+ 1 = 9 is longer than the context \(n_positions = 8\)") as e:
            model(torch.zeros(1, 1, dtype=torch.long), kv_cache=cache)
        assert "crop" not in str(e.value) and "model(seq[:, -8:])" in str(e.value)
        assert "new cache" in str(e.value)
        with pytest.raises(ValueError, match=r"crop it to the last 8 tokens, e\.g\. idx\[:, -8:\]"):
            model(torch.zeros(1, 9, dtype=torch.long), kv_cache=model.new_kv_cache(1))  # empty
