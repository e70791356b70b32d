"""Bar charts and curves: one query's scores and weights, next-token distributions, loss.

Drawn in the series' style (`helpers.viz.style`); `helpers.viz` re-exports them, so notebooks
import every figure from one place.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from helpers.viz import style
from helpers.viz.style import (
    DROPPED_COLOR,
    KEPT_COLOR,
    SCORE_CMAP,
    VISIBLE_COLOR,
    _annotation_size,
    _as_2d,
    _fmt,
    figure,
    plot_words,
    styled,
    token_label,
)


@styled
def plot_query_attention(
    scores,
    weights,
    tokens: Sequence[str] | None = None,
    query: int = 0,
    score_label: str = "score  q·k / √d",
    fig=None,
    score_lim: float | None = None,
):
    """One query's row as two bar charts: its scores against every key (left) and the
    softmax weights they become (right), each bar labelled with its value. Negative scores
    are purple, as in the score heatmaps.
    scores, weights: (T_q, T_k); -inf scores are drawn as an empty bar labelled '-inf'.
    fig: an earlier figure of this function, redrawn in place (see `figure(reuse=...)`).
    score_lim: the score axis runs from -score_lim to score_lim (fixed while an explorer
    rescales the scores, so the bars grow instead of the axis); by default, the row's."""
    s, w = _as_2d(scores), _as_2d(weights)
    if s.shape != w.shape:
        raise ValueError(f"scores {tuple(s.shape)} and weights {tuple(w.shape)} must have one shape")
    if not 0 <= query < s.size(0):
        raise ValueError(f"query must be in 0..{s.size(0) - 1}, got {query}")
    n = s.size(1)
    if tokens is not None:
        labels = [token_label(t) for t in tokens]
        key_names, query_name = labels[-n:], labels[-s.size(0):][query]
    else:
        key_names, query_name = [str(j) for j in range(n)], str(query)
    row_s, row_w = s[query], w[query]
    finite = torch.isfinite(row_s)
    shown = torch.where(finite, row_s, torch.zeros_like(row_s))
    fig, axes = figure(1, 2, height=3.6, reuse=fig)
    ax = axes[0, 0]
    # a value label ("-4.5", "<.01") is about 0.36 in wide at 10 pt: where a bar's slot is
    # narrower, the labels stand upright (rotated) so that neighbours do not run together,
    # and where even an upright label's height does not fit, its font shrinks to fit
    slot = ax.get_position().width * fig.get_figwidth() / n  # inches per bar
    size = _annotation_size()
    rotation, room = (0, 1.25) if slot >= 0.036 * size else (90, 1.6)
    if rotation:
        size = min(size, 0.7 * slot * 72)  # points: an upright label is as wide as its font
    import matplotlib

    negative = matplotlib.colormaps[SCORE_CMAP](0.15)  # the score maps' negative end
    ax.bar(range(n), shown.numpy(), color=[negative if v < 0 else VISIBLE_COLOR for v in shown.tolist()])
    ax.axhline(0.0, color="black", linewidth=0.8)
    lim = room * (score_lim or float(shown.abs().max()) or 1.0)
    ax.set_ylim(-lim, lim)
    for j, v in enumerate(row_s.tolist()):
        ax.text(j, float(shown[j]), _fmt(v, 1), ha="center", va="bottom" if v >= 0 else "top",
                rotation=rotation, fontsize=size, in_layout=False)  # inside the axes (ylim)
    ax.set_ylabel(score_label)
    ax.set_title(plot_words("scores of query '{query}'", query=query_name))
    ax = axes[0, 1]
    ax.bar(range(n), row_w.numpy(), color=VISIBLE_COLOR)
    for j, v in enumerate(row_w.tolist()):
        ax.text(j, v, _fmt(v, 2), ha="center", va="bottom", rotation=rotation, fontsize=size,
                in_layout=False)
    ax.set_ylim(0.0, 1.1 if rotation == 0 else 1.3)
    ax.set_ylabel(plot_words("weight (sums to 1)"))
    ax.set_title(plot_words("softmax → weights"))
    long_labels = max(len(k) for k in key_names) > 2
    for ax in axes[0]:
        ax.set_xticks(range(n))
        ax.set_xticklabels(key_names, rotation=90 if long_labels and n > 4 else 0)
        ax.set_xlabel(plot_words("key"))
    return fig

@styled
def plot_distribution(
    probs,
    labels: Sequence[str] | None = None,
    top: int = 20,
    title: str = "next-token distribution",
    kept=None,
    ax=None,
    xlabel: str | None = None,
    fig=None,
):
    """The `top` most likely tokens of a (V,) probability vector as bars. `kept` (a (V,) bool,
    e.g. from a top-k or top-p filter) colours the kept tokens and greys out the rest.

    fig: a figure this function drew before, of the same tokens in the same order (an
    explorer's redraw at another temperature): its bars get their new heights and colours in
    place, and its limits and labels are set again, so no new figure is built. Otherwise, or
    with `ax`, the bars are drawn anew."""
    p = torch.as_tensor(probs).detach().float().cpu().flatten()
    top = min(top, p.numel())
    values, order = p.topk(top)
    names = [token_label(labels[i]) if labels is not None else str(i) for i in order.tolist()]
    colors = [KEPT_COLOR] * top
    if kept is not None:
        k = torch.as_tensor(kept).bool().flatten()
        colors = [KEPT_COLOR if k[i] else DROPPED_COLOR for i in order.tolist()]
    key = (tuple(names), kept is None, style._scale)  # what the bars and legend show
    if ax is None and fig is not None and getattr(fig, "distribution_key", None) == key:
        ax = fig.axes[0]
        for bar, value, color in zip(ax.patches, values.tolist(), colors, strict=True):
            bar.set_height(value)
            bar.set_facecolor(color)
    else:
        if ax is None:
            ax = figure(height=3.4)[1][0, 0]
        if kept is not None:
            from matplotlib.patches import Patch

            ax.legend(handles=[Patch(color=KEPT_COLOR, label=plot_words("kept")),
                               Patch(color=DROPPED_COLOR, label=plot_words("dropped"))], frameon=False)
        ax.bar(range(top), values.numpy(), color=colors)
        ax.set_xticks(range(top))
        long_labels = max(len(n) for n in names) > 2
        ax.set_xticklabels(names, rotation=90 if long_labels and top > 8 else 0)
        ax.set_ylabel(plot_words("probability"))
        # a figure of these bars alone can be updated in place by the next call (fig=)
        ax.figure.distribution_key = key if len(ax.figure.axes) == 1 else None
    ax.set_ylim(0, max(1e-9, float(values.max())) * 1.15)
    ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    return ax.figure


@styled
def plot_loss(history: Sequence[dict], title: str = "loss during training", ax=None,
              batch_losses: Sequence[float] | None = None):
    """Train and validation loss against step, from `train(...).history`; with `batch_losses`
    (`train(...).batch_losses`) also the loss of every step's own batch, as a thin line."""
    if ax is None:
        ax = figure(height=3.6, width=6.4)[1][0, 0]
    fig = ax.figure
    if batch_losses:
        ax.plot(range(len(batch_losses)), list(batch_losses), color="#6baed6", linewidth=1.2,
                label=plot_words("each step's batch"), zorder=1)
    steps = [h["step"] for h in history]
    # train on top, dashed: the two estimates often coincide, and neither may hide the other
    ax.plot(steps, [h["train_loss"] for h in history], "o--", label=plot_words("train"), zorder=3)
    ax.plot(steps, [h["val_loss"] for h in history], "s-", label=plot_words("validation"), zorder=2)
    ax.set_xlabel(plot_words("step"))
    ax.set_ylabel(plot_words("cross-entropy (nats per token)"))
    ax.legend()
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------------------------------
# Notebook 08: choosing the next token (figures added by its author below this line)
# ---------------------------------------------------------------------------------------


def _tree_nodes(tree: dict, path: tuple = (), joint: float = 1.0) -> list[tuple]:
    """(path, probability, joint probability) of every node of a {token: (p, subtree)} tree,
    depth first, in the order given."""
    nodes = []
    for token, entry in tree.items():
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict)):
            raise ValueError(f"tree entry {token!r} must be (probability, subtree dict), got {entry!r}")
        p, subtree = float(entry[0]), entry[1]
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"probability of {token!r} after {list(path)} must be in [0, 1], got {p}")
        nodes.append((path + (token,), p, joint * p))
        nodes += _tree_nodes(subtree, path + (token,), joint * p)
    return nodes


@styled
def plot_beam_tree(
    tree: dict,
    paths: dict[str, Sequence[str]] | None = None,
    root: str = "prompt",
    title: str = "every path and its joint probability",
    ax=None,
):
    """A tree of next-token choices, left to right: each edge carries the probability of its
    token given the path before it, each leaf the joint probability of its path (the product
    along it). `tree` maps a token to (probability, subtree); `paths` maps a legend label to a
    path of tokens from the root (e.g. greedy's and the best one), drawn over the tree."""
    nodes = _tree_nodes(tree)
    if not nodes:
        raise ValueError("tree is empty: give at least one token")
    known = {path for path, _, _ in nodes}
    children = {path[:-1] for path in known}
    leaves = [path for path, _, _ in nodes if path not in children]
    y = {leaf: -i for i, leaf in enumerate(leaves)}  # leaves top to bottom, in the tree's order
    for path, _, _ in sorted(nodes, key=lambda n: -len(n[0])):  # parents from their children
        if path not in y:
            y[path] = sum(y[c] for c in known if c[:-1] == path) / sum(c[:-1] == path for c in known)
    y[()] = sum(y[c] for c in known if len(c) == 1) / sum(len(c) == 1 for c in known)
    depth = max(len(path) for path in known)
    if ax is None:
        ax = figure(height=max(2.4, 0.42 * len(leaves) + 1.0))[1][0, 0]
    fig = ax.figure
    box = dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="#6e6e6e")
    ax.text(0, y[()], token_label(root), ha="center", va="center", bbox=box)
    for path, p, joint in nodes:
        x0, y0, x1, y1 = len(path) - 1, y[path[:-1]], len(path), y[path]
        ax.plot([x0, x1], [y0, y1], color="#b0b0b0", lw=1.2, zorder=1)
        ax.text(x0 + 0.55 * (x1 - x0), y0 + 0.55 * (y1 - y0), f"{p:g}", ha="center",
                va="center", fontsize=_annotation_size(), color="#444444", zorder=4,
                bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none"))
        ax.text(x1, y1, token_label(str(path[-1])), ha="center", va="center", bbox=box, zorder=3)
        if path in leaves:
            ax.text(depth + 0.45, y1, f"{joint:.3f}", ha="left", va="center",
                    fontsize=_annotation_size())
    ax.text(depth + 0.45, 0.75, plot_words("joint p"), ha="left", va="center", fontweight="bold")
    styles = [("#e08214", "--"), (VISIBLE_COLOR, "-"), ("#7b3294", ":")]
    for k, (label, path) in enumerate((paths or {}).items()):
        path = tuple(path)
        if path not in known:
            raise ValueError(f"path {label!r} = {list(path)} is not in the tree")
        color, style = styles[k % len(styles)]
        xs = list(range(len(path) + 1))
        ys = [y[path[:i]] for i in xs]
        offset = 0.06 * (k - (len(paths) - 1) / 2)
        ax.plot(xs, [v + offset for v in ys], style, color=color, lw=3.5, label=label, zorder=2)
    if paths:
        ax.legend(loc="lower left", frameon=False)
    ax.set_xlim(-0.4, depth + 1.05)
    ax.set_ylim(-len(leaves) + 0.4, 1.0)
    ax.set_xticks(range(1, depth + 1))
    ax.set_xticklabels([plot_words("token {i}", i=i) for i in range(1, depth + 1)])
    ax.tick_params(length=0)
    ax.set_yticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(title)
    return fig


@styled
def plot_temperature_comparison(
    logits,
    labels: Sequence[str] | None = None,
    temperatures: Sequence[float] = (0.5, 1.0, 2.0),
    top: int = 10,
):
    """One next-token distribution at several temperatures side by side: softmax(logits / T)
    for the `top` most likely tokens (dividing by T keeps their order), on one probability
    axis, each panel with its entropy in nats. logits: (V,)."""
    z = torch.as_tensor(logits).detach().double().cpu().flatten()
    if not temperatures or any(not t > 0 for t in temperatures):
        raise ValueError(f"temperatures must be > 0, got {list(temperatures)}; "
                         "temperature 0 is greedy decoding (the argmax)")
    fig, axes = figure(1, len(temperatures), height=3.2)
    dists = [torch.softmax(z / t, dim=-1) for t in temperatures]
    highest = max(float(d.max()) for d in dists)
    for ax, t, d in zip(axes[0], temperatures, dists, strict=True):
        plot_distribution(d, labels, top=top, title=f"T = {t:g}", ax=ax)
        entropy = -(d * torch.log(d.clamp_min(1e-300))).sum()
        ax.text(0.97, 0.95, plot_words("entropy\n{entropy} nats", entropy=f"{float(entropy):.2f}"),
                transform=ax.transAxes,
                ha="right", va="top", fontsize=_annotation_size())
        ax.set_ylim(0, highest * 1.15)
        if ax is not axes[0, 0]:  # one shared probability axis, labelled once
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)
    return fig


# ---------------------------------------------------------------------------------------
# Notebooks 09 and 10: training curves, the KV cache's speed and memory (below this line)
# ---------------------------------------------------------------------------------------

SERIES_STYLES = [("o-", VISIBLE_COLOR), ("s--", "#e08214"), ("^:", "#7b3294"), ("d-.", "#4d4d4d")]


@styled
def plot_lr_schedule(config, title: str = "learning rate: warm-up, then cosine decay", ax=None):
    """`config.lr_at(step)` for every step of a run (e.g. a TrainConfig), warm-up shaded."""
    steps = list(range(config.max_iters))
    if not steps:
        raise ValueError(f"config.max_iters must be >= 1, got {config.max_iters}")
    ax = ax or figure(height=3.0)[1][0, 0]
    ax.plot(steps, [config.lr_at(s) for s in steps], color=VISIBLE_COLOR, lw=2.5)
    if config.warmup_iters > 0:
        ax.axvspan(0, min(config.warmup_iters, config.max_iters), color="#e08214", alpha=0.15,
                   label=plot_words("warm-up ({n} steps)", n=config.warmup_iters))
        ax.legend(loc="upper right", frameon=False)
    ax.set(xlim=(0, config.max_iters), ylim=(0, 1.1 * max(config.lr_at(s) for s in steps)),
           xlabel=plot_words("step"), ylabel=plot_words("learning rate"), title=title)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    ax.grid(alpha=0.3)
    return ax.figure


@styled
def plot_timings(timings: dict[str, float], unit: str = "ms", title: str = "time",
                 note: str | None = None, ax=None):
    """Timings as horizontal bars labelled with their values, the first on top; `note` (e.g.
    the machine they were measured on) goes under the axis."""
    labels, values = list(timings), [float(v) for v in timings.values()]
    if not values or any(not v >= 0 for v in values):
        raise ValueError(f"timings must be a non-empty {{label: time >= 0}}, got {timings}")
    ax = ax or figure(height=0.55 * len(labels) + 1.4)[1][0, 0]
    rows = list(range(len(labels)))[::-1]  # the first label on top
    ax.barh(rows, values, color=VISIBLE_COLOR, height=0.6)
    for row, v in zip(rows, values, strict=True):
        ax.text(v + 0.01 * max(values), row, f" {v:.3g} {unit}", va="center",
                fontsize=_annotation_size())
    ax.set_yticks(rows, labels)
    ax.set(xlim=(0, 1.3 * max(values) or 1.0), title=title,
           xlabel=unit if note is None else f"{unit}\n{note}")
    ax.grid(axis="x", alpha=0.3)
    return ax.figure


@styled
def plot_token_times(lengths: Sequence[int], times: dict[str, Sequence[float]], unit: str = "ms",
                     title: str = "time per new token", note: str | None = None, ax=None):
    """Time to make one new token against the length of the sequence so far, one line per way
    of computing it ({"with the KV cache": [...], ...}); `note` goes under the axis."""
    if not lengths or not times or any(len(s) != len(lengths) for s in times.values()):
        raise ValueError(f"give one time per length ({len(lengths)}) in every series, got "
                         f"{ {k: len(s) for k, s in times.items()} }")
    ax = ax or figure(height=3.6)[1][0, 0]
    from itertools import cycle

    for (label, series), (marker, color) in zip(times.items(), cycle(SERIES_STYLES)):
        ax.plot(lengths, [float(v) for v in series], marker, color=color, lw=2, label=label)
    xlabel = plot_words("tokens in the sequence so far")
    ax.set(xlim=(0, 1.05 * max(lengths)), ylim=(0, None),
           ylabel=plot_words("{unit} per new token", unit=unit),
           title=title, xlabel=xlabel if note is None else f"{xlabel}\n{note}")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax.figure


@styled
def plot_kv_cache_memory(configs: dict, batch_size: int = 1, bytes_per_value: int = 4,
                         title: str = "KV cache memory"):
    """KV cache size against the tokens stored, up to each model's context: 2 (keys, values) x
    n_layer x tokens x n_embd x bytes_per_value x batch_size, one panel per {name: config},
    solid for all layers, dotted for one. Linear axes from 0, so the growth looks like what it
    is, a straight line; each model its own panel, since their sizes differ a hundredfold."""
    if not configs:
        raise ValueError("configs is empty: give at least one {name: config}")
    fig, axes = figure(1, len(configs), height=3.6)
    for ax, (name, c) in zip(axes[0], configs.items(), strict=True):
        n = torch.arange(1, c.n_positions + 1)
        one_layer = n * 2 * c.n_embd * bytes_per_value * batch_size / 1e6  # MB
        ax.plot(n, one_layer * c.n_layer, "-", color=SERIES_STYLES[0][1], lw=2.5,
                label=plot_words("all {n} layers", n=c.n_layer))
        ax.plot(n, one_layer, ":", color=SERIES_STYLES[1][1], lw=2.5, label=plot_words("one layer"))
        end = float(one_layer[-1] * c.n_layer)
        ax.text(0.97, 0.4, plot_words("{mb} MB at\n{n} tokens", mb=f"{end:.3g}", n=f"{c.n_positions:,}"),
                ha="right",
                va="center", transform=ax.transAxes, fontsize=_annotation_size())  # clear of
        # both lines: below the solid one, above the dotted one
        ax.set_xlim(0, c.n_positions * 1.02)
        ax.set_ylim(0, end * 1.1)
        ax.set(xlabel=plot_words("tokens stored"), title=name)
        ax.legend(frameon=False, loc="upper left")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(plot_words("MB (10⁶ bytes)"))
    if title:
        fig.suptitle(title)
    return fig
