"""Notebook 08's figures: the beam-search tree and the temperature comparison."""

import warnings

import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers import viz
from helpers.viz import plot_beam_tree, plot_temperature_comparison

TREE = {
    "cat": (0.5, {"sat": (0.4, {}), "ran": (0.35, {}), "is": (0.25, {})}),
    "dog": (0.4, {"barked": (0.9, {}), "sat": (0.06, {}), "ran": (0.04, {})}),
    "end": (0.1, {".": (1.0, {})}),
}


def _render(fig):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a mathtext parse error or a missing glyph would warn
        FigureCanvasAgg(fig).draw()  # the base canvas of a Figure() draws nothing
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() <= viz.FIG_WIDTH
    return fig


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_beam_tree_labels_every_edge_and_every_leaf_with_its_joint_probability():
    fig = _render(plot_beam_tree(TREE, root="The"))
    texts = _texts(fig.axes[0])
    for token in ("The", "cat", "dog", "end", "sat", "ran", "is", "barked", "."):
        assert token in texts
    for edge in ("0.5", "0.4", "0.1", "0.35", "0.25", "0.9", "0.06", "0.04", "1"):
        assert edge in texts
    # the joint probabilities are the products along each path, in the tree's order
    joints = [t for t in texts if len(t) == 5 and t.startswith("0.")]
    assert joints == ["0.200", "0.175", "0.125", "0.360", "0.024", "0.016", "0.100"]


def test_beam_tree_draws_each_path_along_its_edges_with_a_legend():
    fig = _render(plot_beam_tree(TREE, paths={"greedy": ["cat", "sat"], "best": ["dog", "barked"]}))
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["greedy", "best"]
    greedy, best = lines["greedy"], lines["best"]
    assert list(greedy.get_xdata()) == [0, 1, 2] and list(best.get_xdata()) == [0, 1, 2]
    # greedy goes up to "cat" (the first branch), best down to "dog": different heights
    assert greedy.get_ydata()[1] > best.get_ydata()[1]
    assert greedy.get_linestyle() != best.get_linestyle()  # told apart without colour too


def test_beam_tree_of_uneven_depth_and_inert_labels():
    tree = {"$x$": (0.7, {"<b>": (1.0, {"\n": (0.5, {})})}), "y": (0.3, {})}
    fig = _render(plot_beam_tree(tree))
    texts = _texts(fig.axes[0])
    assert r"\$x\$" in texts and "<b>" in texts and "↵" in texts  # no maths, no HTML
    assert "0.350" in texts and "0.300" in texts  # 0.7 * 1.0 * 0.5, and the short branch


def test_beam_tree_rejects_bad_trees_and_paths():
    with pytest.raises(ValueError, match="must be in \\[0, 1\\]"):
        plot_beam_tree({"a": (1.5, {})})
    with pytest.raises(ValueError, match="probability, subtree"):
        plot_beam_tree({"a": 0.5})
    with pytest.raises(ValueError, match="empty"):
        plot_beam_tree({})
    with pytest.raises(ValueError, match="not in the tree"):
        plot_beam_tree(TREE, paths={"wrong": ["cat", "barked"]})


def test_temperature_comparison_one_panel_per_temperature_on_a_shared_axis():
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])
    labels = ["a", "b", "$", " ", "\n", "f"]
    temps = (0.5, 1.0, 2.0, 5.0)
    fig = _render(plot_temperature_comparison(logits, labels, temps, top=4))
    axes = fig.axes
    assert len(axes) == len(temps)
    assert [ax.get_title() for ax in axes] == ["T = 0.5", "T = 1", "T = 2", "T = 5"]
    assert len({ax.get_ylim() for ax in axes}) == 1  # one probability scale for all panels
    ticks = [[t.get_text() for t in ax.get_xticklabels()] for ax in axes]
    assert all(t == ["a", "b", r"\$", "␣"] for t in ticks)  # same order at every temperature
    heights = [[bar.get_height() for bar in ax.patches] for ax in axes]
    assert all(h[0] > h_next[0] for h, h_next in zip(heights, heights[1:], strict=False))  # flatter as T grows
    entropies = [float(_texts(ax)[0].split()[1]) for ax in axes]
    assert entropies == sorted(entropies) and entropies[-1] < torch.log(torch.tensor(6.0))
    for h, t in zip(heights, temps, strict=True):
        want = torch.softmax(logits.double() / t, dim=-1)[:4]
        assert torch.allclose(torch.tensor(h, dtype=torch.float64), want)


def test_temperature_comparison_rejects_zero_and_negative_temperatures():
    for bad in ((1.0, 0.0), (-1.0,), ()):
        with pytest.raises(ValueError, match="temperatures must be > 0"):
            plot_temperature_comparison(torch.zeros(5), temperatures=bad)
