"""helpers.layout_cache: a figure placed by an earlier equal figure's layout draws the same
pixels as one laid out anew, and a change the layout depends on is never served a stale one."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from helpers import causal_mask
from helpers.charts import plot_distribution, plot_query_attention
from helpers.layout_cache import MAX_LAYOUTS, LayoutCache, signature
from helpers.viz import plot_attention, plot_mask_stages
from helpers.widgets import figure_png

TOKENS = ["a", "robot", "must", "obey", "the", "orders", "given", "it"]


def _scores(T: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(T, T, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _bars(labels: list[str], heights: list[float], title: str = "bars") -> Figure:
    fig = Figure(figsize=(5, 3), layout="constrained")
    ax = fig.add_subplot()
    ax.bar(range(len(labels)), heights, label="p")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_title(title)
    ax.legend(loc="upper right")
    return fig


# each: a function of one parameter that draws a figure, and the values it is drawn at (in
# this order, so that some come back and may reuse a layout)
KINDS = {
    "query attention": (lambda q: plot_query_attention(_scores(8), torch.softmax(_scores(8), -1),
                                                       TOKENS, query=q), [7, 3, 7, 0, 3]),
    "mask stages": (lambda T: plot_mask_stages(_scores(T), causal_mask(T), TOKENS[:T], query=1),
                    [6, 4, 6, 8, 4]),
    "heatmap with a colour bar": (lambda seed: plot_attention(
        torch.softmax(_scores(5, seed), -1), TOKENS[:5]), [0, 1, 0]),
    "distribution": (lambda k: plot_distribution(torch.softmax(torch.arange(10.0) * k / 10, -1),
                                                 list("abcdefghij"), top=6), [1, 5, 1, 9]),
    "bars and a legend": (lambda n: _bars(["x", "y", "z"], [1, n, 2]), [1, 3, 1, 3]),
    "log axis and suptitle": (lambda top: _log_figure(top), [10.0, 1000.0, 10.0]),
}


def _log_figure(top: float) -> Figure:
    fig = Figure(figsize=(5, 3), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([1, 2, 3], [1, top / 10, top])
    ax.set_yscale("log")
    ax.set_ylabel("loss")
    fig.suptitle(f"up to {top:g}")
    return fig


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_reused_layout_draws_the_same_pixels_as_a_layout_computed_anew(kind):
    make, values = KINDS[kind]
    cache = LayoutCache()
    for value in values:
        cached = figure_png(make(value), layouts=cache)[0]
        anew = figure_png(make(value))[0]
        assert cached == anew, f"{kind} at {value}: the picture differs from a fresh layout"
    repeats = len(values) - len(set(values))
    assert cache.hits >= repeats, f"{kind}: a figure drawn again did not reuse its layout"
    assert cache.misses <= len(set(values))


def test_a_longer_tick_label_is_laid_out_anew_not_cut_off():
    cache = LayoutCache()
    figure_png(_bars(["x", "y", "z"], [1, 2, 3]), layouts=cache)
    longer = _bars(["x", "y", "a much longer label"], [1, 2, 3])  # same bars, wider label
    assert figure_png(longer, layouts=cache)[0] == figure_png(
        _bars(["x", "y", "a much longer label"], [1, 2, 3]))[0]
    assert cache.hits == 0 and cache.misses == 2
    title = _bars(["x", "y", "z"], [1, 2, 3], title="a title\non two lines")  # taller title
    figure_png(title, layouts=cache)
    assert cache.hits == 0


def test_a_hit_places_the_axes_and_freezes_the_layout():
    cache = LayoutCache()
    first = plot_mask_stages(_scores(6), causal_mask(6), TOKENS[:6], query=1)
    figure_png(first, layouts=cache)
    second = plot_mask_stages(_scores(6), causal_mask(6), TOKENS[:6], query=4)  # outline moves
    figure_png(second, layouts=cache)
    assert cache.hits == 1  # the same labels: the same layout
    assert second.get_layout_engine().__class__.__name__ == "PlaceHolderLayoutEngine"
    for a, b in zip(first.axes, second.axes, strict=True):
        assert np.allclose(a.get_position(original=True).bounds, b.get_position(original=True).bounds)


def test_a_new_title_of_the_same_height_reuses_the_layout_and_a_taller_one_does_not():
    cache = LayoutCache()
    figure_png(_bars(["x", "y", "z"], [1, 2, 3], title="top-k = 5: 5 kept"), layouts=cache)
    for title in ("top-k = 12: 12 kept, a longer title", "a title\non two lines"):
        fig = _bars(["x", "y", "z"], [1, 2, 3], title=title)
        assert figure_png(fig, layouts=cache)[0] == figure_png(
            _bars(["x", "y", "z"], [1, 2, 3], title=title))[0], title
    assert cache.hits == 1 and cache.misses == 2  # the two-line title is taller: laid out anew


def test_what_the_signature_cannot_describe_is_laid_out_as_usual():
    fig = Figure(figsize=(4, 3), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 2], clip_on=False)  # drawn outside the axes: the layout must see it
    assert signature(fig) is None
    cache = LayoutCache()
    figure_png(fig, layouts=cache)
    assert cache.hits == cache.misses == 0
    assert signature(Figure(figsize=(4, 3))) is None  # no constrained layout: nothing to reuse


def test_the_cache_keeps_the_latest_layouts_only():
    cache = LayoutCache()
    for k in range(MAX_LAYOUTS + 5):
        figure_png(_bars(["x", f"label {k}"], [1, 2]), layouts=cache)
    assert len(cache._layouts) == MAX_LAYOUTS
    figure_png(_bars(["x", "label 0"], [1, 2]), layouts=cache)  # the oldest was dropped
    assert cache.hits == 0
    figure_png(_bars(["x", f"label {MAX_LAYOUTS + 4}"], [1, 2]), layouts=cache)
    assert cache.hits == 1


def test_an_explorer_reuses_the_layout_when_a_control_comes_back():
    pytest.importorskip("ipywidgets")
    import ipywidgets as widgets

    from helpers.widgets import show_interactive

    query = widgets.IntSlider(value=7, min=0, max=7)
    box = show_interactive(lambda query: plot_query_attention(
        _scores(8), torch.softmax(_scores(8), -1), TOKENS, query=query), query=query)
    for value in (3, 7, 3):
        query.value = value
    assert box.redraw.count == 4 and box.redraw.layouts.hits == 2
