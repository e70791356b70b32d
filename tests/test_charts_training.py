"""Figures of notebooks 09 and 10: the learning-rate schedule, timings, time per token, and the
KV cache's memory. Each draws what it is given, fits the notebook's width, and refuses bad input."""

import warnings

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers import GPTConfig, KVCache
from helpers.train import TrainConfig
from helpers.viz import (
    FIG_WIDTH,
    figure,
    plot_kv_cache_memory,
    plot_lr_schedule,
    plot_timings,
    plot_token_times,
)

SHIPPED = GPTConfig(vocab_size=65, n_positions=128, n_embd=192, n_layer=6, n_head=6)


def _render(fig):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph or a mathtext parse would warn/raise
        FigureCanvasAgg(fig).draw()  # the base canvas of a Figure() draws nothing
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() <= FIG_WIDTH
    return fig


def test_lr_schedule_draws_every_step_and_shades_the_warm_up():
    cfg = TrainConfig(max_iters=50, warmup_iters=10, learning_rate=1e-3, min_lr=1e-4)
    ax = _render(plot_lr_schedule(cfg)).axes[0]
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == list(range(50))
    assert list(line.get_ydata()) == [cfg.lr_at(s) for s in range(50)]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["warm-up (10 steps)"]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"
    no_warmup = _render(plot_lr_schedule(TrainConfig(max_iters=5, warmup_iters=0))).axes[0]
    assert no_warmup.get_legend() is None
    with pytest.raises(ValueError, match="max_iters"):
        plot_lr_schedule(TrainConfig(max_iters=0, warmup_iters=0))


def test_timings_are_bars_labelled_with_their_values_first_on_top():
    fig = _render(plot_timings({"default": 6.48, "fused=True": 2.09}, title="one step",
                               note="2-core x86-64, torch 2.13 CPU"))
    ax = fig.axes[0]
    bars = ax.patches
    assert [round(b.get_width(), 2) for b in bars] == [6.48, 2.09]
    assert bars[0].get_y() > bars[1].get_y()  # the first label on top
    where = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    assert where["default"] > where["fused=True"]  # labelled in the same order as the bars
    assert [t.get_text().strip() for t in ax.texts] == ["6.48 ms", "2.09 ms"]
    assert "2-core x86-64" in ax.get_xlabel() and ax.get_title() == "one step"
    for bad in ({}, {"a": -1.0}, {"a": float("nan")}):
        with pytest.raises(ValueError, match="timings"):
            plot_timings(bad)


def test_token_times_draw_one_line_per_series_against_the_length():
    lengths = [8, 16, 32]
    times = {"with the KV cache": [1.0, 1.1, 1.2], "without a cache": [1.5, 3.0, 6.0]}
    ax = _render(plot_token_times(lengths, times, note="recorded on a test")).axes[0]
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == list(times)
    for ln, series in zip(lines, times.values(), strict=True):
        assert list(ln.get_xdata()) == lengths and list(ln.get_ydata()) == series
    assert "recorded on a test" in ax.get_xlabel() and ax.get_ylabel() == "ms per new token"
    with pytest.raises(ValueError, match="one time per length"):
        plot_token_times(lengths, {"short": [1.0, 2.0]})
    with pytest.raises(ValueError):
        plot_token_times([], {})


def test_kv_cache_memory_follows_the_formula_and_the_cache_itself():
    configs = {"shipped model": SHIPPED, "GPT-2 small": GPTConfig()}
    fig = _render(plot_kv_cache_memory(configs))
    assert len(fig.axes) == 2  # one panel per model
    for ax, (name, c) in zip(fig.axes, configs.items(), strict=True):
        assert ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0  # a straight line from 0
        total, one = ax.get_lines()  # all layers and one layer
        cache = KVCache(c.n_layer, 1, c.n_head, c.n_positions, c.head_dim)
        assert total.get_xdata()[-1] == c.n_positions
        assert total.get_ydata()[-1] == pytest.approx(cache.memory_bytes() / 1e6)
        assert one.get_ydata()[-1] == pytest.approx(cache.memory_bytes() / 1e6 / c.n_layer)
        assert total.get_label() == f"all {c.n_layer} layers" and ax.get_title() == name
    assert [t.get_text().split(" at")[0] for ax in fig.axes for t in ax.texts] == ["1.18 MB",
                                                                                  "75.5 MB"]
    twice = plot_kv_cache_memory({"x": SHIPPED}, batch_size=2, bytes_per_value=2).axes[0]
    assert twice.get_lines()[0].get_ydata()[-1] == pytest.approx(2 * 6 * 128 * 192 * 2 * 2 / 1e6)
    with pytest.raises(ValueError, match="configs"):
        plot_kv_cache_memory({})


def test_figures_compose_on_a_shared_figure():
    fig, axes = figure(1, 2, height=2.6)
    plot_timings({"a": 1.0}, ax=axes[0, 0])
    plot_token_times([1, 2], {"b": [1.0, 2.0]}, ax=axes[0, 1])
    assert len(_render(fig).axes) == 2
