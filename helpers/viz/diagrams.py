"""Schematic diagrams of the machine, drawn in code: the two objectives, q/k/v, the causal mask,
the heads, the decoder block, the whole model, sampling, the KV cache and an induction circuit.

Every word drawn comes from one table, `LABELS` (key -> text); the Chinese edition's table is
`helpers.viz.labels_zh.LABELS_ZH`, used when the language setting is "zh" (helpers.language). A
diagram also takes `labels=` for any other table, and names any key its table lacks. Chinese
text is drawn with the font shipped in helpers/viz/fonts, never a system font. Figures are drawn in
inches (the axes fill the figure, 1 data unit = 1 inch), in the series' style and colours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from helpers.language import language
from helpers.viz import style
from helpers.viz.labels_zh import LABELS_ZH
from helpers.viz.style import (
    FIG_WIDTH,
    FONT_SIZE,
    MASKED_COLOR,
    SCORE_CMAP,
    VISIBLE_COLOR,
    WEIGHT_CMAP,
    _annotation_size,
    figure,
    styled,
    token_label,
)

# One palette for all nine (colour-blind safe: Okabe-Ito-like hues, told apart by lightness too).
INK = "#333333"
NEUTRAL = ("#555555", "#f2f2f2")  # (edge, face): a part of the model
QUERY = ("#c4660a", "#fde3c4")  # orange: a query
KEY = (VISIBLE_COLOR, "#d5e5f5")  # blue: a key
VALUE = ("#117a5c", "#cdeee2")  # bluish green: a value
PREDICT = ("#a8457e", "#f6dcea")  # reddish purple: what the model predicts
MASKED = ("#6e6e6e", MASKED_COLOR)  # grey, hatched: hidden
ATTEND = VISIBLE_COLOR  # an arrow "attends to" (blue, as 'may attend' in the masks)
_CLEAR = {"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none"}  # text on lines

LABELS: dict[str, str] = {
    # 1. autoencoding vs autoregressive (notebook 01)
    "objectives.ae_title": "Autoencoding (BERT, masked LM)",
    "objectives.ae_note": "sees both sides",
    "objectives.mask": "[MASK]",
    "objectives.ae_predicts": "predicts the hidden word",
    "objectives.ar_title": "Autoregressive (GPT, next token)",
    "objectives.ar_note": "sees only the past",
    "objectives.unknown": "?",
    # 2. query, key, value (notebook 03)
    "qkv.left_title": "1. three matrices",
    "qkv.right_title": "2. one query, every key",
    "qkv.x": "x",
    "qkv.x_note": "one token's\nvector",
    "qkv.w_q": "× W_q",
    "qkv.w_k": "× W_k",
    "qkv.w_v": "× W_v",
    "qkv.q": "q",
    "qkv.q_of": "of “{token}”",
    "qkv.k": "k",
    "qkv.v": "v",
    "qkv.query": "query",
    "qkv.key": "key",
    "qkv.value": "value",
    "qkv.k_not_v": "k ≠ v: two vectors,\ntwo matrices",
    "qkv.keys": "keys",
    "qkv.scores": "scores\nq · k / √d",
    "qkv.weights": "weights\nsoftmax",
    "qkv.values": "values",
    "qkv.score_cell": "q·k/√d",
    "qkv.weight_cell": "w",
    "qkv.times": "×",
    "qkv.output": "output =\nΣ weight × value",
    # 3. masked attention (notebook 04)
    "masked.scores": "1. scores",
    "masked.scores_formula": "q · kᵀ / √d",
    "masked.mask": "2. mask",
    "masked.mask_note": "above the diagonal\n→ −∞",
    "masked.softmax": "3. softmax",
    "masked.softmax_note": "row by row:\neach row sums to 1",
    "masked.times": "×",
    "masked.v": "4. V",
    "masked.output_note": "each output row:\na weighted sum\nof V's rows",
    "masked.queries": "queries",
    "masked.keys": "keys",
    "masked.minus_inf": "−∞",
    "masked.zero": "0",
    # 4. multi-head attention (notebook 05)
    "heads.x": "x\n768 numbers",
    "heads.c_attn": "c_attn\n768 → 2304",
    "heads.q": "q",
    "heads.k": "k",
    "heads.v": "v",
    "heads.qkv": "q (k and v behind it): 768 numbers each",
    "heads.split": "each cut into 12 heads of 64",
    "heads.head": "64",
    "heads.attend": "each head\nattends on\nits own",
    "heads.concat": "concatenate: 12 × 64 = 768",
    "heads.joined": "the heads' outputs: 768 numbers",
    "heads.c_proj": "c_proj: 768 → 768",
    "heads.shape_x": "(B, T, 768)",
    "heads.shape_qkv": "(B, T, 768)",
    "heads.shape_heads": "(B, 12, T, 64)",
    "heads.shape_out": "(B, T, 768)",
    # 5. the decoder block (notebook 06)
    "block.x": "x  (B, T, 768)",
    "block.out": "to the next block",
    "block.stream": "residual stream",
    "block.plus": "+",
    "block.ln_1": "ln_1",
    "block.attn": "attn: masked multi-head\nself-attention",
    "block.ln_2": "ln_2",
    "block.mlp": "mlp",
    "block.c_fc": "c_fc\n768 → 3072",
    "block.gelu": "GELU",
    "block.c_proj": "c_proj\n3072 → 768",
    "block.note": "each branch reads a normalised copy\nof the stream and adds its result to it",
    # 6. the whole model (notebook 07)
    "gpt2.ids": "token ids\n(B, T)",
    "gpt2.positions": "positions\n0, 1, …, T-1",
    "gpt2.wte": "wte[ids]\n(B, T, 768)",
    "gpt2.plus": "+",
    "gpt2.wpe": "wpe[0 … T-1]\n(T, 768)",
    "gpt2.size_wte": "wte: 50,257 × 768",
    "gpt2.size_wpe": "wpe: 1,024 × 768",
    "gpt2.shape_sum": "sum: (B, T, 768)",
    "gpt2.blocks": "decoder block",
    "gpt2.times12": "×12",
    "gpt2.ln_f": "ln_f",
    "gpt2.unembed": "· wteᵀ",
    "gpt2.logits": "logits",
    "gpt2.softmax": "softmax",
    "gpt2.probs": "next-token probabilities",
    "gpt2.tying": "the same\nmatrix:\nweight tying",
    "gpt2.shape_x": "(B, T, 768)",
    "gpt2.shape_logits": "(B, T, 50,257): a score\nper vocabulary token",
    "gpt2.shape_probs": "(B, T, 50,257):\neach row sums to 1",
    # 7. choosing the next token (notebook 08)
    "sampling.logits": "logits",
    "sampling.temperature": "÷ temperature",
    "sampling.top_k": "top-k",
    "sampling.top_p": "top-p",
    "sampling.softmax": "softmax",
    "sampling.sample": "sample",
    "sampling.multinomial": "torch.multinomial",
    "sampling.next": "next token",
    "sampling.dropped": "dropped → −∞",
    "sampling.append": "appended to\nthe input; the\nmodel runs again",
    "sampling.greedy": "greedy: argmax\n(same as top_k = 1)",
    # 8. the KV cache (notebook 10)
    "kv.prefill": "Prefill: the prompt, once",
    "kv.decode": "Decode: one new token",
    "kv.q": "q",
    "kv.k": "k",
    "kv.v": "v",
    "kv.queries": "Q",
    "kv.keys": "K",
    "kv.values": "V",
    "kv.cache": "each layer's cache",
    "kv.stored": "K and V stored",
    "kv.appended": "new k and v: appended to the cache",
    "kv.attends": ("the new q attends over all cached\nkeys and values; earlier queries\n"
                   "are never needed again"),
    "kv.not_cached": "earlier queries: not cached",
    "kv.used_once": "queries used once, then dropped",
    # 9. an induction circuit (notebook 11)
    "induction.tokens": "tokens",
    "induction.layer0": "layer 0",
    "induction.layer0_head": "previous-token\nhead",
    "induction.layer1": "layer 1",
    "induction.layer1_head": "induction\nhead",
    "induction.before_me": "the token before me was",
    "induction.query": "looks for a key whose\nprevious token was",
    "induction.copies": "attends there, copies",
    "induction.predicts": "predicts",
}


# ---------------------------------------------------------------------------------------
# drawing tools: a canvas in inches, boxes, arrows, texts, all from the label table
# ---------------------------------------------------------------------------------------


class _Table:
    """The labels of one diagram: L(key) is the text, or a KeyError naming key and diagram."""

    def __init__(self, labels: Mapping[str, str] | None, diagram: str):
        if labels is None:
            labels = LABELS_ZH if language() == "zh" else LABELS
        self.labels, self.diagram = labels, diagram

    def __call__(self, key: str) -> str:
        try:
            return self.labels[key]
        except KeyError:
            raise KeyError(f"{self.diagram}: the label table has no key {key!r}") from None


def _sizes() -> tuple[float, float]:
    """(box label size, annotation size) in points, projector mode included."""
    return FONT_SIZE * style._scale, _annotation_size()


def _canvas(height: float):
    """A blank figure of the notebook's width whose one axes is the whole figure, in inches."""
    fig, axes = figure(height=height)
    fig.set_layout_engine("none")
    ax = axes[0, 0]
    ax.set_position((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, FIG_WIDTH)
    ax.set_ylim(0.0, height)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_axis_off()
    return fig, ax


def _text(ax, x: float, y: float, text: str, size: float, *, token: bool = False,
          ha: str = "center", va: str = "center", **kw):
    """A label (drawn as typed: no maths) or a token (made visible and inert by token_label)."""
    kw.setdefault("color", INK)
    if any("\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text):
        # Chinese: matplotlib falls back glyph by glyph from the Latin font to the shipped CJK one
        kw.setdefault("fontfamily", style.cjk_font_family())
    if token:
        return ax.text(x, y, token_label(text), fontsize=size, ha=ha, va=va, **kw)
    return ax.text(x, y, text, fontsize=size, ha=ha, va=va, parse_math=False, **kw)


def _box(ax, x: float, y: float, w: float, h: float, text: str | None = None, *,
         colors=NEUTRAL, size: float | None = None, token: bool = False, hatch: str | None = None,
         lw: float = 1.4, ls: str = "-", weight: str = "normal", round_: float = 0.07,
         zorder: float = 2):
    """A rounded box centred on (x, y), w by h inches, with an optional centred label."""
    from matplotlib.patches import FancyBboxPatch

    edge, face = colors
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                boxstyle=f"round,pad=0,rounding_size={round_}",
                                facecolor=face, edgecolor=edge, linewidth=lw, linestyle=ls,
                                hatch=hatch, zorder=zorder))
    if text is not None:
        _text(ax, x, y, text, size or _sizes()[0], token=token, weight=weight, zorder=zorder + 1)


def _arrow(ax, a, b, *, color: str = INK, rad: float = 0.0, lw: float = 1.5, ls: str = "-",
           head: float = 13, style_: str = "-|>", zorder: float = 1):
    """An arrow from a to b (x, y in inches); rad bends it (matplotlib's arc3)."""
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch(a, b, arrowstyle=style_, mutation_scale=head, linewidth=lw,
                                 linestyle=ls, color=color, shrinkA=0, shrinkB=0,
                                 connectionstyle=f"arc3,rad={rad}", zorder=zorder))


def _arc_rad(x0: float, x1: float, peak: float, above: bool = True) -> float:
    """The arc3 bend that makes a horizontal arrow from x0 to x1 rise (or fall) `peak` inches."""
    dx = x1 - x0
    rad = 2 * peak / abs(dx)
    return -rad * (1 if dx > 0 else -1) if above else rad * (1 if dx > 0 else -1)


def _grid(ax, x0: float, y0: float, values, cell: float, *, cmap=None, vmin=0.0, vmax=1.0,
          colors=None, hidden=None, texts=None, size: float | None = None):
    """A grid of cells, row 0 at the top, its top-left corner at (x0, y0): coloured by `values`
    through `cmap` (or one (edge, face) `colors`), `hidden` cells grey and hatched."""
    import matplotlib
    from matplotlib.patches import Rectangle

    rows, cols = len(values), len(values[0])
    cm = matplotlib.colormaps[cmap] if cmap else None
    for i in range(rows):
        for j in range(cols):
            x, y = x0 + j * cell, y0 - (i + 1) * cell
            if hidden is not None and hidden[i][j]:
                face, hatch = MASKED_COLOR, "///"
            else:
                face = cm((values[i][j] - vmin) / (vmax - vmin)) if cm else colors[1]
                hatch = None
            ax.add_patch(Rectangle((x, y), cell, cell, facecolor=face, hatch=hatch,
                                   edgecolor="white", linewidth=1.5, zorder=2))
            if texts is not None and texts[i][j]:
                _text(ax, x + cell / 2, y + cell / 2, texts[i][j], size or _sizes()[1], zorder=3)
    ax.add_patch(Rectangle((x0, y0 - rows * cell), cols * cell, rows * cell, fill=False,
                           edgecolor=NEUTRAL[0], linewidth=1.2, zorder=3))


# ---------------------------------------------------------------------------------------
# 1. notebook 01: autoencoding (BERT) vs autoregressive (GPT)
# ---------------------------------------------------------------------------------------


@styled
def diagram_objectives(tokens: Sequence[str] = ("a", "robot", "must", "obey", "orders"),
                       masked: int = 2, query: int = 3,
                       labels: Mapping[str, str] | None = None):
    """BERT's masked word sees the tokens on both sides; GPT's prediction at a position sees only
    that position and the ones before it, and every position predicts its next token."""
    L = _Table(labels, "diagram_objectives")
    box, ann = _sizes()
    n = len(tokens)
    if not (0 <= masked < n and 0 <= query < n):
        raise ValueError(f"masked and query must be positions in 0..{n - 1}")
    height = 4.6
    fig, ax = _canvas(height)
    pitch = min(1.5, 7.0 / n)
    xs = [FIG_WIDTH / 2 + (i - (n - 1) / 2) * pitch for i in range(n)]
    w, h = pitch - 0.3, 0.42

    def heading(y, title, note):
        _text(ax, 0.15, y, title, box, ha="left", weight="bold")
        _text(ax, FIG_WIDTH - 0.15, y, note, box, ha="right", color=ATTEND, weight="bold")

    def arcs(y, target, sources):
        top = y + h / 2
        for side in (-1, 1):  # the farthest source lands innermost, so no two arcs cross
            far_first = sorted((s for s in sources if (s - target) * side > 0),
                               key=lambda s: -abs(s - target))
            for k, s in enumerate(far_first):
                end = xs[target] + side * (0.04 + 0.14 * k)
                peak = 0.22 + 0.13 * abs(s - target)
                _arrow(ax, (xs[s], top), (end, top + 0.02), color=ATTEND, lw=1.6,
                       rad=_arc_rad(xs[s], end, peak))

    # top: autoencoding
    y1 = 3.35
    heading(4.35, L("objectives.ae_title"), L("objectives.ae_note"))
    for i, t in enumerate(tokens):
        if i == masked:
            _box(ax, xs[i], y1, w, h, L("objectives.mask"), colors=MASKED, lw=1.8)
        else:
            _box(ax, xs[i], y1, w, h, t, token=True)
    arcs(y1, masked, [i for i in range(n) if i != masked])
    yp = 2.55
    _arrow(ax, (xs[masked], y1 - h / 2), (xs[masked], yp + 0.19), color=PREDICT[0])
    _box(ax, xs[masked], yp, w, 0.38, tokens[masked], colors=PREDICT, token=True)
    side = 1 if masked < n - 1 else -1
    _text(ax, xs[masked] + side * (w / 2 + 0.12), yp, L("objectives.ae_predicts"), ann,
          ha="left" if side > 0 else "right", color=PREDICT[0])

    # bottom: autoregressive
    y2 = 1.05
    heading(2.0, L("objectives.ar_title"), L("objectives.ar_note"))
    for i, t in enumerate(tokens):
        on = i == query
        _box(ax, xs[i], y2, w, h, t, token=True, lw=2.4 if on else 1.4,
             colors=(ATTEND, NEUTRAL[1]) if on else NEUTRAL)
    arcs(y2, query, range(query))
    yq = 0.3
    for i in range(n):
        nxt = tokens[i + 1] if i + 1 < n else None
        _arrow(ax, (xs[i], y2 - h / 2), (xs[i], yq + 0.17), color=PREDICT[0], lw=1.3, head=11)
        if nxt is None:
            _box(ax, xs[i], yq, w, 0.34, L("objectives.unknown"), colors=PREDICT)
        else:
            _box(ax, xs[i], yq, w, 0.34, nxt, colors=PREDICT, token=True)
    return fig


# ---------------------------------------------------------------------------------------
# 2. notebook 03: query, key, value
# ---------------------------------------------------------------------------------------


@styled
def diagram_qkv(tokens: Sequence[str] = ("a", "robot", "must", "obey"),
                weights: Sequence[float] | None = None,
                labels: Mapping[str, str] | None = None):
    """One token's x times three matrices gives q, k, v; the current (last) token's q is dotted
    with every token's KEY, softmax makes weights, and the output is the weighted sum of VALUES.
    `weights`: the last token's real attention weights on `tokens`, shaded and written in their
    cells; without them the cells are plain (a schematic shows no made-up numbers)."""
    L = _Table(labels, "diagram_qkv")
    box, ann = _sizes()
    n = len(tokens)
    height = 4.6
    fig, ax = _canvas(height)
    top = height - 0.25
    # left: x -> W_q, W_k, W_v -> q, k, v
    _text(ax, 0.15, top, L("qkv.left_title"), box, ha="left", weight="bold")
    xx, xw, xm, xv = 0.45, 1.7, 2.6, 0.42
    ys = (3.35, 2.45, 1.55)
    _box(ax, xx, 2.45, 0.55, 0.5, L("qkv.x"), weight="bold")
    _text(ax, 0.1, 1.45, L("qkv.x_note"), ann, ha="left", va="top")
    for y, (w_key, v_key, name_key, colors) in zip(ys, [
            ("qkv.w_q", "qkv.q", "qkv.query", QUERY), ("qkv.w_k", "qkv.k", "qkv.key", KEY),
            ("qkv.w_v", "qkv.v", "qkv.value", VALUE)], strict=True):
        _arrow(ax, (xx + 0.275, 2.45), (xw - 0.43, y), color=INK)
        _box(ax, xw, y, 0.86, 0.46, L(w_key), colors=(colors[0], "white"), lw=1.8)
        _arrow(ax, (xw + 0.43, y), (xm - xv / 2, y), color=colors[0])
        _box(ax, xm, y, xv, 0.46, L(v_key), colors=colors, weight="bold")
        _text(ax, xm, y - 0.27, L(name_key), ann, va="top", color=colors[0])
    _text(ax, 0.1, 0.6, L("qkv.k_not_v"), ann, ha="left", va="top")

    # right: the current token's query against every key, softmax, weighted sum of values
    _text(ax, 3.35, top, L("qkv.right_title"), box, ha="left", weight="bold")
    ct, ck, cs, cw, cx, cv = 3.95, 4.5, 5.5, 6.5, 7.05, 7.6
    header = 3.95
    rows = [2.85 - i * (1.74 / max(1, n - 1)) for i in range(n)]
    rh = min(0.42, 0.8 * (rows[0] - rows[1])) if n > 1 else 0.42
    for x, key, color in ((ck, "qkv.keys", KEY[0]), (cs, "qkv.scores", INK),
                          (cw, "qkv.weights", INK), (cv, "qkv.values", VALUE[0])):
        _text(ax, x, header, L(key), ann, color=color)
    if weights is not None and len(weights) != n:
        raise ValueError(f"{len(weights)} weights for {n} tokens: pass one weight per token")
    import matplotlib

    blues = matplotlib.colormaps[WEIGHT_CMAP]
    # the one query, run through every score cell (orange), met by every key (blue)
    _box(ax, cs, header - 0.47, 0.5, 0.34, L("qkv.q"), colors=QUERY, weight="bold")
    _text(ax, cs + 0.32, header - 0.47, L("qkv.q_of").format(token=tokens[-1]), ann, ha="left",
          color=QUERY[0])  # whose query it is
    ax.plot([cs, cs], [header - 0.64, rows[-1]], color=QUERY[0], linewidth=2.2, zorder=1)
    for i, (y, t) in enumerate(zip(rows, tokens, strict=True)):
        current = i == n - 1
        _text(ax, ct, y, t, box, token=True, ha="right", weight="bold" if current else "normal")
        _box(ax, ck, y, 0.45, rh, L("qkv.k"), colors=KEY)
        _arrow(ax, (ck + 0.225, y), (cs - 0.37, y), color=KEY[0])
        _box(ax, cs, y, 0.74, rh, L("qkv.score_cell"), colors=NEUTRAL)
        _arrow(ax, (cs + 0.37, y), (cw - 0.23, y), color=INK)
        if weights is None:
            _box(ax, cw, y, 0.46, rh, L("qkv.weight_cell"), colors=NEUTRAL)
        else:
            w = float(weights[i])
            ax.add_patch(matplotlib.patches.Rectangle((cw - 0.23, y - rh / 2), 0.46, rh,
                                                      facecolor=blues(0.15 + 0.85 * w),
                                                      edgecolor=NEUTRAL[0], linewidth=1.2, zorder=2))
            _text(ax, cw, y, f"{w:.2f}".lstrip("0"), ann, color="white" if w > 0.6 else INK)
        _text(ax, cx, y, L("qkv.times"), box)
        _box(ax, cv, y, 0.45, rh, L("qkv.v"), colors=VALUE)
    bx = cv + 0.42
    ax.plot([cv + 0.24, bx, bx, cv + 0.24], [rows[0], rows[0], rows[-1], rows[-1]],
            color=VALUE[0], linewidth=1.5, zorder=1)
    for y in rows[1:-1]:
        ax.plot([cv + 0.24, bx], [y, y], color=VALUE[0], linewidth=1.5, zorder=1)
    _box(ax, 7.0, 0.4, 2.3, 0.62, L("qkv.output"), colors=VALUE, lw=1.8)
    _arrow(ax, (bx, rows[-1]), (bx, 0.71), color=VALUE[0])
    return fig


# ---------------------------------------------------------------------------------------
# 3. notebook 04: masked self-attention
# ---------------------------------------------------------------------------------------


@styled
def diagram_masked_attention(labels: Mapping[str, str] | None = None):
    """Scores, then the cells above the diagonal set to −∞, then softmax row by row (they become
    exactly 0, each row sums to 1), then the weighted sum of V. Rows are queries, columns keys."""
    L = _Table(labels, "diagram_masked_attention")
    box, ann = _sizes()
    T, d, cell = 4, 2, 0.3
    scores = torch.tensor([[0.9, -1.2, 1.6, 0.3], [1.4, 0.2, -0.8, 1.1],
                           [-0.5, 1.2, 0.6, -1.4], [0.4, -0.3, 1.5, 0.8]])
    hidden = ~torch.tril(torch.ones(T, T, dtype=torch.bool))
    weights = torch.softmax(scores.masked_fill(hidden, float("-inf")), dim=-1)
    values = torch.tensor([[0.8, 0.2], [0.3, 0.9], [0.6, 0.5], [0.1, 0.7]])
    height = 3.25
    fig, ax = _canvas(height)
    cell, gtop, title_y = 0.4, 2.55, 3.0
    side = T * cell
    mid = gtop - side / 2
    lim = float(scores.abs().max())
    x1, x2, x3, xv = 0.6, 2.65, 4.7, 7.05
    _grid(ax, x1, gtop, scores.tolist(), cell, cmap=SCORE_CMAP, vmin=-lim, vmax=lim)
    inf = [["" if not h else L("masked.minus_inf") for h in row] for row in hidden.tolist()]
    _grid(ax, x2, gtop, scores.tolist(), cell, cmap=SCORE_CMAP, vmin=-lim, vmax=lim,
          hidden=hidden.tolist(), texts=inf)
    zero = [["" if not h else L("masked.zero") for h in row] for row in hidden.tolist()]
    _grid(ax, x3, gtop, weights.tolist(), cell, cmap=WEIGHT_CMAP, hidden=hidden.tolist(),
          texts=zero)
    _grid(ax, xv, gtop, values.tolist(), cell, cmap="Greens", vmin=-0.4, vmax=1.3)
    for a, b in ((x1, x2), (x2, x3)):
        _arrow(ax, (a + side + 0.15, mid), (b - 0.15, mid))
    _text(ax, (x3 + side + xv) / 2, mid, L("masked.times"), box * 1.3, weight="bold")
    for x, w, key in ((x1, side, "masked.scores"), (x2, side, "masked.mask"),
                      (x3, side, "masked.softmax"), (xv, d * cell, "masked.v")):
        _text(ax, x + w / 2, title_y, L(key), box, weight="bold")
    _text(ax, x1 + side / 2, gtop + 0.05, L("masked.keys"), ann, va="bottom")
    _text(ax, x1 - 0.08, mid, L("masked.queries"), ann, ha="right", rotation=90)
    for x, key in ((x1, "masked.scores_formula"), (x2, "masked.mask_note"),
                   (x3, "masked.softmax_note")):
        _text(ax, x + side / 2, gtop - side - 0.12, L(key), ann, va="top")
    _text(ax, FIG_WIDTH - 0.1, gtop - side - 0.12, L("masked.output_note"), ann, va="top",
          ha="right")
    return fig


# ---------------------------------------------------------------------------------------
# 4. notebook 05: twelve heads
# ---------------------------------------------------------------------------------------


@styled
def diagram_heads(labels: Mapping[str, str] | None = None):
    """One token's x through c_attn gives q, k and v; each of the three (768 numbers, not the
    token's input) is cut into 12 heads of 64, each head attends on its own, and their outputs
    are concatenated back to 768 and mixed by c_proj; the tensor's shape at each stage."""
    L = _Table(labels, "diagram_heads")
    box, ann = _sizes()
    height = 5.0
    fig, ax = _canvas(height)
    x0, x1, shape_x = 2.05, 8.2, 1.85
    width = x1 - x0
    pitch = width / 12
    centers = [x0 + (i + 0.5) * pitch for i in range(12)]
    y_top, y_bar, y_heads, y_icon, y_cat, y_proj = 4.55, 3.55, 2.45, 1.85, 0.98, 0.3
    bar_h, top_h, step = 0.44, 0.6, 0.05  # step: how far each card behind shows
    parts = (QUERY, KEY, VALUE)
    clear = dict(boxstyle="round,pad=0.4", facecolor="white", edgecolor="none")  # clear of arrows

    def stack(x, y, w, h, text):
        """Three cards, v and k behind q, offset up and to the right: the same cut of each."""
        for depth in (2, 1, 0):
            edge, face = parts[depth]
            _box(ax, x + depth * step, y + depth * step, w, h,
                 text if depth == 0 else None, colors=(edge, face), zorder=2 + 2 * (2 - depth))

    # x -> c_attn -> [q | k | v]: what is split into heads is c_attn's output
    _box(ax, 2.8, y_top, 1.5, top_h, L("heads.x"))
    _text(ax, shape_x, y_top, L("heads.shape_x"), ann, ha="right")
    _arrow(ax, (3.55, y_top), (3.8, y_top))
    _box(ax, 4.55, y_top, 1.5, top_h, L("heads.c_attn"), colors=(INK, "white"), lw=1.8)
    _arrow(ax, (5.3, y_top), (5.53, y_top))
    seg = (x1 - 5.55) / 3
    for i, (key, (edge, face)) in enumerate(zip(("heads.q", "heads.k", "heads.v"), parts,
                                                strict=True)):
        x = 5.55 + (i + 0.5) * seg
        _box(ax, x, y_top, seg - 0.04, top_h, L(key), colors=(edge, face), weight="bold")
        _arrow(ax, (x, y_top - top_h / 2), (x, y_bar + bar_h / 2 + 2 * step + 0.01), color=edge,
               head=10, lw=1.4)
    # q, k and v, each 768 numbers, each cut into 12 heads of 64
    stack((x0 + x1) / 2, y_bar, width, bar_h, L("heads.qkv"))
    _text(ax, shape_x, y_bar, L("heads.shape_qkv"), ann, ha="right")
    for x in centers:
        _arrow(ax, (x, y_bar - bar_h / 2), (x, y_heads + 0.22 + 2 * step), head=10, lw=1.2)
    _text(ax, (x0 + x1) / 2, (y_bar + y_heads) / 2 + 0.05, L("heads.split"), ann, bbox=clear,
          zorder=8)
    icon = 0.12
    hidden = [[j > i for j in range(3)] for i in range(3)]
    ones = [[1.0] * 3 for _ in range(3)]
    for x in centers:
        stack(x, y_heads, pitch - 0.16, 0.44, L("heads.head"))
        _grid(ax, x - 1.5 * icon, y_icon + 1.5 * icon, ones, icon, colors=(None, VISIBLE_COLOR),
              hidden=hidden)
        _arrow(ax, (x, y_heads - 0.22), (x, y_icon + 1.5 * icon + 0.02), head=8, lw=1.0)
        _arrow(ax, (x, y_icon - 1.5 * icon - 0.02), (x, y_cat + bar_h / 2), head=10, lw=1.2)
    _text(ax, shape_x, y_heads, L("heads.shape_heads"), ann, ha="right")
    _text(ax, shape_x, y_icon, L("heads.attend"), ann, ha="right")
    _text(ax, (x0 + x1) / 2, (y_icon + y_cat) / 2 - 0.03, L("heads.concat"), ann, bbox=clear,
          zorder=8)
    _box(ax, (x0 + x1) / 2, y_cat, width, bar_h, L("heads.joined"))
    _text(ax, shape_x, y_cat, L("heads.shape_out"), ann, ha="right")
    _arrow(ax, ((x0 + x1) / 2, y_cat - bar_h / 2), ((x0 + x1) / 2, y_proj + 0.22))
    _box(ax, (x0 + x1) / 2, y_proj, 2.6, 0.44, L("heads.c_proj"), colors=(INK, "white"), lw=1.8)
    return fig


# ---------------------------------------------------------------------------------------
# 5. notebook 06: the decoder block
# ---------------------------------------------------------------------------------------


def _polyline_arrow(ax, points, color: str = INK, lw: float = 1.5) -> None:
    """Straight segments through `points`, with an arrow head on the last one."""
    xs, ys = zip(*points[:-1], strict=True)
    ax.plot(xs, ys, color=color, linewidth=lw, solid_capstyle="butt", zorder=1)
    _arrow(ax, points[-2], points[-1], color=color, lw=lw)


@styled
def diagram_decoder_block(labels: Mapping[str, str] | None = None):
    """GPT-2's pre-LN block: the residual stream goes straight through; one branch reads ln_1 of
    it and adds attention's output, the other reads ln_2 of it and adds the MLP's output."""
    from matplotlib.patches import Circle

    L = _Table(labels, "diagram_decoder_block")
    box, ann = _sizes()
    height = 4.8
    fig, ax = _canvas(height)
    sx, r = 1.0, 0.17
    y_tap1, y_add1, y_tap2, y_add2, y_top = 0.95, 1.85, 2.75, 3.8, 4.4
    # the stream, straight through, and its two additions
    _arrow(ax, (sx, 0.12), (sx, y_top), lw=3.0, head=18, color=NEUTRAL[0])
    _text(ax, sx + 0.15, 0.3, L("block.x"), box, ha="left")
    _text(ax, sx + 0.15, y_top, L("block.out"), box, ha="left")
    _text(ax, sx - 0.45, (y_add1 + y_tap2) / 2, L("block.stream"), ann, rotation=90,
          color=NEUTRAL[0])
    for y in (y_add1, y_add2):
        ax.add_patch(Circle((sx, y), r, facecolor="white", edgecolor=INK, linewidth=1.8, zorder=3))
        _text(ax, sx, y, L("block.plus"), box, weight="bold", zorder=4)
    h = 0.6
    for y in (y_tap1, y_tap2):
        ax.add_patch(Circle((sx, y), 0.05, color=INK, zorder=3))
    # branch 1: ln_1 -> attn -> +
    _arrow(ax, (sx, y_tap1), (1.75, y_tap1))
    _box(ax, 2.15, y_tap1, 0.8, h, L("block.ln_1"))
    _arrow(ax, (2.55, y_tap1), (2.85, y_tap1))
    _box(ax, 4.5, y_tap1, 3.3, h, L("block.attn"))
    _polyline_arrow(ax, [(6.15, y_tap1), (6.6, y_tap1), (6.6, y_add1), (sx + r, y_add1)])
    # branch 2: ln_2 -> mlp (c_fc, GELU, c_proj) -> +
    _arrow(ax, (sx, y_tap2), (1.75, y_tap2))
    _box(ax, 2.15, y_tap2, 0.8, h, L("block.ln_2"))
    _arrow(ax, (2.55, y_tap2), (2.95, y_tap2))
    _box(ax, 5.275, y_tap2 + 0.1, 4.65, 1.05, None, colors=(NEUTRAL[0], "#fafafa"), ls="--",
         lw=1.2, zorder=0.5)
    _text(ax, 3.05, y_tap2 + 0.47, L("block.mlp"), ann, ha="left", va="center", weight="bold")
    ym = y_tap2 - 0.05
    for x, w, key in ((3.8, 1.5, "block.c_fc"), (5.2, 0.85, "block.gelu"),
                      (6.7, 1.5, "block.c_proj")):
        _box(ax, x, ym, w, h, L(key))
    _arrow(ax, (4.55, ym), (4.775, ym))
    _arrow(ax, (5.625, ym), (5.95, ym))
    _polyline_arrow(ax, [(7.45, ym), (7.95, ym), (7.95, y_add2),
                         (sx + r, y_add2)])
    _text(ax, FIG_WIDTH - 0.1, 0.3, L("block.note"), ann, ha="right")
    return fig


# ---------------------------------------------------------------------------------------
# 6. notebook 07: the whole model
# ---------------------------------------------------------------------------------------


@styled
def diagram_gpt2(labels: Mapping[str, str] | None = None):
    """GPT-2 from token ids to next-token probabilities: the rows wte[ids] plus the rows
    wpe[0 … T−1] (positions, not ids), 12 blocks, ln_f, then the same wte matrix transposed
    (weight tying) gives the logits, and softmax the probabilities."""
    from matplotlib.patches import FancyBboxPatch

    L = _Table(labels, "diagram_gpt2")
    box, ann = _sizes()
    height = 5.0
    fig, ax = _canvas(height)
    cx, note_x = 3.9, 5.5
    y_ids, y_emb, y_size, y_sum = 4.67, 3.86, 3.38, 3.13
    y_blk, y_lnf, y_un, y_log, y_prob = 2.66, 2.05, 1.44, 0.85, 0.24
    h1, h2 = 0.4, 0.62
    tied = (PREDICT[0], "white")
    # two lookups: the token ids pick rows of wte, the positions 0 … T−1 pick rows of wpe
    _box(ax, cx - 1.0, y_ids, 1.5, h2, L("gpt2.ids"))
    _box(ax, cx + 1.0, y_ids, 1.95, h2, L("gpt2.positions"))
    _arrow(ax, (cx - 1.0, y_ids - h2 / 2), (cx - 1.0, y_emb + h2 / 2))
    _arrow(ax, (cx + 1.0, y_ids - h2 / 2), (cx + 1.0, y_emb + h2 / 2))
    _box(ax, cx - 1.0, y_emb, 1.75, h2, L("gpt2.wte"), colors=tied, lw=2.0)
    _text(ax, cx, y_emb, L("gpt2.plus"), box, weight="bold")
    _box(ax, cx + 1.0, y_emb, 1.75, h2, L("gpt2.wpe"))
    _text(ax, cx - 1.0, y_size, L("gpt2.size_wte"), ann, color=PREDICT[0])
    _text(ax, cx + 1.0, y_size, L("gpt2.size_wpe"), ann)
    _arrow(ax, (cx, y_emb - 0.2), (cx, y_blk + h1 / 2 + 0.12))
    _text(ax, cx + 0.12, y_sum, L("gpt2.shape_sum"), ann, ha="left")
    for k in (2, 1):  # the blocks behind, as a stack
        ax.add_patch(FancyBboxPatch((cx - 1.2 + 0.07 * k, y_blk - h1 / 2 + 0.07 * k), 2.4, h1,
                                    boxstyle="round,pad=0,rounding_size=0.07", facecolor="#e4e4e4",
                                    edgecolor=NEUTRAL[0], linewidth=1.2, zorder=1.5))
    _box(ax, cx, y_blk, 2.4, h1, L("gpt2.blocks"), lw=1.8)
    _text(ax, cx + 1.45, y_blk + 0.07, L("gpt2.times12"), box, ha="left", weight="bold")
    _text(ax, note_x, (y_blk + y_lnf) / 2, L("gpt2.shape_x"), ann, ha="left")
    _arrow(ax, (cx, y_blk - h1 / 2), (cx, y_lnf + h1 / 2))
    _box(ax, cx, y_lnf, 1.0, h1, L("gpt2.ln_f"))
    _arrow(ax, (cx, y_lnf - h1 / 2), (cx, y_un + h1 / 2))
    _box(ax, cx, y_un, 1.3, h1, L("gpt2.unembed"), colors=tied, lw=2.0)
    _arrow(ax, (cx, y_un - h1 / 2), (cx, y_log + h1 / 2))
    _box(ax, cx, y_log, 1.3, h1, L("gpt2.logits"), colors=PREDICT)
    _text(ax, note_x, y_log, L("gpt2.shape_logits"), ann, ha="left")
    _arrow(ax, (cx, y_log - h1 / 2), (cx, y_prob + h1 / 2))
    _text(ax, cx + 0.12, (y_log + y_prob) / 2, L("gpt2.softmax"), ann, ha="left")
    _box(ax, cx, y_prob, 2.9, h1, L("gpt2.probs"), colors=PREDICT)
    _text(ax, note_x, y_prob, L("gpt2.shape_probs"), ann, ha="left")
    # weight tying: the output layer is wte itself, transposed
    _arrow(ax, (cx - 1.875, y_emb), (cx - 0.65, y_un), color=PREDICT[0], lw=2.0, ls="--",
           rad=0.45, style_="<|-|>")
    _text(ax, 0.15, (y_emb + y_un) / 2 - 0.1, L("gpt2.tying"), ann, ha="left",
          color=PREDICT[0])
    return fig


# ---------------------------------------------------------------------------------------
# 7. notebook 08: choosing the next token
# ---------------------------------------------------------------------------------------


def _bars(ax, x: float, base: float, heights, *, width: float = 1.2, dropped=(), chosen=None,
          color: str = VISIBLE_COLOR) -> None:
    """A small bar chart centred on x: `dropped` bars grey and hatched (−∞), `chosen` purple."""
    from matplotlib.patches import Rectangle

    n = len(heights)
    slot = width / n
    for i, hgt in enumerate(heights):
        left = x - width / 2 + i * slot + 0.1 * slot
        if i in dropped:
            ax.add_patch(Rectangle((left, base), 0.8 * slot, 0.08, facecolor=MASKED_COLOR,
                                   hatch="///", edgecolor="#6e6e6e", linewidth=0.8, zorder=2))
        else:
            face = PREDICT[0] if i == chosen else color
            ax.add_patch(Rectangle((left, base), 0.8 * slot, hgt, facecolor=face, zorder=2))
    ax.plot([x - width / 2, x + width / 2], [base, base], color=INK, linewidth=1.0, zorder=3)


@styled
def diagram_sampling(next_token: str = " dog", labels: Mapping[str, str] | None = None):
    """How `generate` picks a token: logits ÷ temperature, top-k then top-p (dropped tokens → −∞),
    softmax, one sample (torch.multinomial), appended to the input; greedy takes the argmax."""
    L = _Table(labels, "diagram_sampling")
    box, ann = _sizes()
    height = 4.3
    fig, ax = _canvas(height)
    logits = torch.tensor([2.2, 1.6, 1.3, 0.4, -0.2])
    cooled = logits / 0.7
    lo = float(cooled.min()) - 0.4
    scale = 0.7 / (float(cooled.max()) - lo)
    kept_k, kept_p = {3, 4}, {2, 3, 4}  # top_k = 3, then top-p drops one more
    probs = torch.softmax(cooled.masked_fill(torch.tensor([i in kept_p for i in range(5)]),
                                             float("-inf")), 0)
    cols = (1.1, 3.15, 5.25, 7.35)
    y1, y2, w, h = 2.95, 1.45, 1.75, 0.44
    base1 = y1 + h / 2 + 0.15
    for x, key, values, dropped in (
            (cols[0], "sampling.logits", logits, ()), (cols[1], "sampling.temperature", cooled, ()),
            (cols[2], "sampling.top_k", cooled, kept_k), (cols[3], "sampling.top_p", cooled, kept_p)):
        _bars(ax, x, base1, [(float(v) - lo) * scale for v in values], dropped=dropped)
        _box(ax, x, y1, w, h, L(key), colors=PREDICT if key == "sampling.logits" else NEUTRAL)
    for a, b in zip(cols, cols[1:], strict=False):
        _arrow(ax, (a + w / 2, y1), (b - w / 2, y1))
    _text(ax, (cols[2] + cols[3]) / 2, y1 - h / 2 - 0.25, L("sampling.dropped"), ann)
    # row 2, right to left: softmax, sample, next token, back to the input
    _arrow(ax, (cols[3], y1 - h / 2), (cols[3], y2 + h / 2))
    base2 = y2 - h / 2 - 0.9
    _bars(ax, cols[3], base2, [float(p) * 0.7 for p in probs], dropped=kept_p)
    _box(ax, cols[3], y2, w, h, L("sampling.softmax"))
    _arrow(ax, (cols[3] - w / 2, y2), (cols[2] + 1.0, y2))
    _bars(ax, cols[2], base2, [float(p) * 0.7 for p in probs], dropped=kept_p, chosen=1)
    _box(ax, cols[2], y2, 2.0, 0.62, None)
    _text(ax, cols[2], y2 + 0.12, L("sampling.sample"), box)
    _text(ax, cols[2], y2 - 0.14, L("sampling.multinomial"), ann)
    _arrow(ax, (cols[2] - 1.0, y2), (cols[1] + 0.55, y2))
    wn = 1.1
    _box(ax, cols[1], y2, wn, h, next_token, token=True, colors=PREDICT, lw=2.0)
    _text(ax, cols[1], y2 - h / 2 - 0.1, L("sampling.next"), ann, va="top", color=PREDICT[0])
    _arrow(ax, (cols[1] - wn / 2, y2), (2.05, y2))
    _text(ax, 0.1, y2, L("sampling.append"), ann, ha="left")
    _arrow(ax, (0.75, y2 + 0.4), (0.75, y1 - h / 2))
    # greedy: straight from the logits to the token
    _arrow(ax, (cols[0] + 0.35, y1 - h / 2), (cols[1] - 0.2, y2 + h / 2), ls="--",
           color=PREDICT[0])
    _text(ax, 2.65, (y1 + y2) / 2 + 0.05, L("sampling.greedy"), ann, ha="left",
          color=PREDICT[0])
    return fig


# ---------------------------------------------------------------------------------------
# 8. notebook 10: the KV cache
# ---------------------------------------------------------------------------------------


@styled
def diagram_kv_cache(tokens: Sequence[str] = ("a", "robot", "must", "obey", "orders"),
                     labels: Mapping[str, str] | None = None):
    """Prefill runs the prompt (all but the last token) once and each layer keeps its K and V; a
    decode step makes q, k, v for one new token, appends k and v, and q attends over the cache.
    Earlier queries are never needed again, so Q is not cached."""
    L = _Table(labels, "diagram_kv_cache")
    box, ann = _sizes()
    if len(tokens) < 2:
        raise ValueError("diagram_kv_cache needs a prompt and one new token (2 tokens or more)")
    prompt, n = tokens[:-1], len(tokens)
    height = 4.6
    fig, ax = _canvas(height)
    y_title, y_tok, y_q, y_k, y_v = 4.35, 3.8, 3.22, 2.35, 1.82
    ch = 0.4
    ax.plot([3.75, 3.75], [0.15, height - 0.15], color="#c8c8c8", linewidth=1.2)

    def rows(xs, label_x):
        for y, key, colors in ((y_q, "kv.queries", QUERY), (y_k, "kv.keys", KEY),
                               (y_v, "kv.values", VALUE)):
            _text(ax, label_x, y, L(key), box, weight="bold", color=colors[0])

    def cache_frame(x0, x1, key):
        _box(ax, (x0 + x1) / 2, (y_k + y_v) / 2, x1 - x0, y_k - y_v + ch + 0.3, None,
             colors=(NEUTRAL[0], "#fafafa"), ls="--", lw=1.2, zorder=0.5)
        _text(ax, (x0 + x1) / 2, y_v - ch / 2 - 0.2, L(key), ann, va="top")

    # prefill
    pitch = min(0.68, 2.75 / len(prompt))
    xs = [0.75 + (i + 0.5) * pitch for i in range(len(prompt))]
    cw = pitch - 0.12
    _text(ax, 0.15, y_title, L("kv.prefill"), box, ha="left", weight="bold")
    rows(xs, 0.4)
    cache_frame(xs[0] - cw / 2 - 0.12, xs[-1] + cw / 2 + 0.12, "kv.stored")
    for x, t in zip(xs, prompt, strict=True):
        _text(ax, x, y_tok, t, box, token=True)
        _box(ax, x, y_q, cw, ch, L("kv.q"), colors=QUERY)
        _box(ax, x, y_k, cw, ch, L("kv.k"), colors=KEY)
        _box(ax, x, y_v, cw, ch, L("kv.v"), colors=VALUE)
    _text(ax, 0.15, 0.88, L("kv.used_once"), ann, ha="left")

    # one decode step
    pitch = min(0.78, 3.9 / n)
    xs = [4.4 + (i + 0.5) * pitch for i in range(n)]
    cw = pitch - 0.12
    _text(ax, 3.95, y_title, L("kv.decode"), box, ha="left", weight="bold")
    rows(xs, 4.1)
    cache_frame(xs[0] - cw / 2 - 0.12, xs[-1] + cw / 2 + 0.12, "kv.cache")
    for i, (x, t) in enumerate(zip(xs, tokens, strict=True)):
        new = i == n - 1
        _text(ax, x, y_tok, t, box, token=True, weight="bold" if new else "normal",
              color=PREDICT[0] if new else INK)
        if new:
            _box(ax, x, y_q, cw, ch, L("kv.q"), colors=QUERY, lw=2.2)
        else:
            _box(ax, x, y_q, cw, ch, None, colors=MASKED, hatch="///", ls="--", lw=1.0)
        lw = 2.6 if new else 1.4
        _box(ax, x, y_k, cw, ch, L("kv.k"), colors=(PREDICT[0] if new else KEY[0], KEY[1]), lw=lw)
        _box(ax, x, y_v, cw, ch, L("kv.v"), colors=(PREDICT[0] if new else VALUE[0], VALUE[1]),
             lw=lw)
    for j, x in enumerate(xs):  # the new query against every cached key
        _arrow(ax, (xs[-1] - 0.06, y_q - ch / 2), (x, y_k + ch / 2), color=QUERY[0], lw=1.2,
               head=9, rad=0.0 if j == n - 1 else 0.12)
    _text(ax, (xs[0] + xs[-2]) / 2, y_q + ch / 2 + 0.02, L("kv.not_cached"), ann, va="bottom",
          color=MASKED[0])
    _text(ax, 3.95, 0.88, L("kv.appended"), ann, ha="left", va="center", color=PREDICT[0])
    _text(ax, 3.95, 0.7, L("kv.attends"), ann, ha="left", va="top", color=QUERY[0])
    return fig


# ---------------------------------------------------------------------------------------
# 9. notebook 11: an induction circuit
# ---------------------------------------------------------------------------------------


@styled
def diagram_induction(tokens: Sequence[str] = ("…", "A", "B", "…", "A"),
                      labels: Mapping[str, str] | None = None):
    """An induction circuit on "… A B … A": in layer 0 a previous-token head writes "the token
    before me was A" into B's position; in layer 1 the head at the last A looks for that, finds
    B's position, attends there and copies B, so the model predicts B."""
    L = _Table(labels, "diagram_induction")
    box, ann = _sizes()
    tokens = list(tokens)
    a = tokens[-1]
    earlier = [i for i in range(len(tokens) - 2) if tokens[i] == a]
    if not earlier:
        raise ValueError(f"the last token {a!r} must occur earlier, followed by another token")
    ia = earlier[-1]
    ib, last, b = ia + 1, len(tokens) - 1, tokens[ia + 1]
    height = 4.8
    fig, ax = _canvas(height)
    n = len(tokens)
    x0 = 2.3
    pitch = (FIG_WIDTH - 0.5 - x0) / n
    xs = [x0 + (i + 0.5) * pitch for i in range(n)]
    y_tok, y_l0, y_l1, y_out = 0.45, 1.95, 3.35, 4.45
    cw, ch = min(0.8, pitch - 0.25), 0.42
    for y, title, sub, colors in ((y_tok, "induction.tokens", None, NEUTRAL),
                                  (y_l0, "induction.layer0", "induction.layer0_head", KEY),
                                  (y_l1, "induction.layer1", "induction.layer1_head", QUERY)):
        _text(ax, 0.15, y + (0.12 if sub else 0.0), L(title), box, ha="left", weight="bold",
              va="bottom" if sub else "center")
        if sub:
            _text(ax, 0.15, y + 0.08, L(sub), ann, ha="left", va="top", color=colors[0])
    for x, t in zip(xs, tokens, strict=True):
        _box(ax, x, y_tok, cw, ch, t, token=True)
        # the residual stream at this position, through the layers
        ax.plot([x, x], [y_tok + ch / 2, y_l1 + 0.3], color="#d0d0d0", linewidth=3, zorder=0)
        _box(ax, x, y_l0, 0.32, 0.32, None, colors=(NEUTRAL[0], "white"), lw=1.0, round_=0.16)
        _box(ax, x, y_l1, 0.32, 0.32, None, colors=(NEUTRAL[0], "white"), lw=1.0, round_=0.16)
    # layer 0: B's position attends to the token before it and writes "the token before me was A"
    _arrow(ax, (xs[ia], y_tok + ch / 2), (xs[ib] - 0.16, y_l0), color=KEY[0], lw=2.0, rad=-0.2)
    _box(ax, xs[ib], y_l0, 0.32, 0.32, None, colors=(KEY[0], KEY[1]), lw=2.0, round_=0.16)
    _text(ax, xs[ib] + 0.2, y_l0 - 0.3, L("induction.before_me"), ann, ha="left", va="top",
          color=KEY[0], bbox=_CLEAR)
    _text(ax, xs[ib] + 0.2, y_l0 - 0.62, a, box, token=True, ha="left", va="top",
          weight="bold", color=KEY[0], bbox=_CLEAR)
    # layer 1: the head at the last A looks for a key whose previous token was A
    _box(ax, xs[last], y_l1, 0.32, 0.32, None, colors=(QUERY[0], QUERY[1]), lw=2.0, round_=0.16)
    _arrow(ax, (xs[last] - 0.16, y_l1), (xs[ib] + 0.12, y_l0 + 0.12), color=QUERY[0],
           lw=2.0, rad=0.25)
    _text(ax, xs[last] - 0.3, y_l1 + 0.3, L("induction.query"), ann, ha="right", va="bottom",
          color=QUERY[0])
    _text(ax, xs[last] - 0.2, y_l1 + 0.3, a, box, token=True, ha="left", va="bottom",
          weight="bold", color=QUERY[0])
    cx = (xs[ib] + xs[last]) / 2 - 0.3
    _text(ax, cx, (y_l0 + y_l1) / 2 + 0.12, L("induction.copies"), ann, ha="left", va="top",
          color=QUERY[0], bbox=_CLEAR)
    _text(ax, cx, (y_l0 + y_l1) / 2 - 0.18, b, box, token=True, ha="left", va="top",
          weight="bold", color=QUERY[0], bbox=_CLEAR)
    # the prediction
    _arrow(ax, (xs[last], y_l1 + 0.16), (xs[last], y_out - 0.2), color=PREDICT[0], lw=2.0)
    _text(ax, xs[last] - 0.5, y_out, L("induction.predicts"), box, ha="right", color=PREDICT[0])
    _box(ax, xs[last], y_out, cw, 0.4, b, token=True, colors=PREDICT, lw=2.0)
    return fig
