"""Pictures of what the series computes: masks, attention weights, next-token distributions,
loss curves, and small interactive explorers built on the same functions.

Every plot function returns a matplotlib `Figure` made without pyplot's global state, so a
notebook shows it exactly once (as the cell's value) and nothing leaks between cells.
Token labels are drawn as plain text: `$` cannot start maths and nothing is read as HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from helpers.widgets import enable_notebook_display

MASK_COLORS = ("#f2f2f2", "#3b75af")  # hidden, visible


def token_label(token: str) -> str:
    """A token as a readable, inert label: spaces and newlines made visible, `$` escaped."""
    label = token.replace("\\", "\\\\").replace("$", r"\$")
    label = label.replace("\n", "↵").replace("\t", "⇥")
    if label.strip() == "":
        label = label.replace(" ", "␣")
    return label


def _figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (5.0, 4.0)):
    from matplotlib.figure import Figure

    enable_notebook_display()

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _as_2d(x) -> torch.Tensor:
    t = torch.as_tensor(x).detach().float().cpu()
    if t.dim() != 2:
        raise ValueError(f"expected a 2-D (queries x keys) tensor, got shape {tuple(t.shape)}; "
                         "pick one batch element and one head, e.g. attn[layer][0, head]")
    return t


def _label_axes(ax, tokens: Sequence[str] | None, n_rows: int, n_cols: int) -> None:
    ax.set_xlabel("key position (attended to)")
    ax.set_ylabel("query position (attending)")
    ax.set_xticks(range(n_cols))
    ax.set_yticks(range(n_rows))
    if tokens is not None:
        labels = [token_label(t) for t in tokens]
        ax.set_xticklabels(labels[-n_cols:], rotation=90)
        ax.set_yticklabels(labels[-n_rows:])


def plot_mask(
    mask,
    tokens: Sequence[str] | None = None,
    title: str = "attention mask",
    ax=None,
):
    """A (T, T) bool mask as a grid: filled where the row's token may attend to the column's."""
    from matplotlib.colors import ListedColormap

    m = _as_2d(mask)
    if ax is None:
        ax = _figure(size=(4.2, 3.8))[1][0, 0]
    fig = ax.figure
    ax.imshow(m.numpy(), cmap=ListedColormap(MASK_COLORS), vmin=0, vmax=1)
    ax.set_xticks([x - 0.5 for x in range(1, m.size(1))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, m.size(0))], minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    _label_axes(ax, tokens, m.size(0), m.size(1))
    ax.set_title(title)
    return fig


def plot_attention(
    weights,
    tokens: Sequence[str] | None = None,
    title: str = "attention weights",
    ax=None,
    annotate: bool | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    cmap: str = "Blues",
):
    """A (T_q, T_k) matrix of attention weights (or scores) as a heatmap, values written in
    the cells when it is small enough to read. -inf cells are shown as '-inf'."""
    w = _as_2d(weights)
    if ax is None:
        ax = _figure(size=(4.6, 3.9))[1][0, 0]
    fig = ax.figure
    shown = w.clone()
    finite = torch.isfinite(shown)
    if not finite.all():
        shown[~finite] = float("nan")  # drawn as background, labelled below
    im = ax.imshow(shown.numpy(), cmap=cmap, vmin=vmin, vmax=vmax)
    fig.colorbar(im, ax=ax, shrink=0.8)
    if annotate is None:
        annotate = max(w.shape) <= 10
    if annotate:
        top = float(shown[finite].max()) if finite.any() else 1.0
        for i in range(w.size(0)):
            for j in range(w.size(1)):
                v = float(w[i, j])
                text = "-inf" if v == float("-inf") else f"{v:.2f}"
                light = finite[i, j] and (v > 0.6 * (vmax if vmax is not None else top))
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if light else "black")
    _label_axes(ax, tokens, w.size(0), w.size(1))
    ax.set_title(title)
    return fig


def plot_mask_stages(
    scores,
    mask,
    tokens: Sequence[str] | None = None,
    fill: float = float("-inf"),
    query: int | None = None,
):
    """Three panels: raw scores, scores with masked cells set to `fill`, and the softmax
    weights. With fill=0 instead of -inf the future visibly leaks into the weights.
    `query` highlights one row."""
    from matplotlib.patches import Rectangle

    s, m = _as_2d(scores), _as_2d(mask).bool()
    masked = s.masked_fill(~m, fill)
    weights = torch.softmax(masked, dim=-1)
    fig, axes = _figure(1, 3, size=(13.0, 4.0))
    lim = float(s.abs().max()) or 1.0
    plot_attention(s, tokens, "1. raw scores  q·k / √d", axes[0, 0], vmin=-lim, vmax=lim,
                   cmap="RdBu_r")
    fill_name = "-inf" if fill == float("-inf") else f"{fill:g}"
    plot_attention(masked, tokens, f"2. masked (hidden → {fill_name})", axes[0, 1], vmin=-lim,
                   vmax=lim, cmap="RdBu_r")
    plot_attention(weights, tokens, "3. softmax → weights", axes[0, 2])
    if query is not None:
        for ax in axes[0]:
            ax.add_patch(Rectangle((-0.5, query - 0.5), s.size(1), 1, fill=False,
                                   edgecolor="#d62728", linewidth=2.5))
    return fig


def plot_query_attention(
    scores,
    weights,
    tokens: Sequence[str] | None = None,
    query: int = 0,
    score_label: str = "score  q·k / √d",
):
    """One query's row as two bar charts: its scores against every key (left) and the
    softmax weights they become (right), each bar labelled with its value.
    scores, weights: (T_q, T_k); -inf scores are drawn as an empty bar labelled '-inf'."""
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
    fig, axes = _figure(1, 2, size=(10.0, 3.4))
    ax = axes[0, 0]
    ax.bar(range(n), shown.numpy(), color=["#d62728" if v < 0 else "#3b75af" for v in shown.tolist()])
    ax.axhline(0.0, color="black", linewidth=0.8)
    lim = 1.25 * (float(shown.abs().max()) or 1.0)
    ax.set_ylim(-lim, lim)
    for j, v in enumerate(row_s.tolist()):
        text = "-inf" if v == float("-inf") else f"{v:.2f}"
        ax.text(j, float(shown[j]), text, ha="center", va="bottom" if v >= 0 else "top", fontsize=8)
    ax.set_ylabel(score_label)
    ax.set_title(f"scores of the query '{query_name}' against every key")
    ax = axes[0, 1]
    ax.bar(range(n), row_w.numpy(), color="#3b75af")
    for j, v in enumerate(row_w.tolist()):
        ax.text(j, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0.0, 1.1)
    ax.set_ylabel("weight (the row sums to 1)")
    ax.set_title("softmax → attention weights")
    for ax in axes[0]:
        ax.set_xticks(range(n))
        ax.set_xticklabels(key_names, rotation=45 if n > 6 else 0)
        ax.set_xlabel("key")
    return fig


def plot_distribution(
    probs,
    labels: Sequence[str] | None = None,
    top: int = 20,
    title: str = "next-token distribution",
    kept=None,
    ax=None,
):
    """The `top` most likely tokens of a (V,) probability vector as bars. `kept` (a (V,) bool,
    e.g. from a top-k or top-p filter) colours the kept tokens and greys out the rest."""
    p = torch.as_tensor(probs).detach().float().cpu().flatten()
    top = min(top, p.numel())
    values, order = p.topk(top)
    if ax is None:
        ax = _figure(size=(7.5, 3.4))[1][0, 0]
    fig = ax.figure
    names = [token_label(labels[i]) if labels is not None else str(i) for i in order.tolist()]
    colors = "#3b75af"
    if kept is not None:
        k = torch.as_tensor(kept).bool().flatten()
        colors = ["#3b75af" if k[i] else "#c8c8c8" for i in order.tolist()]
    ax.bar(range(top), values.numpy(), color=colors)
    ax.set_xticks(range(top))
    ax.set_xticklabels(names, rotation=90 if top > 12 else 0)
    ax.set_ylabel("probability")
    ax.set_ylim(0, max(1e-9, float(values.max())) * 1.15)
    ax.set_title(title)
    return fig


def plot_loss(history: Sequence[dict], title: str = "loss during training", ax=None):
    """Train and validation loss against step, from `train(...).history`."""
    if ax is None:
        ax = _figure(size=(6.0, 3.6))[1][0, 0]
    fig = ax.figure
    steps = [h["step"] for h in history]
    ax.plot(steps, [h["train_loss"] for h in history], "o-", label="train")
    ax.plot(steps, [h["val_loss"] for h in history], "s-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.legend()
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig


def plot_attention_heads(
    attentions: Sequence[torch.Tensor],
    tokens: Sequence[str] | None = None,
    layers: Sequence[int] | None = None,
    batch_index: int = 0,
):
    """A grid of heatmaps, one row per layer, one column per head, from
    `model(idx, return_attention=True)[1]` (each (B, n_head, T, T))."""
    layers = list(layers) if layers is not None else list(range(len(attentions)))
    n_head = attentions[0].size(1)
    fig, axes = _figure(len(layers), n_head, size=(2.1 * n_head, 2.1 * len(layers)))
    for r, layer in enumerate(layers):
        for h in range(n_head):
            ax = axes[r, h]
            ax.imshow(attentions[layer][batch_index, h].detach().float().cpu().numpy(), cmap="Blues",
                      vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"head {h}", fontsize=9)
            if h == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=9)
    return fig
