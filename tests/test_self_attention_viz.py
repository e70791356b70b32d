"""The bar-chart view of one query's scores and weights (notebook 03)."""

import warnings

import pytest
import torch
from matplotlib.figure import Figure

from helpers import causal_mask
from helpers.viz import plot_query_attention


def test_plot_query_attention_draws_one_row_as_bars():
    torch.manual_seed(0)
    scores = torch.randn(4, 4).masked_fill(~causal_mask(4), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    tokens = ["a", " $x", "\n", "it"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # missing glyphs or mathtext would warn or raise
        fig = plot_query_attention(scores, weights, tokens, query=1)
        fig.canvas.draw()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    left, right = fig.axes
    assert len(left.patches) == 4 and len(right.patches) == 4
    assert [t.get_text() for t in left.texts][2:] == ["−∞", "−∞"]  # the hidden future keys
    heights = torch.tensor([float(p.get_height()) for p in right.patches], dtype=torch.float32)
    assert torch.allclose(heights, weights[1]) and heights[2:].eq(0).all()
    assert [t.get_text() for t in left.get_xticklabels()] == ["a", r" \$x", "↵", "it"]
    assert left.get_title() == r"scores of query ' \$x'"


def test_plot_query_attention_rejects_bad_input():
    s = torch.zeros(3, 3)
    with pytest.raises(ValueError, match="query"):
        plot_query_attention(s, s, query=3)
    with pytest.raises(ValueError, match="one shape"):
        plot_query_attention(s, torch.zeros(3, 2))
