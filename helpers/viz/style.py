"""The series' figure style: sizes for the notebook's width, fonts, colours, projector mode.

Every plot in `helpers.viz` is drawn under this style, so one change here changes them all.
"""

from __future__ import annotations

import torch

# One style for every figure, sized for the notebook's output column at 1280x720 with the
# file browser open (about 850 px): no figure is wider than FIG_WIDTH inches at DPI.
FIG_WIDTH = 8.4
DPI = 100  # 1 inch = 100 CSS px; figures are sent as retina PNGs (twice the pixels)
FONT_SIZE = 12  # points: tick labels, legends; titles and axis labels are larger
ANNOTATION_SIZE = 10  # points: numbers written in cells and on bars
LATIN_FONT = "DejaVu Sans"  # matplotlib's own font; Chinese glyphs fall back to helpers/viz/fonts
_scale = 1.0  # set_projector_mode multiplies every font size by this

VISIBLE_COLOR = "#2c6fad"  # a cell a query may attend to
MASKED_COLOR = "#b9b9b9"  # a masked cell (hatched), distinct from any value colour
MASK_COLORS = ("#f2f2f2", VISIBLE_COLOR)  # hidden, visible (plain masks)
WEIGHT_CMAP = "Blues"  # attention weights, 0..1 (single hue: safe for colour-blind readers)
SCORE_CMAP = "PuOr_r"  # signed scores (diverging purple/orange: colour-blind safe)
KEPT_COLOR, DROPPED_COLOR = "#2c6fad", "#c8c8c8"


def token_label(token: str) -> str:
    """A token as a readable, inert label: spaces and newlines made visible, `$` escaped."""
    label = token.replace("\\", "\\\\").replace("$", r"\$")
    label = label.replace("\n", "↵").replace("\t", "⇥")
    if label.strip() == "":
        label = label.replace(" ", "␣")
    return label


def set_projector_mode(on: bool = True, scale: float = 1.35) -> None:
    """Make every later figure's text larger (x scale), for teaching from a projector."""
    global _scale
    _scale = scale if on else 1.0


def plot_words(english: str, **fields) -> str:
    """A plot's own words (an axis label, a legend entry) in the edition's language: in the
    Chinese edition the Chinese of `english` from labels_zh.PLOT_TEXTS_ZH; `fields` fill its
    {placeholders}."""
    from helpers.language import language

    text = english
    if language() == "zh":
        from helpers.viz.labels_zh import PLOT_TEXTS_ZH

        text = PLOT_TEXTS_ZH.get(english, english)
    return text.format(**fields) if fields else text


def cjk_font_family() -> list[str]:
    """The font family of a figure with Chinese words: the Latin font, and the shipped CJK font
    that matplotlib falls back to glyph by glyph."""
    from helpers.viz.fonts import register_cjk_font

    return [LATIN_FONT, register_cjk_font()]


def use_cjk_font() -> None:
    """Let every later figure, the notebook's own included, draw Chinese characters with the
    shipped CJK font (helpers.notebook.setup(language="zh") calls it)."""
    import matplotlib

    matplotlib.rcParams["font.family"] = cjk_font_family()


def _rc() -> dict:
    from helpers.language import language

    size = FONT_SIZE * _scale
    fonts = {"font.family": cjk_font_family()} if language() == "zh" else {}
    return fonts | {
        "font.size": size,
        "axes.titlesize": size * 1.1,
        "axes.labelsize": size,
        "xtick.labelsize": size,
        "ytick.labelsize": size,
        "legend.fontsize": size * 0.95,
        "figure.titlesize": size * 1.2,
        "axes.titleweight": "bold",
        "hatch.linewidth": 1.0,
        "hatch.color": "#6e6e6e",
    }


def _annotation_size() -> float:
    return ANNOTATION_SIZE * _scale


def figure(nrows: int = 1, ncols: int = 1, height: float = 3.6, width: float = FIG_WIDTH,
           reuse=None):
    """A blank figure in the series' style: (Figure, axes grid (nrows, ncols)), at most the
    notebook's width. Compose it with the plot functions' `ax=` argument.

    reuse: a figure this function made before (an explorer's previous picture). If it has the
    same grid and size, its axes are cleared and handed back, with its layout and any colour
    bar kept, so redrawing skips building and laying out a new figure; otherwise a new one."""
    import matplotlib
    from matplotlib.figure import Figure

    if width > FIG_WIDTH:
        raise ValueError(f"width {width} in is wider than the notebook (FIG_WIDTH = {FIG_WIDTH})")
    grid = getattr(reuse, "grid_axes", None)
    if grid is not None and grid.shape == (nrows, ncols) and tuple(
            reuse.get_size_inches()) == (width, height):
        with matplotlib.rc_context(_rc()):
            for ax in grid.flat:
                ax.clear()
                ax.xaxis.get_major_ticks(), ax.yaxis.get_major_ticks()  # in the style's sizes
        for artist in [*reuse.legends, *reuse.texts]:  # figure-level legends and texts
            artist.remove()
        return reuse, grid
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
    fig.grid_axes = axes  # what a later figure(reuse=fig) clears and hands back
    return fig, axes


def styled(draw=None):
    """The series' style for figures drawn by hand, as a context or as a decorator:

        with viz.styled():
            fig, axes = viz.figure(1, 2)
            axes[0, 0].set_title("...")  # titles, legends, labels made here get the style

        @viz.styled
        def draw(...): ...  # every call draws in the style (projector mode as it is then)
    """
    if draw is not None:
        return _styled(draw)
    import matplotlib

    return matplotlib.rc_context(_rc())


def _styled(draw):
    """Run a plot function under the series' style, so every text it makes has its size."""
    import functools

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_rc()):
            return draw(*args, **kwargs)

    return wrapper


def _masked_patch(label: str = "masked"):
    from matplotlib.patches import Patch

    return Patch(facecolor=MASKED_COLOR, edgecolor="#6e6e6e", hatch="///", label=label)


def _draw_masked_cells(ax, hidden: torch.Tensor) -> None:
    """Cover the cells where `hidden` is True with the masked colour, hatched."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    cells = [Rectangle((j - 0.5, i - 0.5), 1, 1) for i, j in hidden.nonzero().tolist()]
    if cells:  # one collection, drawn in one pass (the same pixels as a patch per cell, faster);
        # add_artist: the cells lie inside the image, so the axes' limits need no update
        ax.add_artist(PatchCollection(cells, facecolor=MASKED_COLOR, edgecolor="#6e6e6e",
                                      hatch="///", linewidth=0, gid="masked cells"))


def _as_2d(x) -> torch.Tensor:
    t = torch.as_tensor(x).detach().float().cpu()
    if t.dim() != 2:
        raise ValueError(f"expected a 2-D (queries x keys) tensor, got shape {tuple(t.shape)}; "
                         "pick one batch element and one head, e.g. attn[layer][0, head]")
    return t


def _fmt(v: float, decimals: int) -> str:
    """A cell annotation: '−∞' for -inf, no leading zero so small cells fit ('.52'), '0' only
    for an exact zero, '<.01' for a tiny weight that is not zero, and '>−.1' for a tiny
    negative score (never a rounded '-0')."""
    if v == float("-inf"):
        return "−∞"
    text = f"{v:.{decimals}f}"
    if float(text) == 0.0:
        if v == 0.0:
            return "0"
        tiny = "." + "0" * (decimals - 1) + "1" if decimals > 0 else "1"
        return f"<{tiny}" if v > 0 else f">−{tiny}"
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text
