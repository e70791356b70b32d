"""Plots return Figures and draw token labels as inert text."""

import warnings

import torch
from matplotlib.figure import Figure

from helpers import causal_mask
from helpers.viz import (
    plot_attention,
    plot_attention_heads,
    plot_distribution,
    plot_loss,
    plot_mask,
    plot_mask_stages,
    token_label,
)


def test_token_labels_are_inert_and_visible():
    assert token_label("$x$") == r"\$x\$"
    assert token_label("\n") == "↵"
    assert token_label(" ") == "␣"
    assert token_label("<b>hi</b>") == "<b>hi</b>"  # shown as typed, never rendered


def _render(fig):
    fig.canvas.draw()  # catches glyph or mathtext errors
    return fig


def test_plots_return_figures_with_the_right_content():
    tokens = ["The", " $cat", "<script>", "\n"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph or a mathtext parse would warn/raise
        fig = _render(plot_mask(causal_mask(4), tokens))
        assert isinstance(fig, Figure)
        labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        assert labels == ["The", r"␣\$cat" if False else r" \$cat", "<script>", "↵"]
        w = torch.softmax(torch.randn(4, 4).masked_fill(~causal_mask(4), float("-inf")), -1)
        fig = _render(plot_attention(w, tokens))
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert len(texts) == 16 and "0.00" in texts and "1.00" in texts
        fig = _render(plot_mask_stages(torch.randn(4, 4), causal_mask(4), tokens, query=2))
        assert len(fig.axes) == 6  # three panels and their colour bars
        assert "-inf" in [t.get_text() for t in fig.axes[1].texts]
        p = torch.softmax(torch.randn(30), 0)
        fig = _render(plot_distribution(p, [f"t{i}" for i in range(30)], top=5, kept=p > 0.05))
        assert len(fig.axes[0].patches) == 5
        fig = _render(plot_loss([{"step": 1, "train_loss": 3.0, "val_loss": 3.1},
                                 {"step": 2, "train_loss": 2.0, "val_loss": 2.2}]))
        assert len(fig.axes[0].lines) == 2
        attn = [torch.rand(1, 3, 5, 5) for _ in range(2)]
        assert len(_render(plot_attention_heads(attn)).axes) == 6
