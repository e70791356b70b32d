"""Bad input to data, objectives and the KV cache raises an error naming the argument, the
value given and what is allowed (issue 9's robustness list; model, sampling, tokenizer and
checkpoint inputs are tested beside their own code)."""

import matplotlib.pyplot
import pytest
import torch

from helpers.objectives import token_logprobs


def test_token_logprobs_says_how_to_line_logits_up_with_targets():
    logits, idx = torch.randn(2, 5, 7), torch.randint(7, (2, 5))
    with pytest.raises(ValueError, match=r"logits \(2, 5, 7\) and targets \(2, 4\) do not line up"):
        token_logprobs(logits, idx[:, 1:])
    assert token_logprobs(logits[:, :-1], idx[:, 1:]).shape == (2, 4)


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
