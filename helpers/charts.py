"""Bar charts and curves: one query's scores and weights, next-token distributions, loss.

Drawn in the series' style (`helpers.style`); `helpers.viz` re-exports them, so notebooks
import every figure from one place.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from helpers.style import (
    DROPPED_COLOR,
    KEPT_COLOR,
    VISIBLE_COLOR,
    _annotation_size,
    _as_2d,
    _fmt,
    _styled,
    figure,
    token_label,
)


@_styled
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
    fig, axes = figure(1, 2, height=3.6)
    ax = axes[0, 0]
    ax.bar(range(n), shown.numpy(), color=["#e08214" if v < 0 else VISIBLE_COLOR for v in shown.tolist()])
    ax.axhline(0.0, color="black", linewidth=0.8)
    lim = 1.25 * (float(shown.abs().max()) or 1.0)
    ax.set_ylim(-lim, lim)
    for j, v in enumerate(row_s.tolist()):
        ax.text(j, float(shown[j]), _fmt(v, 1), ha="center", va="bottom" if v >= 0 else "top",
                fontsize=_annotation_size())
    ax.set_ylabel(score_label)
    ax.set_title(f"scores of query '{query_name}'")
    ax = axes[0, 1]
    ax.bar(range(n), row_w.numpy(), color=VISIBLE_COLOR)
    for j, v in enumerate(row_w.tolist()):
        ax.text(j, v, _fmt(v, 2), ha="center", va="bottom", fontsize=_annotation_size())
    ax.set_ylim(0.0, 1.1)
    ax.set_ylabel("weight (sums to 1)")
    ax.set_title("softmax → weights")
    long_labels = max(len(k) for k in key_names) > 2
    for ax in axes[0]:
        ax.set_xticks(range(n))
        ax.set_xticklabels(key_names, rotation=90 if long_labels and n > 4 else 0)
        ax.set_xlabel("key")
    return fig

@_styled
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
        ax = figure(height=3.4)[1][0, 0]
    fig = ax.figure
    names = [token_label(labels[i]) if labels is not None else str(i) for i in order.tolist()]
    colors = KEPT_COLOR
    if kept is not None:
        from matplotlib.patches import Patch

        k = torch.as_tensor(kept).bool().flatten()
        colors = [KEPT_COLOR if k[i] else DROPPED_COLOR for i in order.tolist()]
        ax.legend(handles=[Patch(color=KEPT_COLOR, label="kept"),
                           Patch(color=DROPPED_COLOR, label="dropped")], frameon=False)
    ax.bar(range(top), values.numpy(), color=colors)
    ax.set_xticks(range(top))
    long_labels = max(len(n) for n in names) > 2
    ax.set_xticklabels(names, rotation=90 if long_labels and top > 8 else 0)
    ax.set_ylabel("probability")
    ax.set_ylim(0, max(1e-9, float(values.max())) * 1.15)
    ax.set_title(title)
    return fig

@_styled
def plot_loss(history: Sequence[dict], title: str = "loss during training", ax=None):
    """Train and validation loss against step, from `train(...).history`."""
    if ax is None:
        ax = figure(height=3.6, width=6.4)[1][0, 0]
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


# ---------------------------------------------------------------------------------------
# Notebook 08: choosing the next token (figures added by its author below this line)
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Notebooks 09 and 10: training curves, the KV cache's speed and memory (below this line)
# ---------------------------------------------------------------------------------------
