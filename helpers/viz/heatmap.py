"""Heatmaps of attention: a (queries x keys) matrix drawn cell by cell, with tokens on both
axes and each cell's value written in it when it fits; masked (-inf) cells grey and hatched.

`plot_attention` is the building block of `helpers.viz`'s mask and attention figures, which
re-exports it; the cell labels are computed by one function, so that a figure updated in place
(`plot_mask_stages(fig=...)`) writes exactly what a new one would.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from helpers.viz.style import (
    FIG_WIDTH,
    MASKED_COLOR,
    SCORE_CMAP,
    WEIGHT_CMAP,
    _annotation_size,
    _as_2d,
    _draw_masked_cells,
    _fmt,
    _masked_patch,
    figure,
    plot_words,
    styled,
    token_label,
)


def _label_axes(
    ax, tokens: Sequence[str] | None, n_rows: int, n_cols: int, xlabel: bool = True,
    ylabel: bool = True, box=None,
) -> None:
    """Tokens on both axes: rows are queries (attending), columns are keys (attended to).
    `box`: the axes' position before a colour bar took its share (for the labels' size)."""
    if xlabel:
        ax.set_xlabel(plot_words("key (attended to)" if tokens is not None else "key position"))
    if ylabel:
        ax.set_ylabel(plot_words("query (attending)" if tokens is not None else "query position"))
    ax.set_xticks(range(n_cols))
    ax.set_yticks(range(n_rows))
    ax.tick_params(length=0)
    if tokens is not None:
        from matplotlib import rcParams
        from matplotlib.font_manager import FontProperties

        if len(tokens) < max(n_rows, n_cols):
            raise ValueError(
                f"{len(tokens)} tokens for a {n_rows} x {n_cols} matrix: pass one token per "
                f"position (at least {max(n_rows, n_cols)}; the last ones label the axes), "
                "or tokens=None to number the positions")
        labels = [token_label(t) for t in tokens]
        long_labels = max(len(t) for t in labels) > 2
        # cells (square) smaller than a label would make neighbours touch: the labels shrink
        # to fit, to 8 points at least (24 tokens in a 4-inch figure: 9 points)
        fig, box = ax.figure, box or ax.get_position()
        cell_pt = 72 * min(box.height * fig.get_figheight() / n_rows,
                           box.width * fig.get_figwidth() / n_cols)
        size = FontProperties(size=rcParams["ytick.labelsize"]).get_size_in_points()
        fit = round(max(8.0, min(size, 0.9 * cell_pt)))
        widest = 1.0 if long_labels else 0.65 * max(len(t) for t in labels)  # in ems
        ax.set_xticklabels(labels[-n_cols:], rotation=90 if long_labels else 0,
                           fontsize=max(8.0, min(fit, round(0.9 * cell_pt / widest))))
        ax.set_yticklabels(labels[-n_rows:], fontsize=fit)


@styled
def plot_attention(
    weights,
    tokens: Sequence[str] | None = None,
    title: str = "attention weights",
    ax=None,
    annotate: bool | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    cmap: str = WEIGHT_CMAP,
    colorbar: bool = True,
    decimals: int = 2,
    xlabel: bool = True,
    ylabel: bool = True,
    masked=None,
):
    """A (T_q, T_k) matrix of attention weights (or scores) as a heatmap, rows = queries,
    columns = keys; values written in the cells when they fit. -inf cells (masked) are drawn
    grey and hatched and labelled '−∞'. `masked`, a bool (T_q, T_k) tensor, marks the cells a
    causal mask hid from weights that are already exact zeros there (e.g. a model's attention),
    hatched too, with a "masked" key under the colour bar."""
    w = _as_2d(weights)
    if masked is not None:
        masked = torch.as_tensor(masked, dtype=torch.bool)
        if masked.shape != w.shape:
            raise ValueError(f"masked has shape {tuple(masked.shape)}, the weights {tuple(w.shape)}: "
                             "pass one bool per cell, e.g. ~causal_mask(T)")
        if w[masked].ne(0).any() and not w[masked].eq(float("-inf")).all():
            raise ValueError("masked covers cells with weight: a masked cell's weight is exactly 0 "
                             "(or its score -inf); is the mask inverted? causal_mask(T) is True "
                             "where a query may look, so pass ~causal_mask(T)")
        w = w.masked_fill(masked, float("-inf"))  # drawn as masked, not as a weight of 0
    if ax is None:
        side = min(5.6, 1.9 + 0.42 * max(w.shape))
        ax = figure(height=side, width=min(FIG_WIDTH, side + 1.6))[1][0, 0]
    fig = ax.figure
    im = ax.imshow(_shown(w), cmap=cmap, vmin=vmin, vmax=vmax)
    position = ax.get_position()  # before the colour bar takes its share of the width
    _draw_masked_cells(ax, w == float("-inf"))
    if annotate is None:
        axes_width_in = position.width * fig.get_figwidth()
        annotate = axes_width_in / w.size(1) >= 0.34  # room for ".52" at 10 pt
    if colorbar:
        bar = fig.colorbar(im, ax=ax, shrink=0.8)
        if masked is not None and masked.any():
            bar.ax.legend(handles=[_masked_patch(plot_words("masked"))], loc="upper center",
                          bbox_to_anchor=(0.5, -0.04), frameon=False, handlelength=1.2)
    if annotate:
        _write_cells(ax, w, vmin, vmax, cmap, decimals)
    _label_axes(ax, tokens, w.size(0), w.size(1), xlabel, ylabel, position)
    ax.set_title(title)
    return fig


def _shown(w: torch.Tensor):
    """The array a heatmap shows: -inf (masked) cells as NaN, drawn by the hatching instead."""
    return torch.where(torch.isfinite(w), w, torch.full_like(w, float("nan"))).numpy()


def _write_cells(ax, w: torch.Tensor, vmin, vmax, cmap: str, decimals: int) -> None:
    """Write each cell's value in it (see `_cell_labels`)."""
    for (i, j), (text, color, box) in _cell_labels(w, vmin, vmax, cmap, decimals):
        ax.text(j, i, text, ha="center", va="center", bbox=box, fontsize=_annotation_size(),
                color=color, in_layout=j in (0, w.size(1) - 1))  # an inner one stays inside
        # the axes even if wider than its cell, so the layout need not measure it (faster)


def _cell_labels(w: torch.Tensor, vmin, vmax, cmap: str, decimals: int):
    """Each cell's ((row, column), (text, colour, bbox)), row by row: white text on dark cells,
    and on a masked cell a plain grey box, so the hatching never crosses the label."""
    finite = torch.isfinite(w)
    lo = vmin if vmin is not None else float(w[finite].min()) if finite.any() else 0.0
    hi = vmax if vmax is not None else float(w[finite].max()) if finite.any() else 1.0
    for i in range(w.size(0)):
        for j in range(w.size(1)):
            v = float(w[i, j])
            t = (v - lo) / (hi - lo) if finite[i, j] and hi > lo else 0.0  # 0..1 on the map
            dark = abs(t - 0.5) > 0.3 if cmap == SCORE_CMAP else t > 0.6
            dark = dark and bool(finite[i, j])  # masked cells are light grey
            box = None if finite[i, j] else dict(facecolor=MASKED_COLOR, edgecolor="none", pad=1.0)
            yield (i, j), (_fmt(v, decimals), "white" if dark else "black", box)
