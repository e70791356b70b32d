"""Pictures of masks: a mask, the three stages scores -> masked -> softmax, the leak a 0 fill
lets through, a gallery of masks, and one heatmap per attention head."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from helpers.viz import style
from helpers.viz.heatmap import _cell_labels, _label_axes, _shown, _write_cells, plot_attention
from helpers.viz.style import (
    FIG_WIDTH,
    FONT_SIZE,
    SCORE_CMAP,
    VISIBLE_COLOR,
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

QUERY_COLOR = "#d62728"  # the outlined query row (red), and nothing else


@styled
def plot_mask(
    mask,
    tokens: Sequence[str] | None = None,
    title: str = "attention mask",
    ax=None,
    legend: bool = True,
    xlabel: bool = True,
    ylabel: bool = True,
):
    """A (T, T) bool mask as a grid: blue where the row's token (query) may attend to the
    column's token (key), grey and hatched where it is masked."""
    from matplotlib.colors import ListedColormap

    m = _as_2d(mask).bool()
    if ax is None:
        height, width = 1.6 + 0.35 * m.size(0), 3.4 + 0.35 * m.size(1)
        ax = figure(height=min(4.6, height), width=min(FIG_WIDTH, width))[1][0, 0]
    fig = ax.figure
    ax.imshow(m.float().numpy(), cmap=ListedColormap(["white", VISIBLE_COLOR]), vmin=0, vmax=1)
    _draw_masked_cells(ax, ~m)
    ax.set_xticks([x - 0.5 for x in range(1, m.size(1))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, m.size(0))], minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    _label_axes(ax, tokens, m.size(0), m.size(1), xlabel, ylabel)
    ax.set_title(title)
    if legend:
        ax.legend(handles=mask_legend_handles(), loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  frameon=False)
    return fig


def mask_legend_handles() -> list:
    """The 'may attend' / 'masked' legend entries, for a figure of several masks:
    fig.legend(handles=mask_legend_handles(), loc="outside lower center", ncols=2)."""
    from matplotlib.patches import Patch

    return [Patch(facecolor=VISIBLE_COLOR, label=plot_words("may attend")),
            _masked_patch(plot_words("masked"))]


@styled
def plot_mask_stages(
    scores,
    mask,
    tokens: Sequence[str] | None = None,
    fill: float = float("-inf"),
    query: int | None = None,
    fig=None,
    height: float | None = None,
):
    """Three panels: raw scores, scores with masked cells set to `fill`, and the softmax
    weights. With fill=-inf the masked cells are grey and get weight exactly 0; with fill=0
    they keep a colour and visibly take weight. `query` outlines one row.

    `fig`: a figure this function made and that has been drawn (shown) since, of the same
    size, to update in place (an explorer's redraw): its cells, labels, outlines and legend
    change, and its layout is frozen where it is (no automatic layout from then on). For the
    same tokens that draws the same picture as a new figure without building one; for another
    length each panel gets the new grid of cells and labels in the square it had. Any other
    figure is left alone and a new one is returned.
    `height` (inches): by default it grows with the number of tokens. An explorer whose length
    changes passes one height, so that a drawn figure of another length keeps its size.
    """
    s, m = _as_2d(scores), _as_2d(mask).bool()
    masked = s.masked_fill(~m, fill)
    weights = torch.softmax(masked, dim=-1)
    T = s.size(0)
    lim = float(s.abs().max()) or 1.0
    panels = [(s, "1. scores q·k/√d", -lim, lim, SCORE_CMAP, 1),
              (masked, f"2. masked → {_fill_name(fill)}", -lim, lim, SCORE_CMAP, 1),
              (weights, "3. softmax", 0.0, 1.0, WEIGHT_CMAP, 2)]
    key = ((T, None if tokens is None else tuple(tokens)), query is None, style._scale)
    drawn = getattr(fig, "mask_stages_key", None)  # (key, drawn yet) of a figure made here
    size = (FIG_WIDTH, height or min(5.0, 2.3 + 0.36 * T))
    if drawn is not None and drawn[1] and drawn[0][1:] == key[1:] and \
            tuple(fig.get_size_inches()) == size:
        fig.set_layout_engine("none")  # the panels keep their places: update them there
        same_cells = drawn[0][0] == key[0]
        for k, (ax, (w, title, vmin, vmax, cmap, decimals)) in enumerate(
                zip(fig.axes, panels, strict=True)):
            ax.images[0].set_data(_shown(w))
            ax.images[0].set_clim(vmin, vmax)
            for artist in [*ax.collections, *ax.patches]:
                artist.remove()  # masked cells and outlines, drawn again below in build order
            _draw_masked_cells(ax, w == float("-inf"))
            if same_cells:  # the same tokens: rewrite the values written in the cells
                for (_, (text, color, box)), label in zip(
                        _cell_labels(w, vmin, vmax, cmap, decimals), ax.texts, strict=True):
                    label.set_text(text)
                    label.set_color(color)
                    label.set_bbox(box)
            else:  # another length: another grid of cells, in the same square
                ax.images[0].set_extent((-0.5, T - 0.5, T - 0.5, -0.5))
                for label in list(ax.texts):
                    label.remove()
                if T <= 6:
                    _write_cells(ax, w, vmin, vmax, cmap, decimals)
                _label_axes(ax, tokens, T, T, ylabel=k == 0)
                if k:
                    ax.set_yticklabels([])  # the rows are the same queries as in panel 1
            ax.set_title(title)
        for legend in list(fig.legends):
            legend.remove()
        _mask_stages_marks(fig, m, fill, query)
        fig.mask_stages_key = (key, True)
        return fig

    fig, axes = figure(1, 3, height=size[1])
    for k, (w, title, vmin, vmax, cmap, decimals) in enumerate(panels):
        plot_attention(w, tokens, title, axes[0, k], vmin=vmin, vmax=vmax, cmap=cmap,
                       colorbar=False, annotate=T <= 6, decimals=decimals, ylabel=k == 0)
    for ax in axes[0, 1:]:
        ax.set_yticklabels([])  # the rows are the same queries as in panel 1
    _mask_stages_marks(fig, m, fill, query)
    # `fig=` may update this figure once it has been drawn, i.e. laid out
    fig.mask_stages_key = (key, False)  # (what it shows, drawn yet)
    fig.canvas.mpl_connect("draw_event", lambda event: setattr(
        fig, "mask_stages_key", (fig.mask_stages_key[0], True)))
    return fig


def _fill_name(fill: float) -> str:
    return "−∞" if fill == float("-inf") else f"{fill:g}"


def _mask_stages_marks(fig, m: torch.Tensor, fill: float, query: int | None) -> None:
    """plot_mask_stages' outlines and legend: the cells that should be hidden but got a number
    (fill other than -inf), the query row, and what the grey or the outline means."""
    from matplotlib.patches import Rectangle

    axes = fig.axes
    leaked = dict(fill=False, edgecolor="black", linestyle="--", linewidth=1.5)  # dashed black
    row = dict(fill=False, edgecolor=QUERY_COLOR, linewidth=2.5)  # solid red: one colour, one meaning
    if fill != float("-inf"):  # outline the cells that should be hidden but got a number
        for i, j in (~m).nonzero().tolist():
            axes[1].add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, **leaked))
    if query is not None:
        for ax in axes:
            ax.add_patch(Rectangle((-0.5, query - 0.5), m.size(1), 1, **row))
    handles = [_masked_patch(plot_words("masked (−∞, weight 0)"))]
    if fill != float("-inf"):
        handles = [Rectangle((0, 0), 1, 1, **leaked,
                             label=plot_words("masked, but set to {fill}", fill=_fill_name(fill)))]
    if query is not None:
        handles.append(Rectangle((0, 0), 1, 1, **row, label=plot_words("the query row")))
    fig.legend(handles=handles, loc="outside lower center", frameon=False, ncols=len(handles))


@styled
def plot_future_leak(
    scores,
    mask,
    tokens: Sequence[str] | None = None,
    fills: Sequence[float] = (0.0, float("-inf")),
):
    """For each query (row), the attention weight that lands on masked (future) keys when the
    masked scores are set to each value in `fills`: with 0 the future leaks in, with -inf it
    gets exactly nothing. Bars are labelled with their values."""
    s, m = _as_2d(scores), _as_2d(mask).bool()
    T = s.size(0)
    names = [token_label(t) for t in tokens][-T:] if tokens is not None else [str(i) for i in range(T)]
    fig, axes = figure(height=3.4)
    ax = axes[0, 0]
    width = 0.8 / len(fills)
    colors = ["#e08214", VISIBLE_COLOR, "#8073ac"]
    for n, fill in enumerate(fills):
        w = torch.softmax(s.masked_fill(~m, fill), dim=-1)
        leak = (w * (~m).float()).sum(dim=-1)  # (T,) weight on keys the query must not see
        xs = [i + (n - (len(fills) - 1) / 2) * width for i in range(T)]
        label = "masked → −∞" if fill == float("-inf") else f"masked → {fill:g}"
        ax.bar(xs, leak.tolist(), width=width, color=colors[n % 3], label=label)
        for x, v in zip(xs, leak.tolist(), strict=True):
            ax.text(x, v + 0.01, _fmt(v, 2) if v > 0 else "0", ha="center", va="bottom",
                    fontsize=_annotation_size())
    ax.set_xticks(range(T))
    ax.set_xticklabels(names)
    ax.set_xlabel(plot_words("query (each row of the weight matrix)"))
    ax.set_ylabel(plot_words("weight on future keys"))
    ax.set_ylim(0, 1.1)
    ax.legend(frameon=False, loc="upper right")
    ax.set_title(plot_words("attention that leaks to the future"))
    return fig


@styled
def plot_mask_gallery(masks: dict, tokens: Sequence[str] | dict | None = None, ncols: int = 3):
    """Several (T, T) masks side by side, one title each, sharing the query/key labels; or, with
    `tokens` a dict {title: tokens}, each with its own (a causal LM reads text without [MASK])."""
    import math

    if isinstance(tokens, dict) and set(tokens) != set(masks):
        raise ValueError(f"tokens has labels for {sorted(tokens)}, the masks are {sorted(masks)}: "
                         "give one token list per mask title, or one list for all")
    n = len(masks)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    T = _as_2d(next(iter(masks.values()))).size(0)
    fig, axes = figure(nrows, ncols, height=nrows * min(3.2, 1.2 + 0.3 * T))
    for k, (title, mask) in enumerate(masks.items()):
        r, c = divmod(k, ncols)
        labels = tokens[title] if isinstance(tokens, dict) else tokens
        plot_mask(mask, labels, title, axes[r, c], legend=False, xlabel=r == nrows - 1 or
                  k + ncols >= n, ylabel=c == 0)
    for k in range(n, nrows * ncols):
        axes.flat[k].set_visible(False)
    fig.legend(handles=mask_legend_handles(), loc="outside lower center", ncols=2, frameon=False)
    return fig


@styled
def plot_attention_heads(
    attentions: Sequence[torch.Tensor],
    tokens: Sequence[str] | None = None,
    layer: int | None = None,
    ncols: int = 4,
    batch_index: int = 0,
    title: str | None = None,
    causal: bool = True,
):
    """Attention heatmaps from `model(idx, return_attention=True)[1]` (each (B, n_head, T, T)).

    With `layer`, that layer's heads in a grid of `ncols` columns (12 heads: 3 x 4); without,
    one row per layer and one column per head. Tokens on both axes (every k-th one when the
    panels are too small for all), rows = queries, columns = keys, one colour bar for all.
    `causal`: the weights come from a causal model, so the cells above the diagonal are
    masked, drawn grey and hatched (not as a weight of 0); False for weights without a mask."""
    import math

    n_head = attentions[0].size(1)
    T = attentions[0].size(-1)
    if layer is not None:
        panels = [(layer, h) for h in range(n_head)]
        ncols = min(ncols, n_head)
        nrows = math.ceil(n_head / ncols)
    else:
        panels = [(lay, h) for lay in range(len(attentions)) for h in range(n_head)]
        nrows, ncols = len(attentions), n_head
    cell = (FIG_WIDTH - 1.2) / ncols
    fig, axes = figure(nrows, ncols, height=min(11.0, nrows * cell + 0.8))
    show_tokens = tokens is not None
    # label every token when a 10-pt character fits its row; otherwise every 2nd, 3rd, ...
    stride = max(1, math.ceil(0.15 / (cell / T)))
    im = None
    for k, (lay, h) in enumerate(panels):
        ax = axes.flat[k]
        im = ax.imshow(attentions[lay][batch_index, h].detach().float().cpu().numpy(),
                       cmap=WEIGHT_CMAP, vmin=0, vmax=1)
        if causal:  # the future: masked, not a weight of 0
            _draw_masked_cells(ax, ~torch.ones(T, T, dtype=torch.bool).tril())
        ax.set_title(plot_words("head {h}", h=h) if layer is not None else f"L{lay} H{h}",
                     fontsize=FONT_SIZE * style._scale * (1.0 if layer is not None else 0.85))
        if show_tokens:
            labels = [token_label(t) for t in tokens][-T:][::stride]
            ticks = range(0, T, stride)
            ax.set_xticks(ticks)
            ax.set_yticks(ticks)
            ax.set_xticklabels(labels if k // ncols == nrows - 1 else [""] * len(labels),
                               fontsize=_annotation_size(),
                               rotation=90 if max(len(t) for t in labels) > 2 else 0)
            ax.set_yticklabels(labels if k % ncols == 0 else [""] * len(labels),
                               fontsize=_annotation_size())
            ax.tick_params(length=0)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    for k in range(len(panels), nrows * ncols):
        axes.flat[k].set_visible(False)
    bar = fig.colorbar(im, ax=axes, shrink=0.6, label=plot_words("attention weight"))
    if causal:
        bar.ax.legend(handles=[_masked_patch(plot_words("masked"))], loc="upper center",
                      bbox_to_anchor=(0.5, -0.04), frameon=False, handlelength=1.2)
    ordinal = {2: "2nd", 3: "3rd"}.get(stride, f"{stride}th")
    labelled = (plot_words("; every {ordinal} token labelled", ordinal=ordinal, stride=stride)
                if show_tokens and stride > 1 else "")
    fig.supxlabel(plot_words("key (attended to)") + labelled)
    fig.supylabel(plot_words("query (attending)"))
    if title is not None or layer is not None:
        fig.suptitle(title if title is not None else plot_words("layer {layer}: every head", layer=layer))
    return fig
