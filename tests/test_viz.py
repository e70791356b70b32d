"""Figures: one readable style, tokens on both axes, masked cells in their own colour, inert labels."""

import warnings

import pytest
import torch
from matplotlib.figure import Figure

from helpers import causal_mask, full_mask, prefix_lm_mask, viz
from helpers.viz import (
    plot_attention,
    plot_attention_heads,
    plot_distribution,
    plot_future_leak,
    plot_loss,
    plot_mask,
    plot_mask_gallery,
    plot_mask_stages,
    token_label,
)

TOKENS = ["The", " $cat", "<script>", "\n"]


def _render(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph or a mathtext parse would warn/raise
        FigureCanvasAgg(fig).draw()  # a real drawing: the base canvas of a Figure() draws nothing
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() <= viz.FIG_WIDTH  # never shrunk by the notebook's column
    return fig


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _hatched(ax):
    """The hatched (masked) cells: the paths of the axes' hatched collections."""
    return [path for c in ax.collections if c.get_hatch() for path in c.get_paths()]


def test_token_labels_are_inert_and_visible():
    assert token_label("$x$") == r"\$x\$"
    assert token_label("\n") == "↵"
    assert token_label(" ") == "␣"
    assert token_label("<b>hi</b>") == "<b>hi</b>"  # shown as typed, never rendered


def test_mask_has_tokens_on_both_axes_and_a_legend_for_masked_cells():
    fig = _render(plot_mask(causal_mask(4), TOKENS))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["The", r" \$cat", "<script>", "↵"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["The", r" \$cat", "<script>", "↵"]
    assert ax.get_ylabel().startswith("query") and ax.get_xlabel().startswith("key")
    assert len(_hatched(ax)) == 6  # the six cells above the diagonal
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["may attend", "masked"]
    single = _render(plot_mask(causal_mask(3), ["a", "b", "c"])).axes[0]
    assert all(t.get_rotation() == 0 for t in single.get_xticklabels())  # characters stay upright


def test_attention_writes_values_and_minus_infinity_readably():
    scores = torch.randn(4, 4).masked_fill(~causal_mask(4), float("-inf"))
    fig = _render(plot_attention(scores, TOKENS, vmin=-3, vmax=3, cmap=viz.SCORE_CMAP))
    texts = _texts(fig.axes[0])
    assert len(texts) == 16 and texts.count("−∞") == 6
    assert len(_hatched(fig.axes[0])) == 6
    assert min(t.get_fontsize() for t in fig.axes[0].texts) >= viz.ANNOTATION_SIZE
    assert min(t.get_fontsize() for t in fig.axes[0].get_xticklabels()) >= viz.FONT_SIZE
    w = torch.softmax(scores, -1)
    assert "1.00" in _texts(_render(plot_attention(w, TOKENS)).axes[0])


def test_a_models_weights_show_their_masked_cells_as_masked():
    """A model's attention holds exact zeros where the mask hid a key: `masked=` draws those
    cells hatched, with a key, and refuses a mask that covers weight (an inverted mask)."""
    w = torch.softmax(torch.randn(5, 5).masked_fill(~causal_mask(5), float("-inf")), -1)
    fig = _render(plot_attention(w, list("abcde"), masked=~causal_mask(5)))
    assert len(_hatched(fig.axes[0])) == 10  # the ten cells above the diagonal
    legend = fig.axes[1].get_legend()  # under the colour bar
    assert [t.get_text() for t in legend.get_texts()] == ["masked"]
    assert len(_hatched(_render(plot_attention(w, list("abcde"))).axes[0])) == 0  # zeros, plain
    with pytest.raises(ValueError, match="inverted"):
        plot_attention(w, masked=causal_mask(5))
    with pytest.raises(ValueError, match="one bool per cell"):
        plot_attention(w, masked=~causal_mask(4))


def test_mask_stages_tell_minus_infinity_from_zero():
    scores = torch.randn(4, 4)
    inf = _render(plot_mask_stages(scores, causal_mask(4), TOKENS, query=2))
    assert len(inf.axes) == 3
    assert _texts(inf.axes[1]).count("−∞") == 6 and len(_hatched(inf.axes[1])) == 6
    assert _texts(inf.axes[2])[1:4] == ["0", "0", "0"]  # row 0 gives the future nothing
    zero = _render(plot_mask_stages(scores, causal_mask(4), TOKENS, fill=0.0))
    assert "−∞" not in _texts(zero.axes[1]) and not _hatched(zero.axes[1])
    outlined = [p for p in zero.axes[1].patches if not p.get_fill()]
    assert len(outlined) == 6  # the cells that should be hidden, outlined
    assert "0" not in _texts(zero.axes[2])[1:4]  # and the future gets weight
    both = _render(plot_mask_stages(scores, causal_mask(4), TOKENS, fill=0.0, query=1))
    leaked, row = both.axes[1].patches[:6], both.axes[1].patches[6]
    styles = {(tuple(p.get_edgecolor()), p.get_linestyle()) for p in leaked}
    assert len(styles) == 1 and styles != {(tuple(row.get_edgecolor()), row.get_linestyle())}
    assert [t.get_text() for t in both.legends[0].get_texts()] == ["masked, but set to 0", "the query row"]


def test_future_leak_bars_are_the_weight_on_masked_keys():
    scores = torch.randn(5, 5)
    fig = _render(plot_future_leak(scores, causal_mask(5)))
    bars = fig.axes[0].patches
    zero_fill = torch.tensor([b.get_height() for b in bars[:5]])
    inf_fill = torch.tensor([b.get_height() for b in bars[5:]])
    w = torch.softmax(scores.masked_fill(~causal_mask(5), 0.0), -1)
    torch.testing.assert_close(zero_fill, w.triu(1).sum(-1).double())
    assert (inf_fill == 0).all() and (zero_fill[:-1] > 0).all()


def test_gallery_and_head_grid_shapes():
    masks = {"causal": causal_mask(4), "full": full_mask(4), "prefix": prefix_lm_mask(4, 2)}
    fig = _render(plot_mask_gallery(masks, TOKENS))
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["causal", "full", "prefix"]
    # one token list per panel: BERT's sentence with [MASK], GPT's plain text
    own = _render(plot_mask_gallery({"bert": full_mask(3), "gpt": causal_mask(3)},
                                    {"bert": ["the", "[MASK]", "barks"], "gpt": ["the", "dog", "barks"]}))
    assert [[t.get_text() for t in ax.get_yticklabels()] for ax in own.axes[:2]][0] == ["the", "[MASK]", "barks"]
    assert [t.get_text() for t in own.axes[1].get_xticklabels()] == ["the", "dog", "barks"]
    with pytest.raises(ValueError, match="one token list per mask"):
        plot_mask_gallery({"bert": full_mask(3)}, {"gpt": ["a", "b", "c"]})
    attn = [torch.softmax(torch.randn(1, 12, 5, 5), -1) for _ in range(2)]
    fig = _render(plot_attention_heads(attn, ["a", "b", "c", "d", "e"], layer=1, ncols=4))
    heads = [ax for ax in fig.axes if ax.get_visible() and ax.get_title().startswith("head")]
    assert len(heads) == 12
    rows = sorted({round(ax.get_position().y0, 3) for ax in heads})
    assert len(rows) == 3  # 3 x 4, not one row of 12
    assert [t.get_text() for t in heads[0].get_yticklabels()] == ["a", "b", "c", "d", "e"]
    assert len(_render(plot_attention_heads(attn)).axes) == 2 * 12 + 1  # and one colour bar


def test_head_grids_draw_the_future_as_masked_not_as_zero_weight():
    """A causal model's weights above the diagonal are masked, not 0: every panel hatches its
    T(T-1)/2 future cells and the colour bar's legend names them; causal=False draws none."""
    attn = [torch.softmax(torch.randn(1, 4, 5, 5), -1).tril()]
    fig = _render(plot_attention_heads(attn, list("abcde"), layer=0, ncols=2))
    heads = [ax for ax in fig.axes if ax.get_title().startswith("head")]
    assert [len(_hatched(ax)) for ax in heads] == [10] * 4
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert [t.get_text() for t in legends[0].get_texts()] == ["masked"]
    fig = _render(plot_attention_heads(attn, list("abcde"), layer=0, causal=False))
    assert not any(_hatched(ax) for ax in fig.axes) and not any(ax.get_legend() for ax in fig.axes)


def test_distribution_and_loss():
    p = torch.softmax(torch.randn(30), 0)
    fig = _render(plot_distribution(p, [f"t{i}" for i in range(30)], top=5, kept=p > 0.05))
    assert len(fig.axes[0].patches) >= 5
    fig = _render(plot_loss([{"step": 1, "train_loss": 3.0, "val_loss": 3.1},
                             {"step": 2, "train_loss": 2.0, "val_loss": 2.2}]))
    assert len(fig.axes[0].lines) == 2
    history = [{"step": 0, "train_loss": 4.2, "val_loss": 4.2}, {"step": 3, "train_loss": 3.0, "val_loss": 3.1}]
    fig = _render(plot_loss(history, batch_losses=[4.2, 3.9, 3.5]))
    each_step = fig.axes[0].lines[0]
    assert list(each_step.get_xdata()) == [0, 1, 2] and list(each_step.get_ydata()) == [4.2, 3.9, 3.5]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "each step's batch", "train", "validation"]


def test_distribution_updated_in_place_draws_the_same_pixels_as_a_new_figure():
    """08's explorer: another temperature, top-k or top-p keeps the same bars in the same order,
    so the previous figure is updated in place and must look exactly like a new one."""
    from helpers.notebook import figure_png

    logits = torch.randn(30, generator=torch.Generator().manual_seed(0))
    names = [f"t{i}" for i in range(30)]

    def draw(temperature, k, fig=None, labels=names):
        probs = torch.softmax(logits / temperature, dim=-1)
        kept = logits >= logits.topk(k).values[-1]
        return plot_distribution(probs, labels, top=8, kept=kept, fig=fig,
                                 title=f"T = {temperature}", xlabel=f"sample {k}")

    fig = draw(1.0, 3)
    figure_png(fig)
    for temperature, k in [(0.5, 3), (2.0, 1), (1.0, 8), (0.3, 5)]:
        updated = draw(temperature, k, fig)
        assert updated is fig
        assert (_pixels(figure_png(updated)[0]) == _pixels(figure_png(draw(temperature, k))[0])).all(), (
            f"T={temperature} k={k}")
    assert fig.axes[0].get_title() == "T = 0.3" and fig.axes[0].get_xlabel() == "sample 5"
    assert draw(1.0, 3, fig, labels=[f"u{i}" for i in range(30)]) is not fig  # other tokens
    assert plot_distribution(torch.softmax(logits, -1), names, top=8, fig=fig) is not fig  # no legend
    fig, axes = viz.figure(1, 2)
    assert plot_distribution(torch.softmax(logits, -1), names, ax=axes[0, 0]).distribution_key is None


def test_projector_mode_makes_text_larger():
    normal = plot_mask(causal_mask(3), ["a", "b", "c"]).axes[0].get_xticklabels()[0].get_fontsize()
    viz.set_projector_mode(True)
    try:
        big = plot_mask(causal_mask(3), ["a", "b", "c"]).axes[0].get_xticklabels()[0].get_fontsize()
    finally:
        viz.set_projector_mode(False)
    assert big >= 1.3 * normal
    with pytest.raises(ValueError, match="wider than the notebook"):
        viz.figure(width=12)


def test_figures_composed_by_hand_get_the_style_inside_styled():
    with viz.styled():
        fig, axes = viz.figure()
        title = axes[0, 0].set_title("a title")
    assert title.get_fontsize() >= viz.FONT_SIZE and title.get_fontweight() == "bold"


def test_styled_is_also_a_decorator_that_reads_projector_mode_at_each_call():
    @viz.styled
    def draw():
        fig, axes = viz.figure()
        return axes[0, 0].set_title("a title").get_fontsize()

    normal = draw()
    assert normal >= viz.FONT_SIZE
    viz.set_projector_mode(True)
    try:
        assert draw() > normal  # projector mode switched on after decorating still applies
    finally:
        viz.set_projector_mode(False)
    assert draw() == normal


def test_long_sequences_keep_token_labels_and_tiny_weights_are_not_zero():
    attn = [torch.softmax(torch.randn(1, 6, 30, 30), -1)]
    tokens = [chr(ord("a") + i % 26) for i in range(30)]
    fig = _render(plot_attention_heads(attn, tokens, layer=0, ncols=3))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels and labels[0] == "a" and len(labels) < 30  # every k-th token, not none
    stride = 30 // len(labels)
    assert f"every {stride}{'nd' if stride == 2 else 'rd' if stride == 3 else 'th'} token" \
        in fig.get_supxlabel()  # and the figure says so
    w = torch.tensor([[0.996, 0.004], [0.0, 1.0]])
    texts = _texts(_render(plot_attention(w)).axes[0])
    assert texts == ["1.00", "<.01", "0", "1.00"]
    from helpers.viz.style import _fmt

    assert [_fmt(v, 1) for v in (-0.03, 0.03, -0.0, -0.3)] == [">−.1", "<.1", "0", "-.3"]


def _pixels(png: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))





@pytest.mark.parametrize("T", [6, 21, 24])
def test_token_labels_of_a_long_sentence_do_not_touch(T):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from helpers.viz import figure

    tokens = [chr(ord("A") + i % 26) for i in range(T)]  # capitals: the tallest, widest glyphs
    fig, axes = figure(1, 2, height=4.0)  # 11's two heads side by side
    weights = torch.softmax(torch.randn(T, T), -1)
    plot_attention(weights, tokens, ax=axes[0, 0], colorbar=False)
    plot_attention(weights, tokens, ax=axes[0, 1])  # with a colour bar: the same label size
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    px_per_pt = fig.dpi / 72
    for ax in fig.axes[:2]:
        rows = [t.get_window_extent(renderer) for t in ax.get_yticklabels()]
        cols = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
        assert len(rows) == len(cols) == T
        size_px = ax.get_yticklabels()[0].get_fontsize() * px_per_pt
        # each label's em fits its row; neighbouring columns' labels do not overlap
        assert all(a.y0 - b.y0 >= 0.95 * size_px for a, b in zip(rows, rows[1:], strict=False))
        assert not any(a.overlaps(b) for a, b in zip(cols, cols[1:], strict=False))
    sizes = {t.get_fontsize() for ax in fig.axes[:2]
             for t in ax.get_yticklabels() + ax.get_xticklabels()}
    assert min(sizes) >= 8.0 and (T > 6 or sizes == {12.0})  # full size where they fit
    assert len({fig.axes[0].get_yticklabels()[0].get_fontsize(),
                fig.axes[1].get_yticklabels()[0].get_fontsize()}) == 1


def test_annotated_weights_whose_last_cell_is_masked_keep_their_token_labels():
    weights = torch.softmax(torch.randn(4, 4), -1)
    weights[3, 3] = float("-inf")  # the last annotated cell is a masked one
    fig = plot_attention(weights, list("abcd"), annotate=True, vmin=None, vmax=None)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == list("abcd")


def test_mask_stages_of_one_height_redraw_another_length_into_the_same_figure():
    """An explorer that passes one height gets its figure back for every length: the panels
    are drawn anew into the layout it has, with the new length's cells and labels."""
    from helpers.notebook import figure_png
    from helpers.notebook.widgets import layout_fits

    scores = torch.randn(8, 8, generator=torch.Generator().manual_seed(1))
    tokens = ["The", "robot", "must", "obey", "the", "orders", "given", "it"]

    def stages(T, fig=None, height=4.46, query=1):
        return plot_mask_stages(scores[:T, :T], causal_mask(T), tokens[:T], query=query,
                                fig=fig, height=height)

    fig = stages(6)
    assert stages(4, fig) is not fig  # never drawn, never laid out: not reused
    figure_png(fig)
    for T in (4, 1, 8, 6):
        assert stages(T, fig) is fig
        figure_png(fig)
        assert all(ax.images[0].get_array().shape == (T, T) for ax in fig.axes)
        assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == tokens[:T]
        assert len(fig.axes[0].texts) == (T * T if T <= 6 else 0)  # values up to 6 tokens
        assert len(fig.legends) == 1 and layout_fits(fig)
    assert tuple(fig.get_size_inches()) == (8.4, 4.46)
    assert stages(4, fig, height=None) is not fig  # the default height grows with the length
    assert stages(4, fig, query=None) is not fig  # no outlined row: a new figure


def test_mask_stages_updated_in_place_draw_the_same_pixels_as_a_new_figure():
    """An explorer's redraw (fig=the previous figure) must look exactly like a new figure, for
    every change of query row and fill, and rebuild when the geometry changes."""
    from helpers.notebook import figure_png

    scores = torch.randn(6, 6, generator=torch.Generator().manual_seed(1))
    tokens = ["The", "robot", "must", "obey", "a", "<b>"]

    def stages(T, query, fill, fig=None):
        return plot_mask_stages(scores[:T, :T], causal_mask(T), tokens[:T], fill=fill,
                                query=query, fig=fig)

    fig = stages(6, 1, float("-inf"))
    figure_png(fig)  # drawn: from now on it may be reused
    for T, query, fill in [(6, 3, float("-inf")), (6, 3, 0.0), (6, 5, 0.0), (6, 0, float("-inf")),
                           (6, 2, 0.0), (6, 2, float("-inf"))]:
        updated = stages(T, query, fill, fig)
        assert updated is fig  # the same figure, updated
        assert (_pixels(figure_png(updated)[0]) == _pixels(figure_png(stages(T, query, fill))[0])).all(), (
            f"T={T} query={query} fill={fill}")
    assert len(fig.legends) == 1 and len(_hatched(fig.axes[1])) == 15
    assert stages(4, 1, float("-inf"), fig) is not fig  # another length: a new figure
    assert stages(6, None, float("-inf"), fig) is not fig  # no outlined row: a new figure
    undrawn = stages(6, 1, float("-inf"))
    assert stages(6, 2, float("-inf"), undrawn) is not undrawn  # never laid out: not reused
    other = plot_mask(causal_mask(6))
    figure_png(other)
    assert stages(6, 2, float("-inf"), other) is not other  # not made by plot_mask_stages


@pytest.fixture
def chinese():
    """The Chinese edition's language for one test, and English again whatever happens."""
    from helpers.language import set_language

    set_language("zh")
    yield
    set_language("en")


def test_the_chinese_edition_labels_its_plots_in_chinese_without_missing_glyphs(chinese):
    """A plot's own words (axes, legends, colour bars) come from labels_zh.PLOT_TEXTS_ZH in the
    Chinese edition, drawn with the shipped CJK font: matplotlib warns of no missing glyph."""
    import warnings

    w = torch.softmax(torch.randn(5, 5).masked_fill(~causal_mask(5), float("-inf")), -1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would raise here
        fig = _render(plot_attention(w, list("abcde"), masked=~causal_mask(5)))
        heads = _render(viz.plot_attention_heads([w[None, None].expand(1, 2, 5, 5)], list("abcde"),
                                                 layer=0, causal=True))
        loss = _render(viz.plot_loss([{"step": 0, "train_loss": 4.2, "val_loss": 4.2},
                                      {"step": 10, "train_loss": 3.0, "val_loss": 3.1}]))
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("键（被关注的）", "查询（发出关注的）")
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["已掩蔽"]
    assert heads.axes[0].get_title() == "头 0"
    assert [t.get_text() for t in loss.axes[0].get_legend().get_texts()] == ["训练集", "验证集"]


def test_every_chinese_plot_text_is_used_and_keeps_its_fields():
    """Each English key of PLOT_TEXTS_ZH is written in helpers.viz (a renamed label would leave
    its Chinese behind), and its Chinese has the same {fields}."""
    import re
    import string
    from pathlib import Path

    from helpers.viz.labels_zh import PLOT_TEXTS_ZH

    source = "".join(p.read_text(encoding="utf-8")
                     for p in Path(viz.__file__).parent.glob("*.py") if p.name != "labels_zh.py")
    written = lambda k: '"' + k.replace("\n", "\\n") + '"'  # as a string literal  # noqa: E731
    assert [k for k in PLOT_TEXTS_ZH if written(k) not in source] == []
    fields = lambda t: sorted(f for _, f, _, _ in string.Formatter().parse(t) if f)  # noqa: E731
    assert [k for k, v in PLOT_TEXTS_ZH.items() if fields(k) != fields(v) and
            not set(fields(v)) <= set(fields(k)) | {"stride"}] == []
    english_left = [v for v in PLOT_TEXTS_ZH.values()  # no English word left in the Chinese
                    if re.search(r"[A-Za-z]{4}", re.sub(r"\{\w+\}|softmax", "", v))]
    assert english_left == []


def test_a_chinese_notebooks_own_figures_find_the_chinese_font():
    """In the Chinese edition the set-up cell makes the CJK font the fallback of every figure,
    so a legend a notebook makes itself, outside the plot functions' style, has no missing
    glyph (04 moves its mask legend below the figure with its own code)."""
    import warnings

    import matplotlib
    from matplotlib.patches import Patch

    import helpers.notebook
    from helpers.language import set_language

    family = matplotlib.rcParams["font.family"]
    try:
        helpers.notebook.setup(language="zh")
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = Figure()
        fig.legend(handles=[Patch(label=viz.style.plot_words("may attend"))])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "Glyph ... missing from font(s)" raises
            FigureCanvasAgg(fig).draw()
    finally:
        matplotlib.rcParams["font.family"] = family
        set_language("en")
