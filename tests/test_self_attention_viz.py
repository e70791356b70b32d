"""The bar-chart view of one query's scores and weights (notebook 03)."""

import warnings

import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
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
        FigureCanvasAgg(fig).draw()  # the base canvas of a Figure() draws nothing
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


def _overlapping_labels(ax, renderer):
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]


@pytest.mark.parametrize("n_keys", [4, 9, 14, 24])
def test_plot_query_attention_value_labels_never_run_together(n_keys):
    # a query that spreads its weight thinly: every label is '<.01' or '.01'-wide
    torch.manual_seed(1)
    scores = (torch.randn(n_keys, n_keys) * 4).masked_fill(~causal_mask(n_keys), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    fig = plot_query_attention(scores, weights, list("abcdefghijklmnopqrstuvwxyz")[:n_keys],
                               query=n_keys - 1)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in fig.axes:
        assert _overlapping_labels(ax, renderer) == []
        axes_box = ax.get_window_extent(renderer)
        for t in ax.texts:  # every label stays inside its axes
            box = t.get_window_extent(renderer)
            assert axes_box.y0 - 1 <= box.y0 and box.y1 <= axes_box.y1 + 1, t.get_text()


def test_query_scores_keep_a_given_axis_and_draw_negatives_in_the_score_maps_colour():
    """03's explorer divides the scores by √d or not: with score_lim the axis stays put, so the
    bars grow; negative bars are the purple of the score heatmaps, not a third colour."""
    import matplotlib
    from matplotlib.colors import to_hex

    scores = torch.tensor([[1.0, -2.0, 0.5]])
    weights = torch.softmax(scores, dim=-1)
    small = plot_query_attention(scores, weights, query=0, score_lim=8.0).axes[0]
    large = plot_query_attention(scores * 4, weights, query=0, score_lim=8.0).axes[0]
    assert small.get_ylim() == large.get_ylim() and small.get_ylim()[1] >= 8.0
    assert plot_query_attention(scores, weights, query=0).axes[0].get_ylim()[1] < 8.0
    negative = to_hex(matplotlib.colormaps["PuOr_r"](0.15))
    assert [to_hex(bar.get_facecolor()) == negative for bar in small.patches] == [False, True, False]
