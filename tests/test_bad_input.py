"""Bad input to data, objectives and the KV cache raises an error naming the argument, the
value given and what is allowed (issue 9's robustness list; model, sampling, tokenizer and
checkpoint inputs are tested beside their own code)."""

import matplotlib.pyplot
import pytest
import torch

from helpers.attention import KVCache
from helpers.data import get_batch
from helpers.objectives import token_logprobs


@pytest.mark.parametrize("data, message", [
    (torch.rand(50), "1-D tensor of integer token ids, got a 1-D torch.float32 tensor"),
    (torch.arange(50).view(5, 10), "got a 2-D torch.int64 tensor"),
    (list(range(50)), "got list"),
])
def test_get_batch_refuses_data_that_is_not_token_ids(data, message):
    with pytest.raises(TypeError, match=message):
        get_batch(data, 8, 2, torch.Generator())


@pytest.mark.parametrize("n_positions, batch_size, message", [
    (8, 0, "batch_size must be an integer >= 1, got 0"),
    (0, 2, "n_positions must be an integer >= 1, got 0"),
    (8, 2.5, "batch_size must be an integer >= 1, got 2.5"),
    (60, 2, "data has 50 tokens; need at least n_positions \\+ 1 = 61"),
])
def test_get_batch_refuses_bad_sizes(n_positions, batch_size, message):
    with pytest.raises(ValueError, match=message):
        get_batch(torch.arange(50), n_positions, batch_size, torch.Generator())


def test_token_logprobs_says_how_to_line_logits_up_with_targets():
    logits, idx = torch.randn(2, 5, 7), torch.randint(7, (2, 5))
    with pytest.raises(ValueError, match=r"logits \(2, 5, 7\) and targets \(2, 4\) do not line up"):
        token_logprobs(logits, idx[:, 1:])
    assert token_logprobs(logits[:, :-1], idx[:, 1:]).shape == (2, 4)


@pytest.mark.parametrize("name, index", [("n_layer", 0), ("batch_size", 1), ("n_head", 2),
                                         ("n_positions", 3), ("head_dim", 4)])
def test_kv_cache_refuses_sizes_below_one(name, index):
    sizes = [2, 1, 2, 8, 4]
    sizes[index] = 0
    with pytest.raises(ValueError, match=f"KVCache: {name} must be an integer >= 1, got 0"):
        KVCache(*sizes)


def test_mask_and_attention_figures_name_a_token_count_that_does_not_fit():
    from helpers.viz import plot_attention, plot_mask

    mask = torch.ones(4, 4, dtype=torch.bool).tril()
    with pytest.raises(ValueError, match=r"3 tokens for a 4 x 4 matrix.*tokens=None"):
        plot_mask(mask, list("abc"))
    with pytest.raises(ValueError, match=r"2 tokens for a 1 x 3 matrix"):
        plot_attention(torch.full((1, 3), 1 / 3), list("ab"))  # one query, three keys
    matplotlib.pyplot.close("all")
    plot_attention(torch.full((1, 3), 1 / 3), list("abc"))  # a cached query's row: fine
    plot_mask(mask, list("xabcd"))  # more tokens: the last four label the axes
    matplotlib.pyplot.close("all")
